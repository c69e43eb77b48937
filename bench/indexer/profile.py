"""Profile the cold backfill of the indexer benchmark's chain (a tool for finding where the time goes, not a
benchmark: `bench/indexer/run.py` measures).

    python -m bench.indexer.profile serve CHAIN.json [--workload standard|dense|10x] [--cache-dir DIR]
        serve the benchmark chain (from bench/indexer/run.py's cache, generated there first when missing) on an
        anvil kept running; write its chain config to CHAIN.json; Ctrl-C or SIGTERM stops
    python -m bench.indexer.profile run CHAIN.json DATABASE_URL [--cprofile OUT.prof] [--repeat N]
        cold backfill into DATABASE_URL (a SQLite file is deleted first; a PostgreSQL URL gets a fresh schema
        `bench_profile`), printing events/s, the load average and, with --cprofile, the top of the profile
    python -m bench.indexer.profile fetch CHAIN.json
        the fetch-only pass over the same ranges (eth_getLogs, JSON parsed, nothing decoded or stored)
    python -m bench.indexer.profile stages CHAIN.json DATABASE_URL [--cprofile OUT.prof]
        the backfill's stages one after the other, each timed alone in CPU seconds: fetch (JSON parsed), decode,
        apply (project + write, every batch), so a noisy machine still tells where the time goes
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import signal
import sys
import time
from pathlib import Path
from typing import Any

from bench.indexer.run import ROOT, WORKLOADS, generate


def _serve(out: Path, params: dict[str, int], cache_dir: Path | None) -> None:
    gen = generate(params, cache_dir)
    anvil = gen["anvil"]
    out.write_text(json.dumps(gen["chain"], indent=2) + "\n")
    print(f"chain config in {out}; anvil pid {anvil.proc.pid}; Ctrl-C or SIGTERM stops", file=sys.stderr)
    stop = False

    def _stop(*_: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stop:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        anvil.stop()


def _fresh_url(url: str) -> str:
    from sqlalchemy import text

    from indexer.store.db import create_db_engine, sqlite_path

    path = sqlite_path(url)
    if path is not None:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return url
    admin = create_db_engine(url, role="writer")
    with admin.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS bench_profile CASCADE; CREATE SCHEMA bench_profile"))
    admin.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3Dbench_profile"


def _run(chain: dict[str, Any], url: str, prof: Path | None) -> dict[str, Any]:
    from indexer.settings.indexer import ChainConfig, resolve_chain
    from indexer.store.db import create_db_engine
    from indexer.store.migrate import upgrade
    from indexer.store.writer import count_rows
    from indexer.sync.runner import index_chains

    url = _fresh_url(url)
    engine = create_db_engine(url, role="writer")
    upgrade(engine)
    spec = resolve_chain(ChainConfig(**chain), ROOT / "deployments")
    profiler = cProfile.Profile() if prof else None
    cpu = time.process_time()
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    outcome = asyncio.run(index_chains([spec], engine=engine, follow=False, stop=asyncio.Event()))
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    assert all(v is None for v in outcome.values()), outcome
    events = count_rows(engine, "events", spec.chain_id)
    engine.dispose()
    if profiler and prof:
        profiler.dump_stats(prof)
        stats = pstats.Stats(str(prof))
        stats.sort_stats("tottime").print_stats(25)
    return {
        "events": events,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "events_per_second": round(events / seconds),
        "loadavg": os.getloadavg(),
    }


def _fetch(chain: dict[str, Any]) -> dict[str, Any]:
    """eth_getLogs over the backfill's filter in max_block_range spans (4 in flight), JSON parsed only."""
    from indexer.chain.abi import topics_for
    from indexer.chain.rpc import RpcClient
    from indexer.settings.indexer import ChainConfig, resolve_chain

    spec = resolve_chain(ChainConfig(**chain), ROOT / "deployments")
    contracts = spec.contracts()
    addresses = sorted(contracts)
    topics = [topics_for(sorted(set(contracts.values())))]  # type: ignore[arg-type]

    async def go() -> tuple[int, float]:
        rpc = RpcClient(chain["rpc_url"], chain="bench")
        head = int(await rpc.call("eth_blockNumber", []), 16)
        step = chain["max_block_range"]
        spans = [(s, min(head, s + step - 1)) for s in range(spec.start_block, head + 1, step)]
        started = time.perf_counter()
        sem = asyncio.Semaphore(chain.get("concurrency", 4))

        async def one(span: tuple[int, int]) -> int:
            async with sem:
                logs = await rpc.get_logs(
                    from_block=span[0], to_block=span[1], addresses=addresses, topics=topics
                )
                return len(logs)

        counts = await asyncio.gather(*(one(s) for s in spans))
        seconds = time.perf_counter() - started
        await rpc.aclose()
        return sum(counts), seconds

    events, seconds = asyncio.run(go())
    return {
        "events": events,
        "seconds": round(seconds, 3),
        "events_per_second": round(events / seconds),
        "loadavg": os.getloadavg(),
    }


def _stages(chain: dict[str, Any], url: str, prof: Path | None) -> dict[str, Any]:
    """Fetch every 100-block range's raw logs and headers, then decode them all, then apply them all."""
    from indexer.chain.abi import LogDecoder, topics_for
    from indexer.chain.rpc import RpcClient
    from indexer.settings.indexer import ChainConfig, resolve_chain
    from indexer.store.db import create_db_engine
    from indexer.store.lock import ChainLock
    from indexer.store.migrate import upgrade
    from indexer.store.writer import Batch, ChainWriter

    spec = resolve_chain(ChainConfig(**chain), ROOT / "deployments")
    contracts = spec.contracts()
    addresses = sorted(contracts)
    topics = [topics_for(sorted(set(contracts.values())))]  # type: ignore[arg-type]
    step = 100

    async def fetch() -> tuple[list[tuple[int, int, list[Any], Any]], int]:
        rpc = RpcClient(chain["rpc_url"], chain="bench")
        head = int(await rpc.call("eth_blockNumber", []), 16)
        out = []
        for start in range(spec.start_block, head + 1, step):
            end = min(head, start + step - 1)
            logs = await rpc.get_logs(from_block=start, to_block=end, addresses=addresses, topics=topics)
            out.append((start, end, logs, (await rpc.get_blocks([end]))[0]))
        await rpc.aclose()
        return out, head

    result: dict[str, Any] = {}
    cpu = time.process_time()
    ranges, head = asyncio.run(fetch())
    result["fetch_cpu"] = round(time.process_time() - cpu, 3)
    decoder = LogDecoder(contracts)  # type: ignore[arg-type]
    cpu = time.process_time()
    decoded = [[decoder.decode(e) for e in logs] for _, _, logs, _ in ranges]
    result["decode_cpu"] = round(time.process_time() - cpu, 3)
    url = _fresh_url(url)
    engine = create_db_engine(url, role="writer")
    upgrade(engine)
    lock = ChainLock(engine, spec.chain_id)
    lock.acquire()
    writer = ChainWriter(engine, lock=lock, parent_name=spec.parent_name, window=spec.config.reorg_window)
    writer.ensure_chain(
        name=spec.name, parent_name=spec.parent_name, registry_address=None, deposits_address=None
    )
    profiler = cProfile.Profile() if prof else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    events = 0
    for (start, end, _, last), logs in zip(ranges, decoded, strict=True):
        events += writer.apply(
            Batch(from_block=start, to_block=end, to_hash=last.hash, logs=logs, undo_from=head - 64)
        )
    if profiler:
        profiler.disable()
    result["apply_cpu"] = round(time.process_time() - cpu, 3)
    result["apply_wall"] = round(time.perf_counter() - wall, 3)
    lock.release()
    engine.dispose()
    result["events"] = events
    result["loadavg"] = os.getloadavg()
    if profiler and prof:
        profiler.dump_stats(prof)
        pstats.Stats(str(prof)).sort_stats("tottime").print_stats(30)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("chain", type=Path)
    serve.add_argument("--workload", choices=sorted(WORKLOADS), default="standard")
    serve.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "dm3-bench")
    run = sub.add_parser("run")
    run.add_argument("chain", type=Path)
    run.add_argument("url")
    run.add_argument("--cprofile", type=Path)
    run.add_argument("--repeat", type=int, default=1)
    fetch = sub.add_parser("fetch")
    fetch.add_argument("chain", type=Path)
    stages = sub.add_parser("stages")
    stages.add_argument("chain", type=Path)
    stages.add_argument("url")
    stages.add_argument("--cprofile", type=Path)
    args = parser.parse_args()
    if args.command == "serve":
        _serve(args.chain, WORKLOADS[args.workload], args.cache_dir)
    elif args.command == "run":
        chain = json.loads(args.chain.read_text())
        for _ in range(args.repeat):
            print(json.dumps(_run(chain, args.url, args.cprofile)))
    elif args.command == "stages":
        print(json.dumps(_stages(json.loads(args.chain.read_text()), args.url, args.cprofile)))
    else:
        print(json.dumps(_fetch(json.loads(args.chain.read_text()))))


if __name__ == "__main__":
    main()
