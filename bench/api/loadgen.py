"""Load generators on loopback: `wrk` for maximum throughput (closed loop, fixed connections) and an asyncio
fixed-rate generator (open loop) for latency at a given request rate.

The fixed-rate generator schedules request `i` at `start + i / rate` and measures each latency from that scheduled
moment, not from when a connection became free, so a stalled server shows up in the percentiles instead of silently
lowering the offered rate (no coordinated omission). It speaks HTTP/1.1 keep-alive over raw asyncio streams to keep
its own CPU cost low: it shares the machine with the server.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes = b""

    def raw(self, host: str, port: int) -> bytes:
        head = f"{self.method} {self.path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        if self.body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(self.body)}\r\n"
        return head.encode() + b"\r\n" + self.body


@dataclass
class LoadResult:
    mode: str
    duration_s: float
    requests: int
    errors: int
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    percentiles_ms: dict[str, float] = field(default_factory=dict)
    offered_rate: float | None = None
    connections: int | None = None
    error_kinds: dict[str, int] = field(default_factory=dict)
    #: CPU seconds the load generator itself used (`wrk`'s, from the kernel's accounting of the reaped child).
    generator_cpu_s: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "duration_s": round(self.duration_s, 2),
            "requests": self.requests,
            "errors": self.errors,
            "rps": round(self.rps, 1),
            "offered_rate": self.offered_rate,
            "connections": self.connections,
            "error_kinds": self.error_kinds,
            **(
                {"generator_cpu_pct": round(100 * self.generator_cpu_s / self.duration_s, 1)}
                if self.generator_cpu_s is not None and self.duration_s
                else {}
            ),
            **{f"{name}_ms": round(value, 3) for name, value in self.percentiles_ms.items()},
        }


def percentiles(latencies_ms: list[float]) -> dict[str, float]:
    if not latencies_ms:
        return {}
    ordered = sorted(latencies_ms)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "p999": at(0.999), "max": ordered[-1]}


# --- fixed rate (open loop) -----------------------------------------------------------------------------------------


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def fixed_rate(
    host: str, port: int, requests: list[Request], *, rate: float, duration: float, max_connections: int = 256
) -> LoadResult:
    """Offer `rate` requests per second for `duration` seconds, cycling through `requests`."""
    raw = [r.raw(host, port) for r in requests]
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    waiters: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    opened = 0
    latencies: list[float] = []
    errors = 0
    kinds: Counter[str] = Counter()

    async def connection(fresh: bool) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        nonlocal opened
        if idle and not fresh:
            return idle.pop()
        if fresh:
            opened += 1
            return await asyncio.open_connection(host, port)
        if opened < max_connections:
            opened += 1
            return await asyncio.open_connection(host, port)
        return await waiters.get()

    def release(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        if waiters._getters:  # type: ignore[attr-defined]  # someone is waiting: hand it over directly
            waiters.put_nowait(conn)
        else:
            idle.append(conn)

    async def one(index: int, scheduled: float) -> None:
        nonlocal errors, opened
        for attempt in (1, 2):
            # The retry opens a new connection: the other idle ones may have timed out together with this one.
            reader, writer = await connection(fresh=attempt == 2)
            try:
                writer.write(raw[index % len(raw)])
                status = await _read_response(reader)
            except (asyncio.IncompleteReadError, OSError, ValueError) as exc:
                writer.close()
                opened -= 1
                closed_idle = isinstance(exc, ConnectionResetError | BrokenPipeError) or (
                    isinstance(exc, asyncio.IncompleteReadError) and not exc.partial
                )
                if attempt == 1 and closed_idle:
                    # The server closed an idle keep-alive connection before reading this request (uvicorn's
                    # keep-alive timeout): what any HTTP client does, reconnect and send it again.
                    continue
                errors += 1
                kinds[type(exc).__name__] += 1
                return
            latencies.append((time.perf_counter() - scheduled) * 1000)
            if status != 200:
                errors += 1
                kinds[f"HTTP {status}"] += 1
            release((reader, writer))
            return

    for _ in range(min(32, max_connections)):  # warm connections, not counted
        opened += 1
        idle.append(await asyncio.open_connection(host, port))
    total = int(rate * duration)
    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter()
    sent = 0
    while sent < total:
        now = time.perf_counter()
        due = min(total, int((now - start) * rate) + 1)
        while sent < due:
            task = asyncio.create_task(one(sent, start + sent / rate))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
        await asyncio.sleep(max(0.0, start + sent / rate - time.perf_counter()))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    for _, writer in idle:
        writer.close()
    return LoadResult(
        mode="fixed-rate",
        duration_s=elapsed,
        requests=len(latencies),
        errors=errors,
        latencies_ms=latencies,
        percentiles_ms=percentiles(latencies),
        offered_rate=rate,
        connections=opened,
        error_kinds=dict(kinds),
    )


# --- closed loop ----------------------------------------------------------------------------------------------------


async def closed_loop(
    host: str, port: int, requests: list[Request], *, connections: int, duration: float
) -> LoadResult:
    """`connections` clients each sending their next request as soon as the previous answer arrives (the fallback
    when `wrk` is not installed; it measures the generator as much as the server)."""
    raw = [r.raw(host, port) for r in requests]
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + duration

    async def client(offset: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        index = offset
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(raw[index % len(raw)])
            status = await _read_response(reader)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += status != 200
            index += connections
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(connections)))
    return LoadResult(
        mode="closed-loop (asyncio)",
        duration_s=time.perf_counter() - start,
        requests=len(latencies),
        errors=errors,
        latencies_ms=latencies,
        percentiles_ms=percentiles(latencies),
        connections=connections,
    )


# --- wrk ------------------------------------------------------------------------------------------------------------

_WRK_SCRIPT = """
local requests = {%(requests)s}
local counter = 0
request = function()
  counter = counter + 1
  if counter > #requests then counter = 1 end
  return requests[counter]
end
done = function(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%%d,"duration_us":%%d,"errors":%%d,"non_2xx":%%d,' ..
    '"p50":%%d,"p90":%%d,"p99":%%d,"p999":%%d,"max":%%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max))
end
"""


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def wrk(
    url: str, requests: list[Request], *, connections: int, threads: int, duration: float, timeout: float = 5
) -> LoadResult:
    """Run `wrk` against `url` (scheme://host:port), cycling through `requests`."""
    formatted = []
    for r in requests:
        headers = '{["Content-Type"]="application/json"}' if r.body else "nil"
        body = _lua_string(r.body.decode()) if r.body else "nil"
        formatted.append(f"wrk.format({_lua_string(r.method)}, {_lua_string(r.path)}, {headers}, {body})")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "requests.lua"
        # Build the request strings once, at load time, not per request.
        script.write_text(_WRK_SCRIPT % {"requests": ",\n".join(formatted)})
        command = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{int(duration)}s",
            f"--timeout={int(timeout)}s",
            "-s",
            str(script),
            url,
        ]
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
            assert proc.stdout is not None
            stdout = proc.stdout.read()
            # wait4 gives this child's own CPU (RUSAGE_CHILDREN would add any other child reaped meanwhile).
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise subprocess.CalledProcessError(proc.returncode, command, stdout)
    line = next(line for line in stdout.splitlines() if line.startswith("WRK_JSON "))
    data = json.loads(line.removeprefix("WRK_JSON "))
    return LoadResult(
        mode="wrk",
        duration_s=data["duration_us"] / 1e6,
        requests=data["requests"],
        errors=data["errors"] + data["non_2xx"],
        percentiles_ms={key: data[key] / 1000 for key in ("p50", "p90", "p99", "p999", "max")},
        connections=connections,
        generator_cpu_s=usage.ru_utime + usage.ru_stime,
    )


# --- fixed rate over several processes ------------------------------------------------------------------------------


def _fixed_rate_worker(
    host: str, port: int, requests: list[Request], rate: float, duration: float, offset: int, out: Any
) -> None:
    import uvloop

    rotated = requests[offset:] + requests[:offset]
    result = uvloop.run(fixed_rate(host, port, rotated, rate=rate, duration=duration))
    out.send((result.duration_s, result.latencies_ms, result.errors, result.error_kinds, result.connections))
    out.close()


def fixed_rate_processes(
    host: str, port: int, requests: list[Request], *, rate: float, duration: float, processes: int = 2
) -> LoadResult:
    """`fixed_rate` split over `processes` processes (uvloop), each offering `rate / processes`: one Python
    process cannot offer more than a few thousand requests per second. Latencies are merged."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    pipes, workers = [], []
    for index in range(processes):
        receiver, sender = context.Pipe(duplex=False)
        offset = index * len(requests) // processes
        worker = context.Process(
            target=_fixed_rate_worker,
            args=(host, port, requests, rate / processes, duration, offset, sender),
        )
        worker.start()
        sender.close()
        pipes.append(receiver)
        workers.append(worker)
    latencies: list[float] = []
    errors, opened, elapsed = 0, 0, 0.0
    kinds: Counter[str] = Counter()
    for receiver in pipes:
        part_elapsed, part_latencies, part_errors, part_kinds, part_opened = receiver.recv()
        elapsed = max(elapsed, part_elapsed)
        latencies += part_latencies
        errors += part_errors
        kinds.update(part_kinds)
        opened += part_opened or 0
    for worker in workers:
        worker.join()
    return LoadResult(
        mode=f"fixed-rate ({processes} processes)",
        duration_s=elapsed,
        requests=len(latencies),
        errors=errors,
        latencies_ms=latencies,
        percentiles_ms=percentiles(latencies),
        offered_rate=rate,
        connections=opened,
        error_kinds=dict(kinds),
    )
