"""What wakes a chain's follow loop: a websocket ``newHeads`` subscription, or polling at the chain's own pace.

The follow loop itself (tips, reorg checks, fetching, applying) is the same whatever woke it; this module only
decides *when* it runs:

- :class:`HeadWatcher` keeps an ``eth_subscribe("newHeads")`` subscription open, sets an event on every new
  head and keeps the headers announced (the follow loop takes the newest as the head instead of asking for it,
  and lets blocks whose blooms rule out our logs wait to be applied together). It reconnects with the
  ``websockets`` library's own exponential backoff when the connection drops, and gives up (polling only)
  when the endpoint is not a websocket or refuses subscriptions.
- :class:`BlockPace` derives the poll interval from the block times it observed (half the mean interval over
  the last blocks, clamped), used whenever no subscription is live.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from indexer.chain.rpc import BlockHeader
from indexer.redact import redact_url, redact_urls

log = logging.getLogger(__name__)

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def derive_ws_url(rpc_url: str) -> str | None:
    """``ws(s)://`` at the same host, port and path as a loopback ``http(s)://`` RPC URL, else None.

    Local nodes (anvil, a geth or reth on the same machine) serve JSON-RPC over HTTP and websockets on one
    port. Hosted providers use other hosts or paths for websockets, so for them ``ws_url`` must be configured.
    """
    parts = urlsplit(rpc_url)
    if parts.scheme not in ("http", "https") or parts.hostname not in _LOOPBACK_HOSTS:
        return None
    return urlunsplit(("ws" if parts.scheme == "http" else "wss", *parts[1:]))


class SubscriptionRefused(Exception):
    """The websocket endpoint answered ``eth_subscribe`` with an error."""


class HeadWatcher:
    """An ``eth_subscribe("newHeads")`` subscription that sets :attr:`new_head` on every head it announces."""

    def __init__(self, url: str, *, chain: str, open_timeout: float = 5.0) -> None:
        self.url = url
        self.chain = chain
        self.open_timeout = open_timeout
        self.new_head = asyncio.Event()
        self.live = False  # a subscription is open right now
        self.connects = 0  # subscriptions opened so far (reconnects included)
        self.heads = 0  # notifications received
        # Headers announced and not yet taken, oldest first (a full deque drops the oldest: the taker sees a gap).
        self._announced: deque[BlockHeader] = deque(maxlen=256)
        self._task: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None
        self._stopping = False

    def take(self) -> list[BlockHeader]:
        """The headers announced since the last call, oldest first."""
        headers = list(self._announced)
        self._announced.clear()
        return headers

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"heads-{self.chain}")

    async def stop(self) -> None:
        self._stopping = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 2.0)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.live = False

    async def _run(self) -> None:
        try:
            # Iterating over `connect` reconnects with exponential backoff on network errors and 5xx answers.
            async for ws in connect(self.url, open_timeout=self.open_timeout, max_size=2**22):
                self._ws = ws
                try:
                    await self._subscribe(ws)
                    async for message in ws:
                        header = _head_of(message)
                        if header is not False:
                            self.heads += 1
                            if header is not None:
                                self._announced.append(header)
                            self.new_head.set()
                except ConnectionClosed as exc:
                    if self._stopping:
                        return
                    log.info(
                        "%s: newHeads websocket closed (%s); reconnecting, polling meanwhile", self.chain, exc
                    )
                    continue
                finally:
                    self.live = False
        except (InvalidURI, InvalidHandshake, SubscriptionRefused, OSError, TimeoutError, ValueError) as exc:
            log.warning(
                "%s: no newHeads subscription at %s (%s); polling only",
                self.chain,
                redact_url(self.url),
                redact_urls(str(exc)),
            )

    async def _subscribe(self, ws: ClientConnection) -> None:
        await ws.send(
            json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]})
        )
        reply = json.loads(await asyncio.wait_for(ws.recv(), self.open_timeout))
        if not isinstance(reply, dict) or reply.get("error") or not reply.get("result"):
            raise SubscriptionRefused(str(reply)[:200])
        self.live = True
        self.connects += 1
        log.info(
            "%s: following heads through the newHeads subscription at %s", self.chain, redact_url(self.url)
        )
        self.new_head.set()  # anything mined while we were not subscribed is picked up at once


def _head_of(message: str | bytes) -> BlockHeader | Literal[False] | None:
    """The header a ``newHeads`` notification announces; None for a notification without a usable header (it
    still means "a new head": the follow loop asks the node); False for any other message."""
    try:
        body = json.loads(message)
    except ValueError:
        return False
    if not isinstance(body, dict) or body.get("method") != "eth_subscription":
        return False
    try:
        return BlockHeader.from_rpc(body["params"]["result"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


class BlockPace:
    """The poll interval a chain deserves: half its mean block interval over recent blocks, clamped.

    Timestamps have a one-second resolution, so the mean is taken over a span of blocks, not per block: with
    250 ms blocks a span of 40 blocks still measures 10 s.
    """

    def __init__(self, *, minimum: float, maximum: float, span: int = 64) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self._seen: deque[tuple[int, int]] = deque(maxlen=span)

    def observe(self, number: int, timestamp: int) -> None:
        if self._seen and number <= self._seen[-1][0]:
            if number < self._seen[-1][0]:
                self._seen.clear()  # a reorg or a restarted node: start over
            else:
                return
        self._seen.append((number, timestamp))

    @property
    def block_time(self) -> float | None:
        if len(self._seen) < 2:
            return None
        (first, t0), (last, t1) = self._seen[0], self._seen[-1]
        return (t1 - t0) / (last - first)

    @property
    def interval(self) -> float:
        block_time = self.block_time
        if block_time is None:
            return self.maximum
        return min(self.maximum, max(self.minimum, block_time / 2))
