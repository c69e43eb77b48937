"""A fault-injecting JSON-RPC proxy on loopback (aiohttp, in a background thread) for RPC fault tests.

Faults, each with its own probability: HTTP 429 and 500, responses slower than the client's timeout, eth_getLogs
"too many results" refusals in the styles of Alchemy (with a suggested range), Infura (range in `data`) and the
generic "block range is too large", and a lagging node behind a load balancer (some requests see a head
``lag`` blocks old: no newer blocks, getLogs clipped to that head, exactly what a real lagging node answers).
Upstream is a real anvil.

Faults switched on while a test runs (thread-safe enough for tests: plain attribute writes):
- :meth:`FaultProxy.hide_logs`: for some seconds eth_getLogs answers [] (by range or by block hash) and, optionally,
  eth_getBlockReceipts answers [] too: a node behind a load balancer that keeps a block's logs back.
- :meth:`FaultProxy.fail_blocks`: the next requests about numbered blocks (headers, logs, receipts) fail with
  the "no such block" errors nodes give mid-reorg ("block out of range", "header not found", "unknown block",
  anvil's "block height is N but requested was M").
- :meth:`FaultProxy.reorg_when`: an ``anvil_reorg`` upstream as soon as a condition on what was served holds,
  after the answer that made it hold was taken from the old branch: the client holds stale data.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
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
        self.counts: Counter[str] = Counter()  # faults injected
        self.methods: Counter[str] = Counter()  # JSON-RPC calls seen, by method
        self.served_headers: dict[int, str] = {}  # block number -> hash of every header answered
        self.served_log_blocks: set[int] = set()  # blocks whose logs were answered (range or hash)
        self._hidden_until = 0.0
        self._hide_receipts = False
        self._fail_left = 0
        self._reorg: tuple[Callable[[FaultProxy], bool], list[Any]] | None = None
        self.reorged = False
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    # --- faults switched on by tests ----------------------------------------------------------------------------

    def hide_logs(self, seconds: float, *, receipts: bool = True) -> None:
        self._hide_receipts = receipts
        self._hidden_until = time.monotonic() + seconds

    @property
    def hiding(self) -> bool:
        return time.monotonic() < self._hidden_until

    def fail_blocks(self, count: int) -> None:
        self._fail_left = count

    def reorg_when(self, condition: Callable[[FaultProxy], bool], params: list[Any]) -> None:
        """``anvil_reorg(params)`` once ``condition(self)`` holds after an answer (that answer stays stale)."""
        self._reorg = (condition, params)

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
        for item, answer in zip(items, answers, strict=True):
            await self._record(item, answer)
        if self._reorg is not None and self._reorg[0](self):
            params, self._reorg = self._reorg[1], None
            result = await self._upstream(
                {"jsonrpc": "2.0", "id": 1, "method": "anvil_reorg", "params": params}
            )
            assert "error" not in result, result
            self.reorged = True
        return web.json_response(answers if isinstance(body, list) else answers[0])

    async def _record(self, item: dict[str, Any], answer: Any) -> None:
        result = answer.get("result") if isinstance(answer, dict) else None
        method, params = item.get("method"), item.get("params") or []
        if method == "eth_getBlockByNumber" and isinstance(result, dict) and str(params[0]).startswith("0x"):
            self.served_headers[int(result["number"], 16)] = result["hash"]
        elif method == "eth_getLogs" and isinstance(result, list):
            flt = params[0]
            if "blockHash" in flt:
                number = await self._number_of(flt["blockHash"])
                if number is not None:
                    self.served_log_blocks.add(number)
            else:
                self.served_log_blocks.update(range(int(flt["fromBlock"], 16), int(flt["toBlock"], 16) + 1))

    async def _number_of(self, block_hash: str) -> int | None:
        block = (
            await self._upstream(
                {"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByHash", "params": [block_hash, False]}
            )
        ).get("result")
        return int(block["number"], 16) if block else None

    async def _answer(self, item: dict[str, Any], *, lagging: bool) -> Any:
        method, params = item.get("method"), item.get("params") or []
        self.methods[str(method)] += 1
        reply = lambda result: {"jsonrpc": "2.0", "id": item.get("id"), "result": result}  # noqa: E731
        error = lambda e: {"jsonrpc": "2.0", "id": item.get("id"), "error": e}  # noqa: E731
        if self._fail_left > 0 and _about_numbered_block(method, params):
            self._fail_left -= 1
            style = self.counts["unavailable"] % len(_UNAVAILABLE)
            self.counts["unavailable"] += 1
            return error({"code": -32000, "message": _UNAVAILABLE[style]})
        if self.hiding and method == "eth_getLogs":
            self.counts["hidden_logs"] += 1
            return reply([])
        if self.hiding and self._hide_receipts and method == "eth_getBlockReceipts":
            self.counts["hidden_receipts"] += 1
            return reply([])
        if method == "eth_getLogs" and "blockHash" in params[0]:
            if lagging:
                number = await self._number_of(params[0]["blockHash"])
                head = int(
                    (await self._upstream({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"}))[
                        "result"
                    ],
                    16,
                )
                if number is None or number > head - self.faults.lag:
                    return error({"code": -32000, "message": "unknown block"})
            return await self._upstream(item)
        if method == "eth_getLogs" and self.faults.range_limit is not None:
            start, end = int(params[0]["fromBlock"], 16), int(params[0]["toBlock"], 16)
            if end - start + 1 > self.faults.range_limit:
                refusal = self.rng.choice(["alchemy", "infura", "generic", "size"])
                self.counts[f"range_{refusal}"] += 1
                last = hex(start + self.faults.range_limit - 1)
                if refusal == "alchemy":
                    return error(
                        {
                            "code": -32602,
                            "message": "Log response size exceeded. You can make eth_getLogs "
                            "requests with up to a 2K block range and no limit on the response size, or you can "
                            "request any block range with a cap of 10K logs in the response. Based on your "
                            f"parameters, this block range should work: [{hex(start)}, {last}]",
                        }
                    )
                if refusal == "infura":
                    return error(
                        {
                            "code": -32005,
                            "message": "query returned more than 10000 results",
                            "data": {"from": hex(start), "limit": 10000, "to": last},
                        }
                    )
                if refusal == "generic":
                    return error({"code": -32000, "message": "block range is too large"})
                return error({"code": -32000, "message": "response size exceeded"})
        if lagging:
            head = int(
                (await self._upstream({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"}))["result"], 16
            )
            old = max(0, head - self.faults.lag)
            if method == "eth_blockNumber":
                return reply(hex(old))
            if method == "eth_getBlockReceipts":
                number = await self._number_of(str(params[0]))
                if number is None or number > old:
                    return reply(None)
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


_UNAVAILABLE = (
    "block out of range",
    "header not found",
    "unknown block",
    "block height is 3088 but requested was 3091",
)


def _about_numbered_block(method: Any, params: list[Any]) -> bool:
    if method == "eth_getBlockByNumber":
        return bool(params) and str(params[0]).startswith("0x")
    return method in ("eth_getLogs", "eth_getBlockReceipts")
