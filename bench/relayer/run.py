"""Relayer benchmark: `python -m bench.relayer.run` (`make bench-relayer`).

On loopback, an anvil mining a block every second, the dm3 contracts and the RelayBatcher, one SQLite file,
`python -m indexer.api` (two uvicorn workers) and `dm3-relayer run` as their own processes:
1. accepted requests per second: 3,000 pre-signed `setPrimaryNameWithSig` requests (each from its own new key, so
   every one passes every check: signature, nonce, quotas, authority, the `eth_call` simulation) posted by 128
   concurrent clients (`BENCH_RELAYER_ACCEPT_CONCURRENCY`) while the relayer sends them; the rate counts 202
   answers over the wall time. A request's acceptance waits for its group's node round trip and commit, so the
   rate grows with the clients in flight until the CPU is the limit;
2. 202 -> mined: 2,000 more requests at a steady 100 per second; for each, from its `created_at` (the 202) to the
   relayer recording it `mined` (`updated_at`), both written by the services; in seconds and in 1 s blocks;
3. gas per write: the same signed writes (`setPrimaryNameWithSig`, `burn_with_sig`) sent directly to the contract,
   through the RelayBatcher alone, and 16 to a batch (gas per write).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from sqlalchemy import func, select
from web3 import Web3

from bench.common import ROOT, cpu_seconds, descendants, stop_processes, update_readme_table, write_result
from bench.freshness.run import TimedAnvil
from harness.devnet import Contract, Devnet, contract_types, free_port
from harness.indexer import fresh_engine, sync_ok
from indexer import signing
from indexer.relayer import calls
from indexer.store.relay_models import RelayRequest, RelayTx

ACCEPT_REQUESTS = int(os.environ.get("BENCH_RELAYER_ACCEPT_REQUESTS", "3000"))
ACCEPT_CONCURRENCY = int(os.environ.get("BENCH_RELAYER_ACCEPT_CONCURRENCY", "128"))
# The acceptance phase's load generator: wrk with bench/relayer/accept.lua when it is installed (`apt-get install
# wrk`; a few % of a core), else this process's own httpx clients (~3 ms of CPU per request, on the same 2 cores).
GENERATOR = os.environ.get("BENCH_RELAYER_GENERATOR", "wrk" if shutil.which("wrk") else "httpx")
# BENCH_RELAYER_QUICK=1: the acceptance phase alone (no gas rows, no steady phase, nothing written).
QUICK = os.environ.get("BENCH_RELAYER_QUICK") == "1"
PYSPY = os.environ.get("BENCH_RELAYER_PYSPY")
STEADY_RATE = 100
STEADY_SECONDS = 20
BLOCK_TIME = 1.0
API_WORKERS = int(os.environ.get("BENCH_RELAYER_API_WORKERS", "2"))  # one per core of this 2-core machine
POLL_INTERVAL = 0.1  # the relayer looks for work and receipts ten times per block
TARGETS = {"accepted_per_s": 300, "p99_blocks": 3, "batched_ratio": 0.7}
RELAYER_KEY = "0x" + "5e" * 32


def deploy_batcher(devnet: Devnet, compiled: dict[str, dict[str, Any]]) -> Contract:
    tx = devnet.anvil.rpc(
        "eth_sendTransaction",
        [{"from": devnet.deployer, "data": compiled["RelayBatcher"]["bytecode"], "gas": hex(3_000_000)}],
    )
    receipt = devnet.anvil.receipt(tx)
    address = receipt["contractAddress"]
    w3c = devnet.w3.eth.contract(
        address=Web3.to_checksum_address(address), abi=compiled["RelayBatcher"]["abi"]
    )
    return Contract("RelayBatcher", address.lower(), int(receipt["blockNumber"], 16), w3c)


def primary_body(chain_id: int, registry: str, key: Any, name: str) -> dict[str, Any]:
    message = {"signer": key.address, "name": name, "nonce": 0, "deadline": 2**40}
    signature = signing.sign(
        "setPrimaryNameWithSig", message, key.key, chain_id=chain_id, verifying_contract=registry
    )
    return {
        "chain_id": chain_id,
        "function": "setPrimaryNameWithSig",
        "message": {**message, "nonce": "0", "deadline": str(2**40)},
        "signature": "0x" + signature.hex(),
    }


def wait_http(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120  # two workers importing everything on a loaded machine
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the service exited"
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


async def post_all(
    url: str, bodies: list[dict[str, Any]], concurrency: int
) -> tuple[float, dict[str, float], int]:
    ids: dict[str, float] = {}  # id -> wall time its 202 arrived
    refused = 0
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal refused
        while not queue.empty():
            body = queue.get_nowait()
            try:
                response = await client.post(url, json=body)
            except httpx.HTTPError:  # counted with the refusals (the run reports how many)
                refused += 1
                continue
            if response.status_code == 202:
                ids[response.json()["id"]] = time.time()
            else:
                refused += 1

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return time.perf_counter() - started, ids, refused


def post_wrk(
    url: str, bodies: list[dict[str, Any]], concurrency: int, tmp: str
) -> tuple[float, int, int, float]:
    """Post every body once with wrk (one thread, `concurrency` connections): (wall seconds from wrk's start to the
    last body's answer, 202s, refusals, the CPU seconds wrk used)."""
    path = Path(tmp) / "bodies.jsonl"
    path.write_text("".join(json.dumps(body, separators=(",", ":")) + "\n" for body in bodies))
    script = Path(__file__).with_name("accept.lua")
    proc = subprocess.Popen(
        [
            "wrk",
            "-t1",
            f"-c{concurrency}",
            "-d120s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            url,
            "--",
            str(path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    marks: dict[str, float] = {}
    lines = []
    for raw in proc.stdout:
        line = raw.decode().strip()
        marks.setdefault(line, time.perf_counter())
        lines.append(line)
        if line in ("answered", "gave up"):
            proc.send_signal(signal.SIGINT)  # wrk's main thread would sleep out the whole -d
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    reports = [line for line in lines if line.startswith("{")]
    if proc.returncode != 0 or not reports:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {err.decode()[-500:]} {lines[-5:]}")
    report = json.loads(reports[-1])
    if "answered" not in marks or report["sent"] != len(bodies):
        raise RuntimeError(f"wrk: not every body was answered: {report}")
    if report["refused"]:
        print(f"wrk: refused statuses {report['refused_statuses']}", flush=True)
    elapsed = marks["answered"] - marks["started"]
    return elapsed, report["accepted"], report["refused"], usage.ru_utime + usage.ru_stime


def accepted_since(engine: Any, seq: int) -> dict[str, float]:
    """The ids of the requests queued after `seq` (wrk does not keep the 202s' ids), with their `created_at`."""
    requests = RelayRequest.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(select(requests.c.id, requests.c.created_at).where(requests.c.seq > seq)).all()
    return {row.id: _epoch(row.created_at) for row in rows}


def last_seq(engine: Any) -> int:
    requests = RelayRequest.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(requests.c.seq), 0))).scalar_one())


async def post_steady(url: str, bodies: list[dict[str, Any]], rate: int) -> tuple[dict[str, float], int]:
    ids: dict[str, float] = {}  # id -> wall time its 202 arrived
    refused = 0

    async def one(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
        nonlocal refused
        try:
            response = await client.post(url, json=body)
        except httpx.HTTPError as exc:
            refused += 1
            print(f"steady: {type(exc).__name__}", flush=True)
            return
        if response.status_code == 202:
            ids[response.json()["id"]] = time.time()
        else:
            refused += 1
            print(f"steady: {response.status_code} {response.text[:300]}", flush=True)

    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=64)) as client:
        started = time.perf_counter()
        tasks = []
        for index, body in enumerate(bodies):
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(client, body)))
        await asyncio.gather(*tasks)
    return ids, refused


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _epoch(moment: datetime | None) -> float:
    assert moment is not None
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()


def latencies(
    engine: Any, ids: dict[str, float], timeout: float = 60
) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Once every request is mined, failed or expired (or `timeout`): per mined request, in seconds, 202 -> mined
    on the services' clocks (`created_at`, written when the request is queued just before its 202, to the relayer
    recording the receipt), the same from the 202's arrival at the load generator (late when the generator itself
    is starved of CPU), and the stages: queued -> its transaction signed and bound, signed -> broadcast,
    broadcast -> receipt recorded."""
    requests = RelayRequest.__table__  # type: ignore[attr-defined]
    txs = RelayTx.__table__  # type: ignore[attr-defined]
    wanted = set(ids)
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            rows = [
                dict(r)
                for r in conn.execute(
                    select(
                        requests.c.id,
                        requests.c.state,
                        requests.c.created_at,
                        requests.c.updated_at,
                        txs.c.created_at.label("signed_at"),
                        txs.c.sent_at,
                    )
                    .select_from(requests.outerjoin(txs, txs.c.tx_hash == requests.c.tx_hash))
                    .where(requests.c.id.in_(wanted))
                ).mappings()
            ]
        states: dict[str, int] = {}
        for row in rows:
            states[row["state"]] = states.get(row["state"], 0) + 1
        if states.get("mined", 0) + states.get("failed", 0) + states.get("expired", 0) == len(wanted):
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    out: dict[str, list[float]] = {
        "queued_to_mined": [],
        "client_202_to_mined": [],
        "queued": [],
        "broadcast": [],
        "chain": [],
    }
    for row in rows:
        if row["state"] != "mined":
            continue
        accepted, mined = ids[row["id"]], _epoch(row["updated_at"])
        signed, sent = _epoch(row["signed_at"]), _epoch(row["sent_at"])
        queued = _epoch(row["created_at"])
        out["queued_to_mined"].append(mined - queued)
        out["client_202_to_mined"].append(mined - accepted)
        out["queued"].append(signed - queued)
        out["broadcast"].append(sent - signed)
        out["chain"].append(mined - sent)
    return out, states


class CpuMeter:
    """CPU seconds each component used between `start()` and `stop()`: the API (uvicorn and its workers), the
    relayer, anvil, and this load generator."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.started: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        return {
            **{name: cpu_seconds(pid) for name, pid in self.pids.items()},
            "load generator": time.process_time(),
        }

    def start(self) -> None:
        self.started = self._now()

    def stop(self) -> dict[str, float]:
        return {name: round(value - self.started[name], 2) for name, value in self._now().items()}


def spread(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None, "max": None}
    return {
        "p50": round(percentile(values, 50), 3),
        "p99": round(percentile(values, 99), 3),
        "max": round(max(values), 3),
    }


def gas_rows(devnet: Devnet, batcher: Contract, chain_id: int) -> list[dict[str, Any]]:
    """Gas of the same signed writes sent directly, through the batcher alone, and 16 to a batch."""
    anvil = devnet.anvil
    registry = Web3.to_checksum_address(devnet.registry.address)
    deposits = Web3.to_checksum_address(devnet.deposits.address)
    senders = devnet.accounts[1:9]
    recipient = Account.create()

    def send(to: str, data: bytes, sender: str) -> int:
        tx = anvil.rpc(
            "eth_sendTransaction",
            [{"from": sender, "to": to, "data": "0x" + data.hex(), "gas": hex(15_000_000)}],
        )
        receipt = anvil.receipt(tx)
        assert receipt["status"] == "0x1"
        return int(receipt["gasUsed"], 16)

    def primary(n: int) -> bytes:
        key = Account.create()
        body = primary_body(chain_id, registry, key, f"gas{n}.op.dm3.eth")
        return calls.parse(body["function"], body["message"], body["signature"]).calldata

    burn_nonce = 0

    def burn(sender: str) -> bytes:
        nonlocal burn_nonce
        message = {
            "sender": Web3.to_checksum_address(sender),
            "recipient": recipient.address,
            "amount": 1,
            "nonce": burn_nonce,
            "deadline": 2**40,
        }
        burn_nonce += 1
        sig = signing.sign(
            "burn_with_sig", message, recipient.key, chain_id=chain_id, verifying_contract=deposits
        )
        return calls.encode_call(calls.SignedCall("burn_with_sig", "InboxDeposits", message, sig, None, b""))

    for sender in senders:  # every sender bonds the recipient, several burns each
        assert devnet.send(devnet.deposits, sender, "deposit", recipient.address, 100)
    relayer = devnet.accounts[9]
    rows = []
    for function, target, make in (
        ("setPrimaryNameWithSig", registry, lambda i: primary(i)),
        ("burn_with_sig", deposits, lambda i: burn(senders[i % len(senders)])),
    ):
        direct = statistics.median(send(target, make(i), relayer) for i in range(3))
        alone = statistics.median(
            send(batcher.address, calls.batch_calldata([(target, make(10 + i))]), relayer) for i in range(3)
        )
        batch = [(target, make(100 + i)) for i in range(calls.BATCH_MAX_CALLS)]
        batched = send(batcher.address, calls.batch_calldata(batch), relayer) / len(batch)
        rows.append(
            {
                "function": function,
                "direct": int(direct),
                "relayed_single": int(alone),
                "relayed_batched_per_write": int(batched),
                "batched_vs_single": round(batched / alone, 3),
                "batched_vs_direct": round(batched / direct, 3),
            }
        )
    return rows


def main() -> None:
    load_before = os.getloadavg()
    from ape import project

    compiled = contract_types(project, ("ProfileRegistry", "InboxDeposits", "Dm3Token", "RelayBatcher"))
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="dm3-bench-relayer-") as tmp:
        anvil = TimedAnvil(chain_id=31_337_015, block_time=BLOCK_TIME)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            anvil.rpc("anvil_setBlockGasLimit", [hex(60_000_000)])
            anvil.rpc("evm_setAutomine", [True])  # setup without waiting for blocks
            devnet = Devnet(anvil, compiled)
            devnet.fund(10**24)  # 30 accounts: stay under the token cap
            batcher = deploy_batcher(devnet, compiled)
            gas = [] if QUICK else gas_rows(devnet, batcher, anvil.chain_id)
            anvil.rpc("evm_setAutomine", [False])
            anvil.rpc("evm_setIntervalMining", [int(BLOCK_TIME)])
            db_url = f"sqlite:///{tmp}/relay.db"
            engine = fresh_engine(db_url)
            sync_ok(engine, [devnet.spec()])
            relayer = Account.from_key(RELAYER_KEY)
            anvil.rpc("anvil_setBalance", [relayer.address, hex(10**22)])
            env = {
                **os.environ,
                "DM3_DATABASE_URL": db_url,
                "DM3_RELAYER_CHAINS": f'[{{"chain_id": {anvil.chain_id}, "rpc_url": "{anvil.url}", "batcher": "{batcher.address}"}}]',
                "DM3_RELAYER_PRIVATE_KEY": RELAYER_KEY,
                "DM3_RELAYER_CLIENT_QUOTA": "1000000",
                "DM3_RELAYER_DAILY_GAS_BUDGET": str(10**12),
                "DM3_RELAYER_MAX_TX_GAS": "12000000",
                "DM3_RELAYER_POLL_INTERVAL": str(POLL_INTERVAL),
            }
            procs.append(
                subprocess.Popen(
                    [
                        python,
                        "-m",
                        "indexer.relayer",
                        "run",
                        "--chain-id",
                        str(anvil.chain_id),
                        "--log-level",
                        "WARNING",
                    ],
                    env=env,
                    cwd=ROOT,
                )
            )
            port = free_port()
            procs.append(
                subprocess.Popen(
                    [
                        python,
                        "-m",
                        "indexer.api",
                        "--port",
                        str(port),
                        "--workers",
                        str(API_WORKERS),
                        "--log-level",
                        "warning",
                    ],
                    env=env,
                    cwd=ROOT,
                )
            )
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/health", procs[-1])
            deadline = time.monotonic() + 30
            while not httpx.get(f"{base}/v1/relay/config", params={"chain_id": anvil.chain_id}).json()[
                "enabled"
            ]:
                assert time.monotonic() < deadline, "the relayer did not come up"
                time.sleep(0.2)
            registry = Web3.to_checksum_address(devnet.registry.address)
            url = f"{base}/v1/relay"
            print("signing requests ...", flush=True)
            accept_bodies = [
                primary_body(anvil.chain_id, registry, Account.create(), f"a{i}.op.dm3.eth")
                for i in range(ACCEPT_REQUESTS)
            ]
            steady_bodies = [
                primary_body(anvil.chain_id, registry, Account.create(), f"s{i}.op.dm3.eth")
                for i in range(0 if QUICK else STEADY_RATE * STEADY_SECONDS)
            ]
            # warm-up
            asyncio.run(
                post_all(
                    url,
                    [
                        primary_body(anvil.chain_id, registry, Account.create(), "w.op.dm3.eth")
                        for _ in range(50)
                    ],
                    8,
                )
            )
            meter = CpuMeter({"API": procs[1].pid, "relayer": procs[0].pid, "anvil": anvil.proc.pid})
            before = last_seq(engine)
            api_children = descendants(procs[1].pid)[1:]  # the workers (and multiprocessing's tracker)
            children_before = [cpu_seconds(pid) for pid in api_children]
            profilers = [  # BENCH_RELAYER_PYSPY=DIR: a py-spy profile of each API worker during the phase
                subprocess.Popen(
                    [
                        "py-spy",
                        "record",
                        "-r",
                        "200",
                        "-f",
                        "raw",
                        "-p",
                        str(pid),
                        "-o",
                        f"{PYSPY}/api-{pid}.txt",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for pid in (descendants(procs[1].pid)[1:] if PYSPY else [])
            ]
            meter.start()
            if GENERATOR == "wrk":
                elapsed, accepted, refused, wrk_cpu = post_wrk(url, accept_bodies, ACCEPT_CONCURRENCY, tmp)
                accept_cpu = meter.stop()
                accept_cpu["load generator"] = round(wrk_cpu, 2)  # this process only waited for wrk
                accepted_ids = accepted_since(engine, before)
                if len(accepted_ids) != accepted:
                    raise RuntimeError(
                        f"wrk counted {accepted} 202s, the queue holds {len(accepted_ids)} new"
                    )
            else:
                elapsed, accepted_ids, refused = asyncio.run(post_all(url, accept_bodies, ACCEPT_CONCURRENCY))
                accept_cpu = meter.stop()
                accepted = len(accepted_ids)
            for profiler in profilers:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(30)
            rate = accepted / elapsed
            # How the API's CPU split between its processes: uvicorn's workers share one listening socket, and
            # the worker that wakes first may accept most of the generator's connections (opened at once).
            api_split = sorted(
                (
                    round(cpu_seconds(pid) - was, 2)
                    for pid, was in zip(api_children, children_before, strict=True)
                ),
                reverse=True,
            )
            print(
                f"accepted {accepted} in {elapsed:.2f} s ({GENERATOR}): {rate:.0f}/s ({refused} refused); "
                f"CPU s {accept_cpu}; CPU ms per accepted request "
                f"{ {k: round(1000 * v / max(accepted, 1), 2) for k, v in accept_cpu.items()} }; "
                f"API processes' CPU s {api_split}; load {os.getloadavg()}",
                flush=True,
            )
            if QUICK:
                return
            _, accept_states = latencies(engine, accepted_ids, timeout=120)
            meter.start()
            steady_ids, steady_refused = asyncio.run(post_steady(url, steady_bodies, STEADY_RATE))
            steady_cpu = meter.stop()
            timings, steady_states = latencies(engine, steady_ids, timeout=120)
            values = timings["queued_to_mined"]
            p50, p99 = percentile(values, 50), percentile(values, 99)
            print(
                f"202 -> mined at {STEADY_RATE}/s: p50 {p50:.2f} s, p99 {p99:.2f} s; states {steady_states}; "
                f"stages { ({k: spread(v) for k, v in timings.items()}) }; CPU s {steady_cpu}",
                flush=True,
            )
        finally:
            stop_processes(procs, grace=15)
            anvil.stop()
    result = {
        "block_time_s": BLOCK_TIME,
        "api_workers": API_WORKERS,
        "poll_interval_s": POLL_INTERVAL,
        "accept": {
            "requests": ACCEPT_REQUESTS,
            "concurrency": ACCEPT_CONCURRENCY,
            "generator": GENERATOR,
            "accepted": accepted,
            "refused": refused,
            "seconds": round(elapsed, 3),
            "accepted_per_s": round(rate, 1),
            "then": accept_states,
            "cpu_s": accept_cpu,
            "api_cpu_s_by_process": api_split,
            "cpu_ms_per_request": {
                name: round(1000 * value / max(accepted, 1), 2) for name, value in accept_cpu.items()
            },
        },
        "steady": {
            "rate_per_s": STEADY_RATE,
            "seconds": STEADY_SECONDS,
            "accepted": len(steady_ids),
            "refused": steady_refused,
            "states": steady_states,
            "p50_s": round(p50, 3),
            "p99_s": round(p99, 3),
            "p50_blocks": round(p50 / BLOCK_TIME, 2),
            "p99_blocks": round(p99 / BLOCK_TIME, 2),
            "max_s": round(max(values), 3) if values else None,
            "stages_s": {name: spread(v) for name, v in timings.items()},
            "cpu_s": steady_cpu,
        },
        "gas": gas,
        "targets": TARGETS,
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }
    path = write_result("relayer", result)
    batched_ok = all(row["batched_vs_single"] <= TARGETS["batched_ratio"] for row in gas)
    table = [
        "| measure | result | target | met |",
        "|---|---:|---|---|",
        f"| signed requests accepted per second (validation and simulation included, {ACCEPT_CONCURRENCY} clients, {API_WORKERS} API workers) | {rate:.0f} | ≥ 300 | {'yes' if rate >= 300 else '**no**'} |",
        f"| 202 → mined at {STEADY_RATE} req/s, 1 s blocks: p50 / p99 | {p50:.2f} s / {p99:.2f} s ({p99 / BLOCK_TIME:.1f} blocks) | p99 ≤ 3 blocks | {'yes' if p99 <= 3 * BLOCK_TIME else '**no**'} |",
    ]
    for row in gas:
        table.append(
            f"| gas per `{row['function']}`: direct / relayed alone / batched (16) | {row['direct']:,} / {row['relayed_single']:,} / {row['relayed_batched_per_write']:,} ({row['batched_vs_single']:.2f}x single) | batched ≤ 0.7x single | {'yes' if row['batched_vs_single'] <= 0.7 else '**no**'} |"
        )
    update_readme_table("relayer", "\n".join(table))
    print("\n".join(table))
    print(f"wrote {path}; batched target met: {batched_ok}")


if __name__ == "__main__":
    main()
