"""Fixtures of the inbox app's browser tests (defined in webapp_support)."""

from webapp_support import browser_context, devnet, open_app  # noqa: F401
