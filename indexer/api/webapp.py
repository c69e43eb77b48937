"""The inbox web app (`webapp/`) served at `/app`, and a front page at `/` that links to it and to the docs.

The app is static: `webapp/static/` holds the page and its stylesheet, and `make setup` bundles the JavaScript into
it (esbuild, pinned in package-lock.json). Nothing is loaded from anywhere else: the Content-Security-Policy says
so to the browser.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from indexer.api.errors import ApiError

#: The checkout's built app (the package is installed from the checkout in editable mode).
DEFAULT_WEBAPP_DIR = Path(__file__).resolve().parents[2] / "webapp" / "static"
BUNDLE = "app.js"

# Wallet icons (EIP-6963) are data: URIs; the keys file is a blob: download; everything else is this origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

_FRONT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>dm3 registry</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem">
<h1>dm3 registry</h1>
<ul>
<li><a href="/app/">The inbox app</a>: reach someone, manage your bonds, your inbox and your dm3 profile</li>
<li><a href="/docs">API documentation</a></li>
</ul>
</body></html>
"""


class _AppFiles(StaticFiles):
    """Static files with the app's security headers; revalidated on every load (ETag), so a rebuilt bundle shows."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-cache"
        return response


def mount_webapp(app: FastAPI, directory: Path | None = None) -> None:
    """`/` (links), `/app` -> `/app/`, and the app's files under `/app/`. Without a built bundle, `/app/` answers
    503 with what to run instead of a half-working page."""
    directory = directory or DEFAULT_WEBAPP_DIR

    @app.get("/", include_in_schema=False)
    def front_page() -> HTMLResponse:
        return HTMLResponse(_FRONT_PAGE)

    @app.get("/app", include_in_schema=False)
    def app_root() -> RedirectResponse:
        return RedirectResponse("/app/", status_code=307)

    if (directory / BUNDLE).is_file():
        app.mount("/app", _AppFiles(directory=directory, html=True), name="webapp")
        return

    @app.get("/app/{path:path}", include_in_schema=False)
    def not_built(path: str) -> Response:
        raise ApiError(f"the web app is not built in {directory.name}/: run `make setup`", status=503)
