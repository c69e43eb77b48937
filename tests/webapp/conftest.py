"""Fixtures of the inbox app's browser tests (defined in harness.webapp)."""

from harness.webapp import browser_context, devnet, open_app  # noqa: F401
