"""Fixtures of the store tests: anvil nodes, deployed contracts, SQLite URLs (harness.fixtures)."""

from harness.fixtures import anvil, compiled, devnet, sqlite_url  # noqa: F401
