"""API load benchmark: the read API against a bare ASGI ceiling and a direct `eth_call`, in one run.

    python -m bench.api.run [--duration 15] [--fixed-duration 8] [--no-write]

Seeds a SQLite database (two chains, 2,000 inboxes, 20,000 bonds, 1,000 names) and measures (bench/README.md):
- references: `bench.api.ceiling` (constant JSON on the API's own server) and `eth_call is_eligible` on a local
  anvil (`bench.api.chain`), closed loop with `wrk` (else an asyncio generator), 32 connections;
- the API (`python -m indexer.api`, one worker): single pairs by address (3,000 pairs, 2/3 with a bond) and by
  name, at maximum; the same with the in-memory state off; with two workers;
- open loop (two generator processes): single pairs at 5,000 req/s and at 20/40/60/80% of the maximum, batches of
  100 at 20 req/s and of 1,000 at 4 req/s, and single pairs at 1,000 req/s while ten clients send batches of 1,000.
Writes `bench/results/api.json` and the table in `bench/README.md`: ratios come from this one run. The load
generators share the machine's cores with the servers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from bench.api.chain import Node, anvil_node, eth_call_requests
from bench.api.loadgen import LoadResult, Request, closed_loop, fixed_rate_processes, have_wrk, wrk
from bench.api.seed import Seeded, batch_body, seed_database
from bench.common import ROOT, cpu_seconds, stop_processes, update_readme_table, write_result

HOST = "127.0.0.1"
TARGETS = {
    "single_vs_eth_call": 1.0,
    "single_vs_ceiling": 0.5,
    "names_vs_single": 0.8,
    "two_workers_vs_one": 1.6,
    "p99_at_5000_ms": 5.0,
    "batch100_p99_ms": 20.0,
    "batch1000_p99_ms": 20.0,
    "mixed_single_p99_ms": 10.0,
}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(command: list[str], *, env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT)
    try:
        deadline = time.monotonic() + 90  # two workers on a busy machine take a while
        while True:
            try:
                if httpx.get(f"http://{HOST}:{port}/health", timeout=1).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {' '.join(command)}")
            time.sleep(0.1)
        yield proc
    finally:
        stop_processes([proc])


def measure(proc: subprocess.Popen[bytes], run: Any) -> tuple[LoadResult, float]:
    """Run the load; also the server's CPU use over it (100% = one core)."""
    before, started = cpu_seconds(proc.pid), time.monotonic()
    result = run()
    used = cpu_seconds(proc.pid) - before
    return result, round(100 * used / (time.monotonic() - started), 1)


def _get(pairs: list[tuple[str, str]]) -> list[Request]:
    return [Request("GET", "/v1/eligibility?" + urlencode({"sender": s, "recipient": r})) for s, r in pairs]


def address_requests(seeded: Seeded, rng: random.Random) -> list[Request]:
    """3,000 single-pair questions by address: 2,000 pairs with a bond, 1,000 strangers."""
    pairs = rng.sample(seeded.bonded, min(2_000, len(seeded.bonded))) + rng.sample(seeded.unbonded, 1_000)
    rng.shuffle(pairs)
    return _get(pairs)


def distinct_requests(seeded: Seeded, rng: random.Random, *, count: int = 60_000) -> list[Request]:
    """`count` distinct single-pair questions by address (every pair with a bond the seed returned, the rest
    strangers): more than the answers a snapshot keeps (`indexer.api.state.MEMO_SIZE`), so cycling through them
    every answer is written anew."""
    pairs = list(seeded.bonded)
    pairs += [
        ("0x" + rng.randbytes(20).hex(), rng.choice(seeded.bonded)[1]) for _ in range(count - len(pairs))
    ]
    rng.shuffle(pairs)
    return _get(pairs)


def name_requests(seeded: Seeded, rng: random.Random) -> list[Request]:
    """1,000 single-pair questions whose sender is a registered name."""
    return _get(rng.sample(seeded.names, len(seeded.names)))


def batch_requests(seeded: Seeded, rng: random.Random, *, size: int = 100, count: int = 50) -> list[Request]:
    """Batches of `size` pairs: 60% with a bond, 30% strangers, 10% by name."""
    return [Request("POST", "/v1/eligibility", batch_body(seeded, rng, size)) for _ in range(count)]


def check(port: int, request: Request) -> None:
    """One request before the load: it must succeed and carry data, or the benchmark measures error pages."""
    url = f"http://{HOST}:{port}{request.path}"
    headers = {"content-type": "application/json"} if request.body else {}
    response = httpx.request(request.method, url, content=request.body or None, headers=headers, timeout=10)
    response.raise_for_status()
    assert response.json(), response.text


def max_throughput(
    port: int, requests: list[Request], *, duration: float, connections: int = 32
) -> LoadResult:
    if have_wrk():
        return wrk(f"http://{HOST}:{port}", requests, connections=connections, threads=1, duration=duration)
    return asyncio.run(closed_loop(HOST, port, requests, connections=connections, duration=duration))


def at_rate(port: int, requests: list[Request], *, rate: float, duration: float) -> LoadResult:
    """Open loop over two generator processes (one Python process cannot offer 5,000 req/s)."""
    return fixed_rate_processes(HOST, port, requests, rate=rate, duration=duration, processes=2)


def cpu_per_request(run: dict[str, Any], of: str = "server") -> float | None:
    """Microseconds of CPU per answered request at maximum throughput, of the server or of the load generator
    (`of="generator"`, wrk): None when not measured, and for fixed rates, where the in-memory state's refresh every
    20 ms weighs on few requests. Unlike req/s, it does not depend on how much of a core the process got while
    other jobs ran."""
    key = f"{of}_cpu_pct"
    if key not in run or not run.get("rps") or run.get("mode") != "wrk":
        return None
    return float(run[key]) / 100 / float(run["rps"]) * 1e6


def _yes(met: bool) -> str:
    return "yes" if met else "**no**"


def table(results: dict[str, Any]) -> str:
    r, ratios, met = results["runs"], results["ratios"], results["met"]

    def row(label: str, run: dict[str, Any], target: str = "", ok: bool | None = None) -> str:
        errors = f"{run['errors']:,}" if run.get("errors") is not None else ""
        verdict = "" if ok is None else _yes(ok)
        cpu, generator = cpu_per_request(run), cpu_per_request(run, "generator")
        return (
            f"| {label} | {run['rps']:,.0f} | {run.get('p50_ms', 0):.2f} | {run.get('p99_ms', 0):.2f} | {errors} "
            f"| {'' if cpu is None else f'{cpu:,.0f}'} | {'' if generator is None else f'{generator:,.0f}'} "
            f"| {target} | {verdict} |"
        )

    sweep = [r[name] for name in sorted(r) if name.startswith("sweep_")]
    rows = [
        "| measurement | req/s | p50 ms | p99 ms | errors | server CPU µs/req | wrk CPU µs/req | target | met |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
        row("reference: bare ASGI ceiling, constant JSON, same server (wrk, 32 conns)", r["ceiling_max"]),
        row(
            "reference: direct `eth_call InboxDeposits.is_eligible` on local anvil (wrk, 32 conns)",
            r["eth_call_max"],
        ),
        row(
            "single pair by address, max (wrk, 32 conns)",
            r["single_max"],
            f"≥ 1.0x eth_call ({ratios['single_vs_eth_call']:.2f}x), ≥ 0.5x ceiling ({ratios['single_vs_ceiling']:.2f}x)",
            met["single_vs_eth_call"] and met["single_vs_ceiling"],
        ),
        row(
            "single pair by address, every answer written anew (60,000 distinct pairs, no memo hit), max",
            r["single_distinct_max"],
            f"({ratios['distinct_vs_eth_call']:.2f}x eth_call, {ratios['distinct_vs_ceiling']:.2f}x ceiling)",
        ),
        row(
            "single pair by address, database read per request (`DM3_API_MEMORY_STATE=false`), max",
            r["single_db_max"],
            f"(in-memory state: {ratios['state_vs_db']:.2f}x this)",
        ),
        row(
            "single pair by name (sender is a registered name), max (wrk, 32 conns)",
            r["names_max"],
            f"≥ 0.8x by address ({ratios['names_vs_single']:.2f}x)",
            met["names_vs_single"],
        ),
        row(
            "single pair by address, 2 workers, max (wrk, 32 conns)",
            r["single_max_2w"],
            f"≥ 1.6x one worker ({ratios['two_workers_vs_one']:.2f}x)",
            met["two_workers"],
        )
        if "single_max_2w" in r
        else "| single pair by address, 2 workers | — | — | — | — | — | — | ≥ 1.6x one worker | **no**: not measured, "
        "uvicorn's supervisor killed the workers (late ping) |",
        row("generator check: ceiling at 5,000 req/s (open loop, 2 processes)", r["ceiling_at_5000"]),
        row(
            "single pair by address at 5,000 req/s (open loop)",
            r["single_at_5000"],
            "p99 ≤ 5 ms",
            met["p99_at_5000"],
        ),
    ]
    for run in sweep:
        rows.append(
            row(
                f"single pair by address at {run['offered_rate']:,.0f} req/s "
                f"({run['offered_rate'] / r['single_max']['rps']:.0%} of max, open loop)",
                run,
                "0 errors",
                run["errors"] == 0,
            )
        )
    rows += [
        row(
            "batch of 100 pairs at 20 req/s (open loop)",
            r["batch100_at_rate"],
            "p99 ≤ 20 ms",
            met["batch100"],
        ),
        row(
            f"batch of 1,000 pairs at {r['batch1000_at_rate']['offered_rate']:,.0f} req/s (open loop)",
            r["batch1000_at_rate"],
            "p99 ≤ 20 ms",
            met["batch1000"],
        ),
        row("10 clients sending batches of 1,000 (wrk, 10 conns), meanwhile:", r["mixed_batches"]),
        row(
            "... single pair by address at 1,000 req/s (open loop)",
            r["mixed_single"],
            "p99 ≤ 10 ms",
            met["mixed_single"],
        ),
    ]
    m = results["setup"]
    rows.append("")
    rows.append(
        f"{m['server']}; {m['duration_s']:.0f} s per maximum, {m['fixed_duration_s']:.0f} s per fixed rate; server "
        "CPU (100% = one core): "
        + ", ".join(
            f"{name} {run['server_cpu_pct']:.0f}%" for name, run in r.items() if "server_cpu_pct" in run
        )
        + "; wrk's CPU: "
        + ", ".join(
            f"{name} {run['generator_cpu_pct']:.0f}%" for name, run in r.items() if "generator_cpu_pct" in run
        )
        + f". The load generators share the machine's {results['cores']} cores with the server (and with other "
        f"jobs); 1-minute load average {results['load_average_1m']['before']} before the run, "
        f"{results['load_average_1m']['after']} after."
    )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per maximum-throughput run")
    parser.add_argument("--fixed-duration", type=float, default=8.0, help="seconds per fixed-rate run")
    parser.add_argument("--no-write", action="store_true", help="print only; leave results and README alone")
    parser.add_argument(
        "--table-only",
        action="store_true",
        help="rewrite README's table from bench/results/api.json, measure nothing",
    )
    args = parser.parse_args()
    if args.table_only:
        results = json.loads((ROOT / "bench" / "results" / "api.json").read_text())
        update_readme_table("api", table(results))
        return
    duration, fixed = args.duration, args.fixed_duration

    load_before = os.getloadavg()[0]
    rng = random.Random(7)
    runs: dict[str, dict[str, Any]] = {}

    def record(name: str, proc: subprocess.Popen[bytes] | None, run: Any) -> LoadResult:
        if proc is None:
            result, cpu = run(), None
        else:
            result, cpu = measure(proc, run)
        runs[name] = {**result.summary(), **({"server_cpu_pct": cpu} if cpu is not None else {})}
        print(name, json.dumps(runs[name]), flush=True)
        return result

    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        started = time.monotonic()
        seeded = seed_database(db)
        print(f"seeded {seeded.rows} in {time.monotonic() - started:.1f}s", flush=True)
        singles, by_name = address_requests(seeded, rng), name_requests(seeded, rng)
        distinct = distinct_requests(seeded, rng)
        batches = batch_requests(seeded, rng)
        batches1000 = batch_requests(seeded, rng, size=1_000, count=20)

        ceiling_port = free_port()
        ceiling_cmd = [python, "-m", "bench.api.ceiling", "--port", str(ceiling_port)]
        with serve(ceiling_cmd, env={}, port=ceiling_port) as proc:
            ceiling_req = [Request("GET", "/v1/eligibility?sender=a&recipient=b")]
            max_throughput(ceiling_port, ceiling_req, duration=2)  # warm-up
            record("ceiling_max", proc, lambda: max_throughput(ceiling_port, ceiling_req, duration=duration))
            record(
                "ceiling_at_5000",
                proc,
                lambda: at_rate(ceiling_port, ceiling_req, rate=5_000, duration=fixed),
            )

        with anvil_node(free_port()) as node:
            calls = eth_call_requests(node)
            check_eth_call(node, calls[0])
            max_throughput(node.port, calls, duration=2)
            record("eth_call_max", None, lambda: max_throughput(node.port, calls, duration=duration))

        # The in-memory state is opt-in (it may answer up to one refresh interval behind the database); the
        # rows of "ours" measure it on, the "database read per request" row the default.
        env = {"DM3_DATABASE_URL": f"sqlite:///{db}", "DM3_API_MEMORY_STATE": "true"}
        api_port = free_port()
        api_cmd = [python, "-m", "indexer.api", "--port", str(api_port), "--log-level", "warning"]
        with serve(api_cmd, env={**env, "DM3_API_MEMORY_STATE": "false"}, port=api_port) as proc:
            check(api_port, singles[0])
            max_throughput(api_port, singles, duration=2)
            record("single_db_max", proc, lambda: max_throughput(api_port, singles, duration=duration))

        with serve(api_cmd, env=env, port=api_port) as proc:
            for request in (singles[0], by_name[0], batches[0], batches1000[0]):
                check(api_port, request)
            max_throughput(api_port, singles, duration=2)  # warm-up: page cache, pool, code paths
            single = record("single_max", proc, lambda: max_throughput(api_port, singles, duration=duration))
            record("single_distinct_max", proc, lambda: max_throughput(api_port, distinct, duration=duration))
            record("names_max", proc, lambda: max_throughput(api_port, by_name, duration=duration))
            record("single_at_5000", proc, lambda: at_rate(api_port, singles, rate=5_000, duration=fixed))
            for share in (0.2, 0.4, 0.6, 0.8):
                rate = round(single.rps * share, -2)
                record(
                    f"sweep_{int(share * 100):02d}",
                    proc,
                    lambda rate=rate: at_rate(api_port, singles, rate=rate, duration=fixed),
                )
            record("batch100_at_rate", proc, lambda: at_rate(api_port, batches, rate=20, duration=fixed))
            record("batch1000_at_rate", proc, lambda: at_rate(api_port, batches1000, rate=4, duration=fixed))

            background: dict[str, LoadResult] = {}
            thread = threading.Thread(
                target=lambda: background.update(
                    batches=max_throughput(api_port, batches1000, duration=fixed + 2, connections=10)
                )
            )
            thread.start()
            time.sleep(1)
            record("mixed_single", proc, lambda: at_rate(api_port, singles, rate=1_000, duration=fixed))
            thread.join()
            runs["mixed_batches"] = background["batches"].summary()
            print("mixed_batches", json.dumps(runs["mixed_batches"]), flush=True)

        try:
            with serve([*api_cmd, "--workers", "2"], env=env, port=api_port) as proc:
                max_throughput(api_port, singles, duration=3)  # both workers loaded and warm
                record("single_max_2w", proc, lambda: max_throughput(api_port, singles, duration=duration))
        except RuntimeError as error:  # uvicorn's supervisor kills workers that answer its ping late
            print(f"two workers: {error}", flush=True)

    rps = {name: run["rps"] for name, run in runs.items()}
    ratios = {
        "single_vs_eth_call": round(rps["single_max"] / rps["eth_call_max"], 3),
        "single_vs_ceiling": round(rps["single_max"] / rps["ceiling_max"], 3),
        "names_vs_single": round(rps["names_max"] / rps["single_max"], 3),
        "two_workers_vs_one": round(rps["single_max_2w"] / rps["single_max"], 3)
        if "single_max_2w" in rps
        else None,
        "state_vs_db": round(rps["single_max"] / rps["single_db_max"], 3),
        "distinct_vs_eth_call": round(rps["single_distinct_max"] / rps["eth_call_max"], 3),
        "distinct_vs_ceiling": round(rps["single_distinct_max"] / rps["ceiling_max"], 3),
    }
    sweep_errors = sum(run["errors"] for name, run in runs.items() if name.startswith("sweep_"))
    met = {
        "single_vs_eth_call": ratios["single_vs_eth_call"] >= TARGETS["single_vs_eth_call"],
        "single_vs_ceiling": ratios["single_vs_ceiling"] >= TARGETS["single_vs_ceiling"],
        "names_vs_single": ratios["names_vs_single"] >= TARGETS["names_vs_single"],
        "two_workers": (ratios["two_workers_vs_one"] or 0) >= TARGETS["two_workers_vs_one"],
        "p99_at_5000": runs["single_at_5000"]["p99_ms"] <= TARGETS["p99_at_5000_ms"]
        and runs["single_at_5000"]["errors"] == 0,
        "no_errors_up_to_80pct": sweep_errors == 0,
        "batch100": runs["batch100_at_rate"]["p99_ms"] <= TARGETS["batch100_p99_ms"]
        and runs["batch100_at_rate"]["errors"] == 0,
        "batch1000": runs["batch1000_at_rate"]["p99_ms"] <= TARGETS["batch1000_p99_ms"]
        and runs["batch1000_at_rate"]["errors"] == 0,
        "mixed_single": runs["mixed_single"]["p99_ms"] <= TARGETS["mixed_single_p99_ms"]
        and runs["mixed_single"]["errors"] == 0,
    }
    results: dict[str, Any] = {
        "setup": {
            "server": "`python -m indexer.api` (uvicorn, uvloop, httptools, the API's guarded protocol), 1 worker "
            "unless said, SQLite (WAL) file, in-memory eligibility state on (`DM3_API_MEMORY_STATE=true`) unless said",
            "duration_s": duration,
            "fixed_duration_s": fixed,
            "data": seeded.rows,
            "load_generator": "wrk 1 thread" if have_wrk() else "asyncio closed loop",
            "fixed_rate_generator": "asyncio open loop, 2 processes (uvloop), latency from scheduled send time",
        },
        "cores": os.cpu_count(),
        # Other work on the machine competes for the same cores: the 1-minute load average around the run.
        "load_average_1m": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        "runs": runs,
        "ratios": ratios,
        "targets": TARGETS,
        "met": met,
    }
    text = table(results)
    print(text)
    if not args.no_write:
        path = write_result("api", results)
        update_readme_table("api", text)
        print(f"wrote {path.relative_to(ROOT)}")


def check_eth_call(node: Node, request: Request) -> None:
    answer = httpx.post(node.url, content=request.body, headers={"content-type": "application/json"}).json()
    assert "result" in answer and len(answer["result"]) == 66, answer


if __name__ == "__main__":
    main()
