"""A fault-injecting JSON-RPC proxy on loopback (aiohttp, in a background thread) for RPC fault tests.

Faults, each with its own probability: HTTP 429 and 500, responses slower than the client's timeout, eth_getLogs
"too many results" refusals in the styles of Alchemy (with a suggested range), Infura (range in `data`) and the
generic "block range is too large", and a lagging node behind a load balancer (some requests see a head
``lag`` blocks old: no newer blocks, getLogs clipped to that head, exactly what a real lagging node answers).
Upstream is a real anvil.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web


@dataclass
class Faults:
    http_429: float = 0.0
    http_500: float = 0.0
    slow: float = 0.0  # respond after `slow_seconds`
    slow_seconds: float = 1.0
    delay: float = 0.0  # added to every request (to make a backfill take a while)
    range_limit: int | None = None  # eth_getLogs spans above this are refused
    lagging: float = 0.0  # share of requests answered by a node `lag` blocks behind
    lag: int = 3
    seed: int = 0


class FaultProxy:
    def __init__(self, upstream: str, faults: Faults | None = None) -> None:
        self.upstream = upstream
        self.faults = faults or Faults()
        self.rng = random.Random(self.faults.seed)
        self.counts: Counter[str] = Counter()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    # --- server ------------------------------------------------------------------------------------------------

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def stop(self) -> None:
        async def shutdown() -> None:
            await self._runner.cleanup()
            await self._session.close()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _upstream(self, payload: Any) -> Any:
        async with self._session.post(self.upstream, json=payload) as response:
            return await response.json()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        f = self.faults
        body = await request.json()
        if f.delay:
            await asyncio.sleep(f.delay)
        roll = self.rng.random()
        if roll < f.http_429:
            self.counts["429"] += 1
            return web.Response(status=429, text="Too Many Requests")
        roll -= f.http_429
        if roll < f.http_500:
            self.counts["500"] += 1
            return web.Response(status=500, text="upstream exploded")
        roll -= f.http_500
        if roll < f.slow:
            self.counts["slow"] += 1
            await asyncio.sleep(f.slow_seconds)
        lagging = self.rng.random() < f.lagging
        if lagging:
            self.counts["lagging"] += 1
        items = body if isinstance(body, list) else [body]
        answers = [await self._answer(item, lagging=lagging) for item in items]
        return web.json_response(answers if isinstance(body, list) else answers[0])

    async def _answer(self, item: dict[str, Any], *, lagging: bool) -> Any:
        method, params = item.get("method"), item.get("params") or []
        reply = lambda result: {"jsonrpc": "2.0", "id": item.get("id"), "result": result}  # noqa: E731
        error = lambda e: {"jsonrpc": "2.0", "id": item.get("id"), "error": e}  # noqa: E731
        if method == "eth_getLogs" and self.faults.range_limit is not None:
            start, end = int(params[0]["fromBlock"], 16), int(params[0]["toBlock"], 16)
            if end - start + 1 > self.faults.range_limit:
                style = self.rng.choice(["alchemy", "infura", "generic", "size"])
                self.counts[f"range_{style}"] += 1
                last = hex(start + self.faults.range_limit - 1)
                if style == "alchemy":
                    return error(
                        {
                            "code": -32602,
                            "message": "Log response size exceeded. You can make eth_getLogs "
                            "requests with up to a 2K block range and no limit on the response size, or you can "
                            "request any block range with a cap of 10K logs in the response. Based on your "
                            f"parameters, this block range should work: [{hex(start)}, {last}]",
                        }
                    )
                if style == "infura":
                    return error(
                        {
                            "code": -32005,
                            "message": "query returned more than 10000 results",
                            "data": {"from": hex(start), "limit": 10000, "to": last},
                        }
                    )
                if style == "generic":
                    return error({"code": -32000, "message": "block range is too large"})
                return error({"code": -32000, "message": "response size exceeded"})
        if lagging:
            head = int(
                (await self._upstream({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"}))["result"], 16
            )
            old = max(0, head - self.faults.lag)
            if method == "eth_blockNumber":
                return reply(hex(old))
            if method == "eth_getBlockByNumber":
                tag = params[0]
                if tag in ("latest", "pending"):
                    item = {**item, "params": [hex(old), *params[1:]]}
                elif tag.startswith("0x") and int(tag, 16) > old:
                    return reply(None)
            if method == "eth_getLogs":
                flt = dict(params[0])
                if int(flt["fromBlock"], 16) > old:
                    return reply([])
                if int(flt["toBlock"], 16) > old:
                    flt["toBlock"] = hex(old)
                item = {**item, "params": [flt]}
        return await self._upstream(item)
