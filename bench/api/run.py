"""API load benchmark: the real read API under uvicorn against a constant-JSON ASGI ceiling on the same stack.

    python -m bench.api.run [--duration 20] [--rate 1000]

Seeds a SQLite database (two chains, 2,000 inboxes, 20,000 bonds, 1,000 names), serves the real app with
`python -m indexer.api serve` (uvicorn, uvloop + httptools, one worker) and `bench.api.ceiling:app` with the same
uvicorn, then loads each over loopback:
- maximum throughput, closed loop: `wrk` when installed (else an asyncio generator): the ceiling; single-pair
  eligibility by address rotating over 3,000 pairs (2/3 with a bond, 1/3 strangers); single pairs by name;
- latency at a fixed offered rate (open loop, asyncio): single pairs by address at `--rate` req/s; batches of
  100 pairs (a tenth of them by name) at `--batch-rate` req/s.
Writes `bench/results/api.json` and the table in `bench/README.md`. The load generator runs on the same machine
as the server and shares its cores: the figures are a floor for a dedicated server, not a ceiling.
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
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from bench.api.loadgen import LoadResult, Request, closed_loop, fixed_rate, have_wrk, wrk
from bench.api.seed import Seeded, seed_database
from bench.common import ROOT, stop_processes, update_readme_table, write_result

HOST = "127.0.0.1"
TARGETS = {"single_vs_ceiling": 0.5, "p99_at_rate_ms": 10.0, "batch100_p99_ms": 20.0}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(command: list[str], *, env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
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


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def name_requests(seeded: Seeded, rng: random.Random) -> list[Request]:
    """1,000 single-pair questions whose sender is a registered name."""
    return _get(rng.sample(seeded.names, len(seeded.names)))


def batch_requests(seeded: Seeded, rng: random.Random, *, size: int = 100, count: int = 50) -> list[Request]:
    """Batches of `size` pairs: 60% with a bond, 30% strangers, 10% by name."""
    out = []
    for _ in range(count):
        pairs = (
            rng.sample(seeded.bonded, size * 6 // 10)
            + rng.sample(seeded.unbonded, size * 3 // 10)
            + rng.sample(seeded.names, size - size * 9 // 10)
        )
        rng.shuffle(pairs)
        body = {"pairs": [{"sender": s, "recipient": r} for s, r in pairs]}
        out.append(Request("POST", "/v1/eligibility", json.dumps(body).encode()))
    return out


def check(port: int, request: Request) -> None:
    """One request before the load: it must succeed and carry data, or the benchmark measures error pages."""
    url = f"http://{HOST}:{port}{request.path}"
    headers = {"content-type": "application/json"} if request.body else {}
    response = httpx.request(request.method, url, content=request.body or None, headers=headers, timeout=10)
    response.raise_for_status()
    assert response.json(), response.text


def max_throughput(port: int, requests: list[Request], *, duration: float) -> LoadResult:
    if have_wrk():
        return wrk(f"http://{HOST}:{port}", requests, connections=32, threads=1, duration=duration)
    return asyncio.run(closed_loop(HOST, port, requests, connections=32, duration=duration))


def at_rate(port: int, requests: list[Request], *, rate: float, duration: float) -> LoadResult:
    return asyncio.run(fixed_rate(HOST, port, requests, rate=rate, duration=duration))


def table(results: dict[str, Any]) -> str:
    r = results["runs"]
    ceiling, single, names = r["ceiling_max"], r["single_max"], r["names_max"]
    fixed, batch = r["single_at_rate"], r["batch100_at_rate"]
    ratio = results["single_vs_ceiling"]
    rows = [
        "| measurement | req/s | p50 ms | p99 ms | target | met |",
        "|---|---:|---:|---:|---|---|",
        f"| ceiling: constant JSON, same uvicorn ({ceiling['mode']}, {ceiling['connections']} conns) "
        f"| {ceiling['rps']:,.0f} | {ceiling['p50_ms']:.2f} | {ceiling['p99_ms']:.2f} | | |",
        f"| single pair by address, max throughput ({single['mode']}, {single['connections']} conns) "
        f"| {single['rps']:,.0f} | {single['p50_ms']:.2f} | {single['p99_ms']:.2f} "
        f"| ≥ 50% of ceiling ({ratio:.0%}) | {'yes' if results['met']['single_vs_ceiling'] else 'no'} |",
        f"| single pair by name (sender is a registered name), max throughput ({names['mode']}) "
        f"| {names['rps']:,.0f} | {names['p50_ms']:.2f} | {names['p99_ms']:.2f} | | |",
        f"| single-pair eligibility at {fixed['offered_rate']:,.0f} req/s (open loop) "
        f"| {fixed['rps']:,.0f} | {fixed['p50_ms']:.2f} | {fixed['p99_ms']:.2f} | p99 ≤ 10 ms "
        f"| {'yes' if results['met']['p99_at_rate_ms'] else 'no'} |",
        f"| batch of 100 pairs at {batch['offered_rate']:,.0f} req/s (open loop) "
        f"| {batch['rps']:,.0f} | {batch['p50_ms']:.2f} | {batch['p99_ms']:.2f} | p99 ≤ 20 ms "
        f"| {'yes' if results['met']['batch100_p99_ms'] else 'no'} |",
    ]
    m = results["setup"]
    rows.append("")
    rows.append(
        f"{m['server']}; {m['duration_s']:.0f} s per run; server CPU (100% = one core): "
        + ", ".join(f"{name} {run['server_cpu_pct']:.0f}%" for name, run in r.items())
        + f". Errors: {sum(run['errors'] for run in r.values())}. The load generator shares the machine's "
        f"{results['cores']} cores with the server; 1-minute load average {results['load_average_1m']['before']} "
        f"before the run, {results['load_average_1m']['after']} after."
    )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per run")
    parser.add_argument("--rate", type=float, default=1_000.0, help="fixed offered rate for single pairs")
    parser.add_argument(
        "--batch-rate", type=float, default=20.0, help="fixed offered rate for batches of 100"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave results and README alone")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        started = time.monotonic()
        seeded = seed_database(db)
        print(f"seeded {seeded.rows} in {time.monotonic() - started:.1f}s", flush=True)
        singles, by_name = address_requests(seeded, rng), name_requests(seeded, rng)
        batches = batch_requests(seeded, rng)
        api_port, ceiling_port = free_port(), free_port()
        python = sys.executable
        api_cmd = [python, "-m", "indexer.api", "--port", str(api_port), "--log-level", "warning"]
        ceiling_cmd = [
            python,
            "-m",
            "uvicorn",
            "bench.api.ceiling:app",
            "--port",
            str(ceiling_port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        runs: dict[str, dict[str, Any]] = {}

        def record(name: str, proc: subprocess.Popen[bytes], run: Any) -> None:
            result, cpu = measure(proc, run)
            runs[name] = {**result.summary(), "server_cpu_pct": cpu}
            print(name, json.dumps(runs[name]), flush=True)

        with serve(ceiling_cmd, env={}, port=ceiling_port) as proc:
            ceiling_req = [Request("GET", "/v1/eligibility?sender=a&recipient=b")]
            max_throughput(ceiling_port, ceiling_req, duration=2)  # warm-up
            record(
                "ceiling_max", proc, lambda: max_throughput(ceiling_port, ceiling_req, duration=args.duration)
            )

        env = {"DM3_DATABASE_URL": f"sqlite:///{db}"}
        with serve(api_cmd, env=env, port=api_port) as proc:
            for request in (singles[0], by_name[0], batches[0]):
                check(api_port, request)
            max_throughput(api_port, singles, duration=2)  # warm-up: page cache, pool, code paths
            record("single_max", proc, lambda: max_throughput(api_port, singles, duration=args.duration))
            record("names_max", proc, lambda: max_throughput(api_port, by_name, duration=args.duration))
            record(
                "single_at_rate",
                proc,
                lambda: at_rate(api_port, singles, rate=args.rate, duration=args.duration),
            )
            record(
                "batch100_at_rate",
                proc,
                lambda: at_rate(api_port, batches, rate=args.batch_rate, duration=args.duration),
            )

    ratio = runs["single_max"]["rps"] / runs["ceiling_max"]["rps"]
    results: dict[str, Any] = {
        "setup": {
            "server": "uvicorn (uvloop, httptools), 1 worker, SQLite (WAL) file, `python -m indexer.api` defaults",
            "duration_s": args.duration,
            "data": seeded.rows,
            "load_generator": "wrk 1 thread" if have_wrk() else "asyncio closed loop",
            "fixed_rate_generator": "asyncio open loop (latency from scheduled send time)",
        },
        "cores": os.cpu_count(),
        # Other work on the machine competes for the same cores: the 1-minute load average around the run.
        "load_average_1m": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        "runs": runs,
        "single_vs_ceiling": round(ratio, 3),
        "targets": TARGETS,
        "met": {
            "single_vs_ceiling": ratio >= TARGETS["single_vs_ceiling"],
            "p99_at_rate_ms": runs["single_at_rate"]["p99_ms"] <= TARGETS["p99_at_rate_ms"]
            and runs["single_at_rate"]["errors"] == 0,
            "batch100_p99_ms": runs["batch100_at_rate"]["p99_ms"] <= TARGETS["batch100_p99_ms"]
            and runs["batch100_at_rate"]["errors"] == 0,
        },
    }
    text = table(results)
    print(text)
    if not args.no_write:
        path = write_result("api", results)
        update_readme_table("api", text)
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
