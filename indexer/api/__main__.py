"""`python -m indexer.api`: serve the read API and CCIP-read gateway (uvicorn with the limits of api/server.py).

Settings come from the environment (`DM3_DATABASE_URL`, `DM3_API_*`, `DM3_GATEWAY_*`, `DM3_RELAYER_*`) and the
`DM3_CONFIG` file; see indexer/settings/. A bad setting or key is one line on stderr, without a traceback.
"""

from __future__ import annotations

import click

from indexer.api.server import serve as serve_api
from indexer.cli_errors import user_errors
from indexer.settings.api import ApiSettings


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="interface to listen on")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="uvicorn worker processes")
@click.option("--log-level", default="info", show_default=True)
def serve(host: str, port: int, workers: int, log_level: str) -> None:
    """Serve the dm3 registry read API and CCIP-read gateway."""
    with user_errors("dm3-api"):
        settings = ApiSettings.load()
        if workers > 1 and settings.gateway.configured:
            settings.gateway.signer()  # fail fast on a bad key before forking workers
        serve_api(settings, host=host, port=port, workers=workers, log_level=log_level)


if __name__ == "__main__":
    serve()
