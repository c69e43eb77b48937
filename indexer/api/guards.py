"""ASGI middleware that bounds what one request may cost, and turns every failure into JSON.

All of them sit inside the CORS middleware (see `create_app`), so their answers, a 500 included, carry the CORS
headers a browser needs to read them:

- :class:`UnexpectedErrors`: an exception no handler knew becomes a 500 `{"message": "internal error"}` (logged
  once, with its traceback, and never shown to the client).
- :class:`ConcurrencyLimit`: at most `max_concurrent_requests` requests (and apart from them `max_change_streams`
  change-feed requests, which stay open for long) in flight per process; the next one gets a 503 at once, with
  `Retry-After`, instead of queueing behind them.
- :class:`BodyGuard`: the body is read before the app sees it, within `body_timeout` seconds (else 408) and up to
  `max_body_bytes` (else 413), whether the client declared its length or sent it chunked.
"""

from __future__ import annotations

import email.message
import json
import logging
from collections.abc import Sequence

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


async def send_json(
    send: Send, status: int, message: str, *, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """A complete JSON answer `{"message": ...}` on the raw ASGI channel."""
    body = json.dumps({"message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body (`BodyGuard` has bounded its size and time); None when the client left."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands `body` to the app as if it came from the client, then the client's own messages (the
    disconnect a streaming answer waits for)."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class UnexpectedErrors:
    """The last resort: an exception that escaped every handler is a 500 JSON answer (inside CORS)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if started:  # the answer is half sent: nothing to do but let the server drop the connection
                raise
            await send_json(send, 500, "internal error")


class InFlight:
    """Requests in flight per process, by kind (`requests`, `streams`), against their limits: shared by
    `ConcurrencyLimit` and the hot path that answers before it (`fastpath.HotPath`)."""

    def __init__(self, *, max_requests: int, max_streams: int) -> None:
        self.limits = {"requests": max_requests, "streams": max_streams}
        self.count = {"requests": 0, "streams": 0}

    def full(self, kind: str) -> bool:
        return self.count[kind] >= self.limits[kind]


class ConcurrencyLimit:
    """At most `max_requests` requests in flight, and `max_streams` on paths under `stream_prefix`; beyond
    them a 503 JSON answer with `Retry-After: 1`. Counted per process (each worker has its own limits)."""

    def __init__(self, app: ASGIApp, *, in_flight: InFlight, stream_prefix: str) -> None:
        self.app = app
        self.in_flight = in_flight
        self.stream_prefix = stream_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = "streams" if scope["path"].startswith(self.stream_prefix) else "requests"
        in_flight = self.in_flight
        if in_flight.full(kind):
            what = "change-feed requests" if kind == "streams" else "requests"
            await send_json(
                send,
                503,
                f"the server is at its limit of {in_flight.limits[kind]} concurrent {what}; retry shortly",
                headers=[(b"retry-after", b"1")],
            )
            return
        in_flight.count[kind] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            in_flight.count[kind] -= 1


class BodyGuard:
    """Read the request body up front: at most `max_bytes` (413 beyond, declared or chunked) within `timeout`
    seconds of the headers (408 after), then hand it to the app as if it came from the client."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._too_large(send)
            return
        if not chunked and (length is None or int(length) == 0):
            await self.app(scope, receive, send)  # no body to read
            return

        chunks: list[bytes] = []
        size = 0
        try:
            with anyio.fail_after(self.timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return  # the client left: nobody to answer
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_bytes:
                        await self._too_large(send)
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            notice = f"the request body did not arrive within {self.timeout:g} s"
            await send_json(send, 408, notice, headers=[(b"connection", b"close")])
            return

        await self.app(scope, replaying(b"".join(chunks), receive), send)

    async def _too_large(self, send: Send) -> None:
        await send_json(
            send,
            413,
            f"request body is larger than {self.max_bytes} bytes",
            headers=[(b"connection", b"close")],
        )


def json_body(scope: Scope) -> bool:
    """The route reads the body as JSON: its content type is `application/json` or `application/*+json`, decided as
    FastAPI decides it (no content type: not JSON, FastAPI's strict default). The fast paths below the routing
    (eligibility batches, relay) take a body only when the route would read it as JSON."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            message = email.message.Message()
            message["content-type"] = value.decode("latin-1")
            subtype = message.get_content_subtype()
            return message.get_content_maintype() == "application" and (
                subtype == "json" or subtype.endswith("+json")
            )
    return False
