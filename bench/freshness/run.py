"""Freshness: how soon after a deposit is mined do delivery nodes know? `python -m bench.freshness.run`

For each block time (anvil `--block-time 1` and `--block-time 0.25`), on loopback: deploy the contracts, start
`dm3-indexer run` and the API (uvicorn, one worker) as their own processes on one SQLite file, subscribe to
`GET /v1/changes` (SSE), then send 200 deposits (20 rounds of 10 pairs whose recipient charges 1 DM3; every
pair starts ineligible). For each deposit the clock starts when the RPC returns its receipt (polled every 2 ms)
and stops when (a) `POST /v1/eligibility` (polled every 5 ms) first answers eligible, (b) its `Deposited`
change arrives over SSE. The same ends are also timed from the block's timestamp, which has a one-second
resolution (it is the second the block was sealed in, rounded down), so those figures read up to 1 s high.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import httpx

from bench.common import stop_processes, update_readme_table, write_result
from harness.devnet import Anvil, Devnet, contract_types, free_port
from indexer.client import Dm3Client

TOKEN = 10**18
SENDERS = 10
ROUNDS = 20
P50_TARGET_S = 0.5
P99_TARGET_S = 2.0


class TimedAnvil(Anvil):
    """anvil mining a block every `block_time` seconds (no automine), with 30 accounts."""

    def __init__(self, *, chain_id: int, block_time: float) -> None:
        super().__init__(
            chain_id=chain_id, accounts=SENDERS + ROUNDS, extra_args=["--block-time", str(block_time)]
        )

    def receipt(self, tx: str) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            receipt = self.rpc("eth_getTransactionReceipt", [tx])
            if receipt is not None:
                return dict(receipt)
            time.sleep(0.01)
        raise RuntimeError(f"no receipt for {tx}")

    def send_batch(self, txs: list[dict[str, Any]]) -> list[str]:
        payload = [
            {"jsonrpc": "2.0", "id": i, "method": "eth_sendTransaction", "params": [tx]}
            for i, tx in enumerate(txs)
        ]
        answers = sorted(self.http.post(self.url, json=payload).json(), key=lambda a: a["id"])
        errors = [a["error"] for a in answers if "error" in a]
        assert not errors, errors[:3]
        return [a["result"] for a in answers]


@dataclass
class Sample:
    sender: str
    recipient: str
    tx: str = ""
    block: int = 0
    block_timestamp: int = 0
    receipt_at: float = 0.0  # perf_counter when the RPC returned the receipt
    receipt_wall: float = 0.0
    api_at: float | None = None
    api_wall: float | None = None
    sse_at: float | None = None
    sse_wall: float | None = None


@dataclass
class Run:
    block_time: float
    samples: list[Sample] = field(default_factory=list)


def _config(path: Path, *, database_url: str, devnet: Devnet) -> None:
    spec = devnet.spec(name="bench")
    lines = [
        f'database_url = "{database_url}"',
        "",
        "[[chains]]",
        'name = "bench"',
        f"chain_id = {spec.chain_id}",
        f'rpc_url = "{devnet.anvil.url}"',  # loopback: the newHeads websocket is derived from it
        f'parent_name = "{spec.parent_name}"',
        f'registry = {{ address = "{devnet.registry.address}", start_block = {devnet.registry.block} }}',
        f'deposits = {{ address = "{devnet.deposits.address}", start_block = {devnet.deposits.block} }}',
    ]
    path.write_text("\n".join(lines) + "\n")


def _wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def measure(block_time: float, compiled: dict[str, Any], workdir: Path) -> Run:
    anvil = TimedAnvil(chain_id=31_337_077, block_time=block_time)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        devnet = Devnet(anvil, compiled)
        accounts = devnet.accounts
        senders, recipients = accounts[:SENDERS], accounts[SENDERS : SENDERS + ROUNDS]
        cs = devnet.w3.to_checksum_address
        setup = [
            devnet.tx_request(devnet.token, devnet.deployer, "mint", cs(s), 1_000 * TOKEN) for s in senders
        ]
        setup += [
            devnet.tx_request(devnet.token, s, "approve", cs(devnet.deposits.address), 2**256 - 1)
            for s in senders
        ]
        setup += [devnet.tx_request(devnet.deposits, r, "set_min_deposit", TOKEN) for r in recipients]
        for tx in anvil.send_batch(setup):
            assert anvil.receipt(tx)["status"] == "0x1"

        db = workdir / f"fresh-{block_time}.db"
        config = workdir / f"indexer-{block_time}.toml"
        _config(config, database_url=f"sqlite:///{db}", devnet=devnet)
        env = {**os.environ, "DM3_CONFIG": str(config), "DM3_DATABASE_URL": f"sqlite:///{db}"}
        indexer = [str(Path(sys.executable).with_name("dm3-indexer"))]
        subprocess.run([*indexer, "migrate"], env=env, check=True, capture_output=True)
        log = (workdir / f"services-{block_time}.log").open("ab")
        processes.append(
            subprocess.Popen([*indexer, "run", "--no-progress"], env=env, stdout=log, stderr=log)
        )
        port = free_port()
        api_url = f"http://127.0.0.1:{port}"
        serve = [
            sys.executable, "-m", "uvicorn", "--factory", "indexer.api.main:create_app",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        ]  # fmt: skip
        processes.append(subprocess.Popen(serve, env=env, stdout=log, stderr=log))
        _wait_http(f"{api_url}/health")
        api = Dm3Client(api_url, timeout=10)
        head = anvil.block_number()
        while (api.status().data or [None])[0] is None or (api.status().data[0].indexed_block or 0) < head:
            time.sleep(0.1)

        run = Run(block_time=block_time)
        by_pair: dict[tuple[str, str], Sample] = {}
        cursor = api.poll_changes(timeout=0).next_cursor
        stream_api = Dm3Client(api_url, timeout=10)

        def stream() -> None:
            try:
                for change in stream_api.changes(cursor=cursor, kinds=["deposit"]):
                    now, wall = time.perf_counter(), time.time()
                    sample = by_pair.get((str(change.sender), str(change.recipient)))
                    if sample is not None and sample.sse_at is None:
                        sample.sse_at, sample.sse_wall = now, wall
            except (RuntimeError, httpx.HTTPError):
                return  # closed at the end

        threading.Thread(target=stream, daemon=True).start()
        time.sleep(0.5)
        http = httpx.Client(base_url=api_url, timeout=10)
        for round_ in range(ROUNDS):
            recipient = recipients[round_]
            batch = [Sample(sender=s, recipient=recipient) for s in senders]
            for sample in batch:
                by_pair[(sample.sender, sample.recipient)] = sample
            txs = [
                devnet.tx_request(devnet.deposits, s.sender, "deposit", cs(recipient), TOKEN) for s in batch
            ]
            stop = threading.Event()

            def poll_api(batch: list[Sample] = batch, stop: threading.Event = stop) -> None:
                while not stop.is_set():
                    pending = [s for s in batch if s.api_at is None]
                    if not pending:
                        return
                    body = {"pairs": [{"sender": s.sender, "recipient": s.recipient} for s in pending]}
                    answers = http.post("/v1/eligibility", json=body).json()["data"]
                    now, wall = time.perf_counter(), time.time()
                    for sample, answer in zip(pending, answers, strict=True):
                        if answer["eligible"]:
                            sample.api_at, sample.api_wall = now, wall
                    time.sleep(0.005)

            poller = threading.Thread(target=poll_api, daemon=True)
            poller.start()
            for sample, tx in zip(batch, anvil.send_batch(txs), strict=True):
                sample.tx = tx
            pending = {s.tx: s for s in batch}
            while pending:
                calls = [
                    {"jsonrpc": "2.0", "id": i, "method": "eth_getTransactionReceipt", "params": [tx]}
                    for i, tx in enumerate(pending)
                ]
                answers = anvil.http.post(anvil.url, json=calls).json()
                now, wall = time.perf_counter(), time.time()
                for answer in answers:
                    receipt = answer.get("result")
                    if receipt:
                        sample = pending.pop(receipt["transactionHash"])
                        assert receipt["status"] == "0x1"
                        sample.receipt_at, sample.receipt_wall = now, wall
                        sample.block = int(receipt["blockNumber"], 16)
                time.sleep(0.002)
            timestamps = {
                s.block: int(anvil.rpc("eth_getBlockByNumber", [hex(s.block), False])["timestamp"], 16)
                for s in batch
            }
            for sample in batch:
                sample.block_timestamp = timestamps[sample.block]
            deadline = time.monotonic() + 15
            while any(s.api_at is None or s.sse_at is None for s in batch) and time.monotonic() < deadline:
                time.sleep(0.01)
            stop.set()
            poller.join(5)
            run.samples += batch
            print(
                f"  block time {block_time}s: round {round_ + 1}/{ROUNDS} done", file=sys.stderr, flush=True
            )
        api.close()
        stream_api.close()
        http.close()
        return run
    finally:
        stop_processes(processes)
        anvil.stop()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summarize(run: Run) -> list[dict[str, Any]]:
    rows = []
    for end in ("api", "sse"):
        missing = sum(1 for s in run.samples if getattr(s, f"{end}_at") is None)
        from_receipt = [
            getattr(s, f"{end}_at") - s.receipt_at for s in run.samples if getattr(s, f"{end}_at")
        ]
        from_block = [
            getattr(s, f"{end}_wall") - s.block_timestamp for s in run.samples if getattr(s, f"{end}_wall")
        ]
        for origin, values in (("receipt", from_receipt), ("block timestamp", from_block)):
            p50, p99 = _percentile(values, 0.5), _percentile(values, 0.99)
            met = None
            if origin == "receipt":
                met = missing == 0 and p50 <= P50_TARGET_S and p99 <= P99_TARGET_S
            rows.append(
                {
                    "block_time_s": run.block_time,
                    "end": "API answers eligible" if end == "api" else "SSE change arrives",
                    "from": origin,
                    "samples": len(values),
                    "missing": missing,
                    "p50_s": round(p50, 4),
                    "p99_s": round(p99, 4),
                    "mean_s": round(statistics.fmean(values), 4),
                    "max_s": round(max(values), 4),
                    "met": met,
                }
            )
    return rows


def _latencies(run: Run) -> dict[str, list[float | None]]:
    """Per deposit, in send order: receipt -> API eligible and receipt -> SSE change, in ms."""

    def ms(end: float | None, start: float) -> float | None:
        return None if end is None else round((end - start) * 1000, 1)

    return {
        "receipt_to_api": [ms(s.api_at, s.receipt_at) for s in run.samples],
        "receipt_to_sse": [ms(s.sse_at, s.receipt_at) for s in run.samples],
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| block time | until | from | samples | p50 ms | p99 ms | max ms | target | met |",
        "|---:|---|---|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        target = "p50 ≤ 500 ms, p99 ≤ 2 s" if r["from"] == "receipt" else "— (1-s timestamps)"
        met = "—" if r["met"] is None else ("yes" if r["met"] else "**no**")
        missing = f" ({r['missing']} missing)" if r["missing"] else ""
        lines.append(
            f"| {r['block_time_s']:g} s | {r['end']} | {r['from']} | {r['samples']}{missing} | "
            f"{r['p50_s'] * 1000:.0f} | {r['p99_s'] * 1000:.0f} | {r['max_s'] * 1000:.0f} | {target} | {met} |"
        )
    return "\n".join(lines)


@click.command()
@click.option(
    "--block-time", "block_times", multiple=True, type=float, default=(1.0, 0.25), show_default=True
)
def main(block_times: tuple[float, ...]) -> None:
    """Measure deposit-to-delivery-node latency and write bench/results/freshness.json and the README table."""
    from ape import project

    compiled = contract_types(project)
    load_before = os.getloadavg()
    rows: list[dict[str, Any]] = []
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="dm3-bench-fresh-") as tmp:
        for block_time in block_times:
            run = measure(block_time, compiled, Path(tmp))
            runs.append(run)
            rows += summarize(run)
    load_after = os.getloadavg()
    text = table(rows) + (
        f"\n\n1-minute load average {load_before[0]:.1f} before, {load_after[0]:.1f} after, on "
        f"{os.cpu_count()} cores (every process on the machine, this benchmark included)."
    )
    path = write_result(
        "freshness",
        {
            "deposits_per_run": SENDERS * ROUNDS,
            "setup": "anvil --block-time; dm3-indexer run (newHeads websocket) and uvicorn (1 worker), SQLite",
            "targets": {"p50_s": P50_TARGET_S, "p99_s": P99_TARGET_S},
            "rows": rows,
            "load_average": {"before": load_before[0], "after": load_after[0]},
            "latencies_ms": {str(r.block_time): _latencies(r) for r in runs},
        },
    )
    update_readme_table("freshness", text)
    print(text)
    print(f"wrote {path}", file=sys.stderr)
    print(json.dumps({"rows": len(rows)}), file=sys.stderr)


if __name__ == "__main__":
    main()
