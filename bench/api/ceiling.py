"""The ceiling: a bare ASGI app answering a constant JSON body, served by the same server as the API.

    python -m bench.api.ceiling --port 8001

(`indexer.api.server`'s uvicorn options: httptools with the API's guarded protocol, uvloop.)

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


def main() -> None:
    """Serve `app` with the API's own server (`indexer.api.server`: uvicorn, httptools, its protocol limits)."""
    import argparse

    import uvicorn

    from indexer.api.server import uvicorn_options
    from indexer.settings.api import ApiSettings

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, **uvicorn_options(ApiSettings(), log_level="warning"))


if __name__ == "__main__":
    main()
