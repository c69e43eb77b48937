"""The ceiling: a bare ASGI app answering a constant JSON body, served by the same uvicorn stack as the API.

    uvicorn bench.api.ceiling:app

Whatever the real API reaches is measured against this: the server, the event loop and the load generator's own
cost, with no framework, no database and no serialisation.
"""

from __future__ import annotations

from typing import Any

BODY = b'{"eligible":true,"reason":"deposit"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":  # lifespan: nothing to set up
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
        if message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
