"""Indexer throughput and cost: cold backfill of real contract events on anvil against the RPC's own limit, peak
memory whatever the log density, and the CPU of following idle heads. Writes bench/results/indexer.json and the
Indexer table of bench/README.md.

    make bench-indexer                                   # the standard workload (~104k events) and the idle row
    python -m bench.indexer.run --workload dense         # 4,000-byte text records, 200 transactions a block
    python -m bench.indexer.run --workload 10x --no-idle # ~1M events (20,000 blocks)

Each block holds `txs-per-block` transactions, alternately a registration (NameRegistered + Transfer) and a text
record of `text-bytes` written to the sender's address name (TextChanged), plus, every tenth block, a deposit
round; automine is off, blocks are mined with evm_mine, transactions sent in JSON-RPC batches. A generated chain is
kept as an anvil state dump under `--cache-dir` (default ~/.cache/dm3-bench), keyed by the generator's parameters,
anvil's version and the contracts' bytecode, and loaded with `--load-state` next time.

Rows, in one run on the same chain: a fetch-only pass (the same `eth_getLogs` ranges as the indexer, from the
same adaptive range and byte target, `concurrency` in flight; answers JSON-parsed, nothing decoded or stored: the
RPC's limit), then the cold backfill (`index_chains(..., follow=False)`, the code behind `dm3-indexer sync`) into a
fresh SQLite file and a fresh PostgreSQL schema. Each runs in a child process, so its peak RSS is its own.
The idle row runs `dm3-indexer run` against three anvils mining empty 250 ms blocks and reads the process's CPU
time from /proc over `--idle-seconds`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import cpu_seconds, machine, update_readme_table

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "indexer.json"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CHAIN_ID = 31_337_001
RSS_BOUND_MB = 256
GEN_GAS_LIMIT = 1_000_000_000  # the generating anvil's block gas limit: dense workloads fill big blocks

WORKLOADS: dict[str, dict[str, int]] = {
    "standard": {"blocks": 2_000, "txs_per_block": 34, "text_bytes": 300},
    "dense": {"blocks": 300, "txs_per_block": 200, "text_bytes": 4_000},
    "10x": {"blocks": 2_000, "txs_per_block": 340, "text_bytes": 300},
}
# The indexer's settings for the bench chain (the same for the fetch-only pass).
RANGE = {"initial_block_range": 200, "max_block_range": 2_000, "concurrency": 4}


# --- chain generation --------------------------------------------------------------------------------------------


def _cache_key(params: dict[str, int], types: dict[str, Any]) -> str:
    anvil = machine()["anvil"]
    code = {name: hashlib.sha256(t["bytecode"].encode()).hexdigest() for name, t in sorted(types.items())}
    blob = json.dumps({"params": params, "anvil": anvil, "code": code, "generator": 4}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def generate(params: dict[str, int], cache_dir: Path | None) -> dict[str, Any]:
    """An anvil serving the workload's chain, loaded from the cache when it holds it, else generated (and cached)."""
    from ape import project

    from harness.devnet import Anvil, contract_types

    types = contract_types(project)
    key = _cache_key(params, types)
    folder = cache_dir / f"indexer-{key}" if cache_dir else None
    if folder is not None and (folder / "meta.json").exists() and (folder / "state.json").exists():
        meta = json.loads((folder / "meta.json").read_text())
        started = time.perf_counter()
        anvil = Anvil(
            chain_id=CHAIN_ID, extra_args=["--load-state", str(folder / "state.json")], start_timeout=600
        )
        head = anvil.block_number()
        if head != meta["head"]:
            anvil.stop()
            raise SystemExit(f"cached chain {folder} has head {head}, expected {meta['head']}: delete it")
        print(f"  loaded the cached chain {folder} ({time.perf_counter() - started:.0f}s)", file=sys.stderr)
        return {"anvil": anvil, "chain": {**meta["chain"], "rpc_url": anvil.url}, "generate_seconds": 0.0,
                "cached": True, "load_seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
    # Dumped on exit only: anvil also rewrites the dump every `--state-interval` seconds, which for a chain of
    # hundreds of MB took most of the generation's time.
    dump_args = (
        ["--dump-state", str(folder / "state.json"), "--state-interval", "1000000000"] if folder else []
    )
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    # --prune-history: anvil keeps no state per block (it slowed generation ~8x over 2,000 blocks otherwise); the
    # blocks, transactions and receipts, all the indexer reads, are kept and dumped.
    gen_args = ["--gas-limit", str(GEN_GAS_LIMIT), "--prune-history", *dump_args]
    anvil = Anvil(chain_id=CHAIN_ID, extra_args=gen_args)
    started = time.perf_counter()
    try:
        chain, head = _fill(anvil, types, **params)
    except BaseException:
        anvil.stop()
        raise
    seconds = time.perf_counter() - started
    if folder is None:
        return {"anvil": anvil, "chain": chain, "generate_seconds": seconds, "cached": False}
    # anvil writes the dump when it exits; serve the chain from the dump (the path every later run takes).
    anvil.http.close()
    anvil.proc.terminate()
    anvil.proc.wait(600)
    (folder / "meta.json").write_text(json.dumps({"params": params, "head": head, "chain": chain}, indent=2))
    anvil = Anvil(
        chain_id=CHAIN_ID, extra_args=["--load-state", str(folder / "state.json")], start_timeout=600
    )
    assert anvil.block_number() == head
    return {"anvil": anvil, "chain": {**chain, "rpc_url": anvil.url}, "generate_seconds": seconds,
            "cached": False}  # fmt: skip


def _fill(
    anvil: Any, types: dict[str, Any], *, blocks: int, txs_per_block: int, text_bytes: int
) -> tuple[dict[str, Any], int]:
    from ens.utils import normal_name_to_hash
    from eth_abi import encode
    from eth_utils import function_signature_to_4byte_selector as selector

    from harness.devnet import Devnet

    net = Devnet(anvil, types)
    net.fund()
    anvil.rpc("evm_setAutomine", [False])
    senders = net.accounts
    parent = net.spec(name="bench").parent_name
    nodes = {s: normal_name_to_hash(f"{s.lower()[2:]}.addr.{parent}") for s in senders}
    register = selector("register(string,address)")
    set_text = selector("setText(bytes32,string,string)")
    deposit = selector("deposit(address,uint256)")
    text_gas = 300_000 + 1_000 * text_bytes  # a first write of 4,000 bytes stores 126 new slots (~2.8M gas)

    started = time.perf_counter()
    ids = 0
    # Nonces set here: anvil takes a batch's transactions concurrently, and two of one sender then collide.
    nonces = {s: int(anvil.rpc("eth_getTransactionCount", [s, "pending"]), 16) for s in senders}

    def tx(to: str, sender: str, data: bytes, gas: int) -> dict[str, Any]:
        nonces[sender] += 1
        return {
            "from": sender,
            "to": to,
            "data": "0x" + data.hex(),
            "gas": hex(gas),
            "nonce": hex(nonces[sender] - 1),
        }

    for b in range(blocks):
        batch = []
        for i in range(txs_per_block):
            sender = senders[i % len(senders)]
            if i % 2 == 0:
                data = register + encode(["string", "address"], [f"b{b}x{i}", sender])
                batch.append(tx(net.registry.address, sender, data, 300_000))
            else:  # a record of text_bytes on the sender's own address name (no registration needed)
                head = f'data:application/json,{{"block":{b},"tx":{i},"pad":"'
                value = head + "p" * max(0, text_bytes - len(head) - 2) + '"}'
                data = set_text + encode(
                    ["bytes32", "string", "string"], [nodes[sender], "network.dm3.profile", value]
                )
                batch.append(tx(net.registry.address, sender, data, text_gas))
        if b % 10 == 0:
            for i, sender in enumerate(senders):
                recipient = senders[(i + 1) % len(senders)]
                data = deposit + encode(["address", "uint256"], [recipient, 10**15])
                batch.append(tx(net.deposits.address, sender, data, 300_000))
        payload = []
        for item in batch:
            ids += 1
            payload.append({"jsonrpc": "2.0", "id": ids, "method": "eth_sendTransaction", "params": [item]})
        answers = anvil.http.post(anvil.url, json=payload).json()
        errors = [a["error"] for a in answers if "error" in a]
        assert not errors, errors[:3]
        anvil.rpc("evm_mine")
        if b % max(1, blocks // 10) == 0:
            print(f"  generated {b}/{blocks} blocks ({time.perf_counter() - started:.0f}s)", file=sys.stderr)
    head = anvil.block_number()
    block = anvil.rpc("eth_getBlockByNumber", [hex(head), False])
    assert len(block["transactions"]) == len(batch), "the last block did not take every transaction"
    receipts = anvil.rpc("eth_getBlockReceipts", [hex(head)])
    assert all(r["status"] == "0x1" for r in receipts), "transactions of the last block reverted"
    anvil.rpc("evm_setAutomine", [True])
    spec = net.spec(name="bench", **RANGE)
    chain = {
        "name": spec.name,
        "chain_id": spec.chain_id,
        "rpc_url": anvil.url,
        "parent_name": spec.parent_name,
        "registry": spec.registry.model_dump() if spec.registry else None,
        "deposits": spec.deposits.model_dump() if spec.deposits else None,
        **RANGE,
    }
    return chain, head


# --- the measured children ---------------------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM, which exec resets (``ru_maxrss`` keeps the forking parent's peak, so a
    child of this ~280 MB bench process would report at least that)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def fetch_child(chain: dict[str, Any]) -> None:
    """Child process: every eth_getLogs range the indexer would ask for (same adaptive range, byte target and
    concurrency), each answer JSON-parsed and counted, nothing decoded or stored. Prints one JSON line."""
    from indexer.chain.abi import topics_for
    from indexer.chain.rpc import RpcClient, RpcRangeTooLarge
    from indexer.settings.indexer import ChainConfig, resolve_chain
    from indexer.sync.fetch import AdaptiveRange

    spec = resolve_chain(ChainConfig(**chain), ROOT / "deployments")
    cfg = spec.config
    contracts = spec.contracts()
    addresses = sorted(contracts)
    topics = [topics_for(sorted(set(contracts.values())))]  # type: ignore[arg-type]

    async def run() -> tuple[int, int, int]:
        rng = AdaptiveRange(
            initial=cfg.initial_block_range, maximum=cfg.max_block_range, target_bytes=cfg.logs_target_bytes
        )
        async with RpcClient(cfg.rpc_url, chain=spec.name) as rpc:
            head = await rpc.block_number()
            state = {"next": spec.start_block, "logs": 0, "bytes": 0}

            async def worker() -> None:
                while state["next"] <= head:
                    start = state["next"]
                    end = min(head, start + rng.size - 1)
                    state["next"] = end + 1
                    while start <= end:
                        stop = min(end, start + rng.size - 1)
                        try:
                            raw, size = await rpc.get_logs_sized(
                                from_block=start,
                                to_block=stop,
                                addresses=addresses,
                                topics=topics,
                                max_bytes=rng.max_bytes,
                            )
                        except RpcRangeTooLarge:
                            rng.too_large(stop - start + 1)
                            continue
                        rng.succeeded(stop - start + 1, len(raw), size)
                        state["logs"] += len(raw)
                        state["bytes"] += size
                        start = stop + 1

            await asyncio.gather(*(worker() for _ in range(cfg.concurrency)))
            return state["logs"], state["bytes"], head - spec.start_block + 1

    started, cpu = time.perf_counter(), _own_cpu()
    logs, size, blocks = asyncio.run(run())
    seconds = time.perf_counter() - started
    figures = _figures(seconds, logs, blocks) | {"json_mb": round(size / 1e6, 1)}
    figures["cpu_seconds"] = {"indexer": round(_own_cpu() - cpu, 2)}
    print(json.dumps(figures))


def index_child(url: str, chain: dict[str, Any]) -> None:
    """Child process: cold backfill, then print one JSON line with the numbers."""
    from sqlalchemy import text

    from indexer.settings.indexer import ChainConfig, resolve_chain
    from indexer.store.db import create_db_engine
    from indexer.store.migrate import upgrade
    from indexer.store.writer import count_rows
    from indexer.sync.runner import index_chains

    engine = create_db_engine(url, role="writer")
    upgrade(engine)
    spec = resolve_chain(ChainConfig(**chain), ROOT / "deployments")
    fetch_rss = _ChildrenRss()
    database = _ServerCpu(url)
    started, cpu, children = time.perf_counter(), _own_cpu(), _children_cpu()
    with fetch_rss:
        outcome = asyncio.run(index_chains([spec], engine=engine, follow=False, stop=asyncio.Event()))
    seconds = time.perf_counter() - started
    # CPU over the backfill alone: this process, its fetch process (reaped when the backfill ends) and the database
    # server's processes (PostgreSQL on this machine; SQLite works inside this process). The parent adds anvil's.
    cpu_seconds = {
        "indexer": round(_own_cpu() - cpu, 2),
        "fetch_process": round(_children_cpu() - children, 2),
        "database": database.used(),
    }
    assert all(v is None for v in outcome.values()), outcome
    events = count_rows(engine, "events", spec.chain_id)
    with engine.connect() as conn:
        indexed = conn.execute(
            text("SELECT indexed_block FROM chains WHERE chain_id = :c"), {"c": spec.chain_id}
        ).scalar_one()
    figures = _figures(seconds, events, indexed - spec.start_block + 1)
    # The backfill's fetch process (indexer/sync/fetch_process.py) lives beside this one: the peak is the largest
    # sum of the two at one time (sampled), or this process's own peak (VmHWM) when that is larger.
    figures["fetch_process_rss_mb"] = fetch_rss.peak_mb
    figures["peak_rss_mb"] = max(figures["peak_rss_mb"], fetch_rss.together_mb)
    figures["cpu_seconds"] = cpu_seconds
    print(json.dumps(figures))


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class _ServerCpu:
    """CPU used by a PostgreSQL server on this machine since construction: every process named `postgres` (its
    backends, WAL writer, checkpointer), the ones started meanwhile counted whole. A backend that exits before
    :meth:`used` is missed (the backfill's connections stay pooled until then). 0 for SQLite; None when the server's
    processes are not visible here (another machine or user)."""

    def __init__(self, url: str) -> None:
        self.postgres = url.startswith("postgresql")
        self.before = self._sample() if self.postgres else {}

    @staticmethod
    def _sample() -> dict[int, float]:
        found: dict[int, float] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and _read(entry / "comm").strip() == "postgres":
                with contextlib.suppress(OSError, IndexError, ValueError):
                    found[int(entry.name)] = cpu_seconds(int(entry.name), tree=False)
        return found

    def used(self) -> float | None:
        if not self.postgres:
            return 0.0
        after = self._sample()
        if not after:
            return None
        return round(sum(cpu - self.before.get(pid, 0.0) for pid, cpu in after.items()), 2)


class _ChildrenRss:
    """The largest RSS the children of this process reached (the backfill's fetch process), and the largest RSS of
    this process and its children together, sampled every 20 ms from /proc while the block runs."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self.together_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> _ChildrenRss:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        tasks = Path(f"/proc/{os.getpid()}/task")
        while not self._stop.wait(0.02):
            total = 0
            for children in tasks.glob("*/children"):  # each thread's children (the fetch process: one)
                for pid in _read(children).split():
                    for line in _read(Path(f"/proc/{pid}/status")).splitlines():
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1])
            own = next(
                (
                    int(line.split()[1])
                    for line in _read(Path("/proc/self/status")).splitlines()
                    if line.startswith("VmRSS:")
                ),
                0,
            )
            self.peak_mb = max(self.peak_mb, round(total / 1024, 1))
            self.together_mb = max(self.together_mb, round((own + total) / 1024, 1))


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:  # the process or thread ended meanwhile
        return ""


def _figures(seconds: float, events: int, blocks: int) -> dict[str, Any]:
    return {
        "seconds": round(seconds, 3),
        "events": events,
        "blocks": blocks,
        "events_per_second": round(events / seconds),
        "blocks_per_second": round(blocks / seconds),
        "peak_rss_mb": _peak_rss_mb(),
    }


def run_child(*args: str, anvil_pid: int | None = None) -> dict[str, Any]:
    """Run one row in a child process; with `anvil_pid`, add the node's CPU over the row to its `cpu_seconds`
    (the child's start-up included, when the node has nothing to do)."""
    anvil_before = cpu_seconds(anvil_pid) if anvil_pid else None
    out = subprocess.run(
        [sys.executable, "-m", "bench.indexer.run", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if out.returncode != 0:
        raise SystemExit(f"{args[0]} failed:\n{out.stderr[-3000:]}")
    figures = dict(json.loads(out.stdout.strip().splitlines()[-1]))
    if anvil_pid and anvil_before is not None and "cpu_seconds" in figures:
        figures["cpu_seconds"]["anvil"] = round(cpu_seconds(anvil_pid) - anvil_before, 2)
    return figures


def fresh_pg_schema(base: str) -> tuple[str, Any] | None:
    from sqlalchemy import text

    from indexer.store.db import create_db_engine

    admin = create_db_engine(base, role="writer")
    try:
        with admin.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS bench_indexer CASCADE; CREATE SCHEMA bench_indexer"))
    except Exception as exc:  # no server: report and skip PostgreSQL
        print(f"PostgreSQL unavailable ({type(exc).__name__}); skipping it", file=sys.stderr)
        return None
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3Dbench_indexer", admin


def backfill(
    name: str, params: dict[str, int], *, cache_dir: Path | None, postgres: str | None
) -> dict[str, Any]:
    """One workload: generate or load the chain, then the fetch-only pass and the backfills, in one run."""
    print(f"workload {name}: {params} ...", file=sys.stderr)
    load_before = os.getloadavg()[0]
    gen = generate(params, cache_dir)
    anvil = gen.pop("anvil")
    out: dict[str, Any] = {
        "machine": machine() | {"load_average_before": round(load_before, 2)},
        "workload": params
        | {"generate_seconds": round(gen["generate_seconds"], 1), "cached": gen["cached"]}
        | ({"load_seconds": gen["load_seconds"]} if "load_seconds" in gen else {}),
    }
    chain = json.dumps(gen["chain"])
    try:
        print("  fetch-only pass ...", file=sys.stderr)
        out["fetch_only"] = run_child("_fetch", chain, anvil_pid=anvil.proc.pid)
        print(f"    {out['fetch_only']}", file=sys.stderr)
        with tempfile.TemporaryDirectory() as tmp:
            print("  cold backfill into SQLite ...", file=sys.stderr)
            out["sqlite"] = run_child("_index", f"sqlite:///{tmp}/bench.db", chain, anvil_pid=anvil.proc.pid)
            print(f"    {out['sqlite']}", file=sys.stderr)
        if postgres:
            pg = fresh_pg_schema(postgres)
            if pg is not None:
                url, admin = pg
                print("  cold backfill into PostgreSQL ...", file=sys.stderr)
                try:
                    out["postgresql"] = run_child("_index", url, chain, anvil_pid=anvil.proc.pid)
                finally:
                    from sqlalchemy import text

                    with admin.begin() as conn:
                        conn.execute(text("DROP SCHEMA IF EXISTS bench_indexer CASCADE"))
                    admin.dispose()
                print(f"    {out['postgresql']}", file=sys.stderr)
    finally:
        anvil.stop()
    out["machine"]["load_average_after"] = round(os.getloadavg()[0], 2)
    return out


# --- following idle heads ----------------------------------------------------------------------------------------


def idle(seconds: float, *, chains: int = 3, block_time: float = 0.25) -> dict[str, Any]:
    """CPU of `dm3-indexer run` following `chains` anvils that mine empty blocks every `block_time` seconds."""
    from ape import project
    from sqlalchemy import create_engine, text

    from harness.devnet import Anvil, Devnet, contract_types

    print(
        f"idle following: {chains} chains at {block_time * 1000:.0f} ms blocks, {seconds:.0f} s ...",
        file=sys.stderr,
    )
    load_before = os.getloadavg()[0]
    types = contract_types(project)
    anvils: list[Any] = []
    process: subprocess.Popen[bytes] | None = None
    try:
        lines = []
        for k in range(chains):
            anvil = Anvil(chain_id=CHAIN_ID + 1 + k, extra_args=["--block-time", str(block_time)])
            anvils.append(anvil)
            net = Devnet(anvil, types)
            lines += [
                "[[chains]]",
                f'name = "l2-{k}"',
                f"chain_id = {anvil.chain_id}",
                f'rpc_url = "{anvil.url}"',
                f'parent_name = "{net.spec().parent_name}"',
                f'registry = {{ address = "{net.registry.address}", start_block = {net.registry.block} }}',
                f'deposits = {{ address = "{net.deposits.address}", start_block = {net.deposits.block} }}',
                "",
            ]
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "indexer.toml"
            db = f"sqlite:///{tmp}/idle.db"
            config.write_text(f'database_url = "{db}"\nlog_level = "WARNING"\n\n' + "\n".join(lines))
            env = {**os.environ, "DM3_CONFIG": str(config)}
            env.pop("DM3_DATABASE_URL", None)
            binary = Path(sys.executable).with_name("dm3-indexer")
            process = subprocess.Popen([str(binary), "run", "--no-progress"], env=env, cwd=tmp)
            engine = create_engine(db)
            deadline = time.monotonic() + 60
            while True:
                time.sleep(0.5)
                if process.poll() is not None:
                    raise SystemExit(f"dm3-indexer run exited with {process.returncode}")
                try:
                    with engine.connect() as conn:
                        live = conn.execute(
                            text("SELECT count(*) FROM chains WHERE status = 'live'")
                        ).scalar()
                except Exception:
                    live = 0
                if live == chains:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit("the chains did not become live within 60 s")
            with engine.connect() as conn:
                before_blocks = conn.execute(text("SELECT sum(indexed_block) FROM chains")).scalar()
            engine.dispose()
            cpu0, t0 = cpu_seconds(process.pid), time.monotonic()
            time.sleep(seconds)
            cpu1, t1 = cpu_seconds(process.pid), time.monotonic()
            engine = create_engine(db)
            with engine.connect() as conn:
                after_blocks = conn.execute(text("SELECT sum(indexed_block) FROM chains")).scalar()
            engine.dispose()
            process.terminate()
            process.wait(30)
    finally:
        if process is not None and process.poll() is None:
            process.kill()
        for anvil in anvils:
            anvil.stop()
    return {
        "machine": machine()
        | {
            "load_average_before": round(load_before, 2),
            "load_average_after": round(os.getloadavg()[0], 2),
        },
        "chains": chains,
        "block_time_ms": round(block_time * 1000),
        "seconds": round(t1 - t0, 1),
        "cpu_seconds": round(cpu1 - cpu0, 2),
        "cpu_percent_of_core": round(100 * (cpu1 - cpu0) / (t1 - t0), 2),
        "blocks_indexed": int(after_blocks or 0) - int(before_blocks or 0),
    }


# --- the table ---------------------------------------------------------------------------------------------------


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "—"


CPU_PARTS = ("indexer", "fetch_process", "database", "anvil")


def _cpu_cell(r: dict[str, Any], cores: int) -> str:
    """`indexer + fetch process + database + anvil = total (share of the machine's cores over the row)`; the
    fetch-only row's own process is in the first place."""
    cpu = r.get("cpu_seconds")
    if not cpu:
        return ""
    parts = [
        cpu.get(part, "—") for part in CPU_PARTS
    ]  # absent: no such process in this row; None: not visible
    total = sum(p for p in parts if isinstance(p, float | int))
    shown = " + ".join(
        p if isinstance(p, str) else "?" if p is None else f"{p:.2f}".rstrip("0").rstrip(".") for p in parts
    )
    return f"{shown} = {total:.1f} ({total / (r['seconds'] * cores):.0%})"


def cpu_bound_ratio(w: dict[str, Any], key: str = "sqlite") -> float | None:
    """The most the `key` row could reach against fetch-only on this machine with the CPU it used: its processes'
    CPU spread over every core without a gap (wall = total / cores) against the fetch-only pass's wall time."""
    r, fetch, cores = w.get(key), w.get("fetch_only"), w["machine"].get("cores") or 1
    if not r or not fetch or not r.get("cpu_seconds"):
        return None
    total = sum(v for v in r["cpu_seconds"].values() if v is not None)
    return round(fetch["seconds"] / (total / cores), 3) if total else None


def table(results: dict[str, Any]) -> str:
    """The bench/README.md table: per workload the fetch-only row and one row per database, then the idle row."""
    lines = [
        "| workload | row | events | blocks | seconds | events/s | ratio | peak RSS MB "
        "| CPU s: indexer + fetch process + database + anvil (share of the cores) | target | met |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    standard = results.get("workloads", {}).get("standard", {})
    standard_sqlite = standard.get("sqlite")
    standard_cpu = standard.get("machine", {}).get("cpu")
    for name, w in results.get("workloads", {}).items():
        p = w["workload"]
        label = f"{name} ({p['blocks']:,} blocks x {p['txs_per_block']} txs, {p['text_bytes']} B texts)"
        fetch = w.get("fetch_only")
        for key, row in (
            ("fetch_only", "fetch-only `eth_getLogs`"),
            ("sqlite", "SQLite"),
            ("postgresql", "PostgreSQL"),
        ):
            r = w.get(key)
            if r is None:
                continue
            rss_ok = r["peak_rss_mb"] <= RSS_BOUND_MB
            ratio, target, met = "—", f"≤ {RSS_BOUND_MB} MB", rss_ok
            if key == "fetch_only":
                ratio, target, met = "1.00x", "—", None
            elif key == "sqlite" and fetch:
                ratio = _ratio(r["events_per_second"], fetch["events_per_second"]) + " fetch-only"
                if name == "10x" and standard_sqlite and w["machine"].get("cpu") == standard_cpu:
                    within = r["events_per_second"] >= 0.8 * standard_sqlite["events_per_second"]
                    ratio += (
                        f", {_ratio(r['events_per_second'], standard_sqlite['events_per_second'])} standard"
                    )
                    target, met = f"≥ 0.8x standard, ≤ {RSS_BOUND_MB} MB", within and rss_ok
                elif name == "10x":
                    target = f"≥ 0.8x standard (no standard row from this machine), ≤ {RSS_BOUND_MB} MB"
                    met = None
                elif name == "standard":
                    fast = r["events_per_second"] >= 0.35 * fetch["events_per_second"]
                    target, met = f"≥ 0.35x fetch-only, ≤ {RSS_BOUND_MB} MB", fast and rss_ok
                    bound = cpu_bound_ratio(w)
                    if bound is not None:
                        target += f" (with the CPU it used, at most {bound:.2f}x on these cores)"
            elif key == "postgresql" and w.get("sqlite"):
                ratio = _ratio(r["events_per_second"], w["sqlite"]["events_per_second"]) + " SQLite"
                if name == "standard":
                    fast = r["events_per_second"] >= 0.8 * w["sqlite"]["events_per_second"]
                    target, met = f"≥ 0.8x SQLite, ≤ {RSS_BOUND_MB} MB", fast and rss_ok
            shown = "—" if met is None else ("yes" if met else "**no**")
            lines.append(
                f"| {label} | {row} | {r['events']:,} | {r['blocks']:,} | {r['seconds']} | "
                f"{r['events_per_second']:,} | {ratio} | {r['peak_rss_mb']} "
                f"| {_cpu_cell(r, w['machine'].get('cores') or 1)} | {target} | {shown} |"
            )
    for name, w in results.get("workloads", {}).items():
        m = w["machine"]
        lines.append("")
        lines.append(
            f"{name}: {m['date']}, {m['cpu']} x{m['cores']}, Python {m['python']}, {m['anvil']}, load average "
            f"{m.get('load_average_before', '?')} before / {m.get('load_average_after', '?')} after"
            + (", chain loaded from the state cache" if w["workload"].get("cached") else "")
        )
    if "idle" in results:
        i = results["idle"]
        m = i["machine"]
        met = "yes" if i["cpu_percent_of_core"] <= 5 else "**no**"
        lines += [
            "",
            "| following idle heads | seconds | blocks indexed | CPU s | % of a core | target | met |",
            "|---|---:|---:|---:|---:|---|---|",
            f"| `dm3-indexer run`, {i['chains']} L2s at {i['block_time_ms']} ms blocks with no events | "
            f"{i['seconds']} | {i['blocks_indexed']:,} | {i['cpu_seconds']} | {i['cpu_percent_of_core']} | ≤ 5% | "
            f"{met} |",
            "",
            f"idle: {m['date']}, load average {m['load_average_before']} before / {m['load_average_after']} after",
        ]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_index":
        index_child(sys.argv[2], json.loads(sys.argv[3]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_fetch":
        fetch_child(json.loads(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="standard")
    parser.add_argument("--blocks", type=int, help="override the workload's block count")
    parser.add_argument("--txs-per-block", type=int, help="override the workload's transactions per block")
    parser.add_argument("--text-bytes", type=int, help="override the workload's text record size (<= 4096)")
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "dm3-bench")
    parser.add_argument("--no-cache", action="store_true", help="generate the chain anew and keep no dump")
    parser.add_argument("--postgres", default=os.environ.get("DM3_TEST_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-backfill", action="store_true", help="only the idle row")
    parser.add_argument(
        "--generate-only", action="store_true", help="generate (and cache) the chain, then stop"
    )
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--no-idle", action="store_true")
    args = parser.parse_args()
    params = dict(WORKLOADS[args.workload])
    for key in ("blocks", "txs_per_block", "text_bytes"):
        if getattr(args, key) is not None:
            params[key] = getattr(args, key)
    custom = params != WORKLOADS[args.workload]
    if args.generate_only:
        generate(params, None if args.no_cache else args.cache_dir)["anvil"].stop()
        return

    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.setdefault("workloads", {})
    for stale in ("machine", "workload", "sqlite", "postgresql"):  # the layout before workloads
        results.pop(stale, None)
    if not args.no_backfill:
        w = backfill(
            args.workload,
            params,
            cache_dir=None if args.no_cache else args.cache_dir,
            postgres=None if args.no_postgres else args.postgres,
        )
        results["workloads"][args.workload + (" (custom)" if custom else "")] = w
    if not args.no_idle:
        results["idle"] = idle(args.idle_seconds)
        print(f"  {results['idle']}", file=sys.stderr)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    update_readme_table("indexer", table(results))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
