"""Indexer throughput: generate >=100,000 real contract events over >=2,000 blocks on anvil, then cold-backfill
them into SQLite and PostgreSQL. Writes events/s, blocks/s and peak RSS to bench/results/indexer.json.

    make bench-indexer    # or: python bench/indexer/run.py [--blocks 2000] [--txs-per-block 34] [--postgres URL | --no-postgres]

Each block holds `txs-per-block` transactions, alternately a registration (NameRegistered + Transfer) and a
~300-byte text record written to the sender's address name (TextChanged), plus, every tenth block, a deposit
round; automine is off and blocks are mined with evm_mine, transactions sent in JSON-RPC batches.
The backfill runs in a child process (`_index` mode) so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import machine, update_readme_table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "indexer"))
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "indexer.json"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def table(results: dict[str, Any]) -> str:
    """The bench/README.md table: one row per database."""
    lines = [
        "| database | events | blocks | seconds | events/s | blocks/s | peak RSS MB | target | met |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for name, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        if name not in results:
            continue
        r = results[name]
        target = "≥ 10,000 events/s, < 500 MB" if name == "sqlite" else "—"
        met = (
            ("yes" if r["events_per_second"] >= 10_000 and r["peak_rss_mb"] < 500 else "no")
            if name == "sqlite"
            else "—"
        )
        lines.append(
            f"| {label} | {r['events']:,} | {r['blocks']:,} | {r['seconds']} | {r['events_per_second']:,} | "
            f"{r['blocks_per_second']:,} | {r['peak_rss_mb']} | {target} | {met} |"
        )
    return "\n".join(lines)


def generate(blocks: int, per_block: int) -> dict[str, Any]:
    from ape import project
    from ens.utils import normal_name_to_hash
    from indexer_support import Anvil, Devnet, contract_types

    anvil = Anvil(chain_id=31_337_001)
    net = Devnet(anvil, contract_types(project))
    net.fund()
    anvil.rpc("evm_setAutomine", [False])
    senders = net.accounts
    parent = net.spec(name="bench").parent_name
    address_nodes = {s: normal_name_to_hash(f"{s.lower()[2:]}.addr.{parent}") for s in senders}
    started = time.perf_counter()
    for b in range(blocks):
        batch = []
        for i in range(per_block):
            sender = senders[i % len(senders)]
            if i % 2 == 0:
                label = f"b{b}x{i}"
                call = ("register", label, net.w3.to_checksum_address(sender))
            else:  # a ~300-byte record on the sender's own address name (no registration needed)
                value = f'data:application/json,{{"block":{b},"tx":{i},"pad":"{"p" * 250}"}}'
                call = ("setText", address_nodes[sender], "network.dm3.profile", value)
            batch.append(net.tx_request(net.registry, sender, *call))
        if b % 10 == 0:
            for i, sender in enumerate(senders):
                recipient = senders[(i + 1) % len(senders)]
                batch.append(
                    net.tx_request(
                        net.deposits, sender, "deposit", net.w3.to_checksum_address(recipient), 10**15
                    )
                )
        payload = [
            {
                "jsonrpc": "2.0",
                "id": k,
                "method": "eth_sendTransaction",
                "params": [{**tx, "gas": hex(500_000)}],
            }
            for k, tx in enumerate(batch)
        ]
        answers = anvil.http.post(anvil.url, json=payload).json()
        errors = [a["error"] for a in answers if "error" in a]
        assert not errors, errors[:3]
        anvil.rpc("evm_mine")
        if b % 200 == 0:
            print(f"  generated {b}/{blocks} blocks ({time.perf_counter() - started:.0f}s)", file=sys.stderr)
    anvil.rpc("evm_setAutomine", [True])
    spec = net.spec(name="bench", initial_block_range=200, max_block_range=2_000, concurrency=4)
    return {
        "anvil": anvil,
        "chain": {
            "name": spec.name,
            "chain_id": spec.chain_id,
            "rpc_url": anvil.url,
            "parent_name": spec.parent_name,
            "registry": spec.registry.model_dump() if spec.registry else None,
            "deposits": spec.deposits.model_dump() if spec.deposits else None,
            "initial_block_range": 200,
            "max_block_range": 2_000,
            "concurrency": 4,
        },
        "generate_seconds": time.perf_counter() - started,
    }


def index_child(url: str, chain: dict[str, Any]) -> None:
    """Child process: cold backfill, then print one JSON line with the numbers."""
    import asyncio

    from indexer.settings.indexer import ChainConfig, resolve_chain
    from indexer.store.db import create_db_engine
    from indexer.store.migrate import upgrade
    from indexer.store.writer import count_rows
    from indexer.sync.runner import index_chains

    engine = create_db_engine(url, role="writer")
    upgrade(engine)
    spec = resolve_chain(ChainConfig(**chain), ROOT / "deployments")
    started = time.perf_counter()
    outcome = asyncio.run(index_chains([spec], engine=engine, follow=False, stop=asyncio.Event()))
    seconds = time.perf_counter() - started
    assert all(v is None for v in outcome.values()), outcome
    events = count_rows(engine, "events", spec.chain_id)
    with engine.connect() as conn:
        from sqlalchemy import text

        indexed = conn.execute(
            text("SELECT indexed_block FROM chains WHERE chain_id = :c"), {"c": spec.chain_id}
        ).scalar()
    blocks = indexed - spec.start_block + 1
    print(
        json.dumps(
            {
                "seconds": round(seconds, 3),
                "events": events,
                "blocks": blocks,
                "events_per_second": round(events / seconds),
                "blocks_per_second": round(blocks / seconds),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


def run_child(url: str, chain: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "_index", url, json.dumps(chain)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"backfill into {url} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def fresh_pg_schema(base: str) -> tuple[str, Any] | None:
    from sqlalchemy import text

    from indexer.store.db import create_db_engine

    admin = create_db_engine(base, role="writer")
    try:
        with admin.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS bench_indexer CASCADE; CREATE SCHEMA bench_indexer"))
    except Exception as exc:  # no server: report and skip PostgreSQL
        print(f"PostgreSQL at {base} unavailable ({type(exc).__name__}); skipping it", file=sys.stderr)
        return None
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3Dbench_indexer", admin


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_index":
        index_child(sys.argv[2], json.loads(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--blocks", type=int, default=2_000)
    parser.add_argument("--txs-per-block", type=int, default=34)
    parser.add_argument("--postgres", default=os.environ.get("DM3_TEST_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    print(
        f"generating {args.blocks} blocks x {args.txs_per_block} transactions on anvil ...", file=sys.stderr
    )
    gen = generate(args.blocks, args.txs_per_block)
    anvil = gen.pop("anvil")
    results: dict[str, Any] = {
        "machine": machine(),
        "workload": {
            "blocks": args.blocks,
            "txs_per_block": args.txs_per_block,
            "generate_seconds": round(gen["generate_seconds"], 1),
        },
    }
    try:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            print("cold backfill into SQLite ...", file=sys.stderr)
            results["sqlite"] = run_child(f"sqlite:///{tmp}/bench.db", gen["chain"])
            print(f"  {results['sqlite']}", file=sys.stderr)
        if not args.no_postgres:
            pg = fresh_pg_schema(args.postgres)
            if pg is not None:
                url, admin = pg
                print("cold backfill into PostgreSQL ...", file=sys.stderr)
                results["postgresql"] = run_child(url, gen["chain"])
                print(f"  {results['postgresql']}", file=sys.stderr)
                from sqlalchemy import text

                with admin.begin() as conn:
                    conn.execute(text("DROP SCHEMA IF EXISTS bench_indexer CASCADE"))
    finally:
        anvil.stop()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    update_readme_table("indexer", table(results))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
