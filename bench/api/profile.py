"""Where a request's time goes inside the API process: the ASGI app driven in-process, without a server or sockets.

    python -m bench.api.profile [--requests 3000] [--profile ceiling|single|distinct|names|batch100|batch1000]

Seeds the benchmark's database (`bench.api.seed`), builds the app as `python -m indexer.api` does (in-memory state
on), and calls it with ready-made ASGI scopes: microseconds of CPU per request for each kind of question, the
constant-JSON ceiling app (`bench.api.ceiling`) measured the same way, and with `--profile` the functions a kind
spends its time in (cProfile, by own time). Every kind but `distinct` repeats its questions, so their answers come
from the snapshot's memo after the first pass; `distinct` asks 29,000 different pairs once each (answers written
anew). The server's own share (httptools, uvloop, the sockets) is what
`bench.api.run` measures on top of this.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.api import ceiling
from bench.api.seed import batch_body, seed_database

Message = dict[str, Any]
App = Callable[[dict[str, Any], Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Any]


def _scope(method: str, path: str, query: bytes = b"", body: bytes = b"") -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8000")]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": method,
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "headers": headers,
        "state": {},
    }


async def call(app: App, scope: dict[str, Any], body: bytes = b"") -> tuple[int, bytes]:
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            chunks.append(message.get("body", b""))

    await app(dict(scope), receive, send)
    return status, b"".join(chunks)


async def per_request(app: App, requests: list[tuple[dict[str, Any], bytes]], *, rounds: int) -> float:
    """Microseconds of CPU per request over `rounds` passes (the first pass warms caches and is not counted;
    `rounds` 0: the first pass alone, after the first 1,000 requests)."""
    if not rounds:
        warm, requests = requests[:1_000], requests[1_000:]
        for scope, body in warm:
            await call(app, scope, body)
        rounds = 1
    else:
        for scope, body in requests:
            status, answer = await call(app, scope, body)
            assert status == 200, (status, answer[:200])
    started = time.process_time()
    for _ in range(rounds):
        for scope, body in requests:
            await call(app, scope, body)
    return (time.process_time() - started) / (rounds * len(requests)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000, help="single-pair requests per kind")
    parser.add_argument(
        "--profile", choices=["ceiling", "single", "distinct", "names", "batch100", "batch1000"]
    )
    args = parser.parse_args()

    from indexer.api.main import create_app
    from indexer.settings.api import ApiSettings

    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        seeded = seed_database(db)
        settings = ApiSettings(database_url=f"sqlite:///{db}", memory_state=True)
        app: Any = create_app(settings)

        def get(pairs: list[tuple[str, str]]) -> list[tuple[dict[str, Any], bytes]]:
            return [
                (_scope("GET", "/v1/eligibility", urlencode({"sender": s, "recipient": r}).encode()), b"")
                for s, r in pairs
            ]

        def batch(size: int, count: int) -> list[tuple[dict[str, Any], bytes]]:
            bodies = [batch_body(seeded, rng, size) for _ in range(count)]
            return [(_scope("POST", "/v1/eligibility", body=body), body) for body in bodies]

        n = args.requests
        kinds = {
            "ceiling": ([(_scope("GET", "/v1/eligibility", b"sender=a&recipient=b"), b"")], ceiling.app),
            "single": (get(rng.sample(seeded.bonded, 2 * n // 3) + rng.sample(seeded.unbonded, n // 3)), app),
            # More distinct pairs than a snapshot's memo keeps: every answer written anew (one pass).
            "distinct": (
                get([("0x" + rng.randbytes(20).hex(), rng.choice(seeded.bonded)[1]) for _ in range(30_000)]),
                app,
            ),
            "names": (get(rng.sample(seeded.names, min(n, len(seeded.names)))), app),
            "batch100": (batch(100, 20), app),
            "batch1000": (batch(1000, 5), app),
        }

        async def run() -> None:
            lifespan: asyncio.Queue[Message] = asyncio.Queue()
            await lifespan.put({"type": "lifespan.startup"})
            done: asyncio.Queue[Message] = asyncio.Queue()
            task = asyncio.create_task(app({"type": "lifespan", "state": {}}, lifespan.get, done.put))
            assert (await done.get())["type"] == "lifespan.startup.complete"
            while app.state.eligibility_state.snapshot() is None:
                await asyncio.sleep(0.01)
            for name, (requests, target) in kinds.items():
                if args.profile and name != args.profile:
                    continue
                rounds = 0 if name == "distinct" else 3
                if args.profile:
                    profiler = cProfile.Profile()
                    profiler.enable()
                    await per_request(target, requests, rounds=rounds)
                    profiler.disable()
                    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
                micros = await per_request(target, requests, rounds=rounds)
                print(f"{name}: {micros:,.1f} µs per request ({len(requests)} distinct)", flush=True)
            await lifespan.put({"type": "lifespan.shutdown"})
            await task

        import uvloop

        uvloop.run(run())
        app.state.engine.dispose()


if __name__ == "__main__":
    main()
