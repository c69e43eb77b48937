"""Fixtures of the indexer tests: anvil nodes as subprocesses, deployed contracts, SQLite URLs (harness.fixtures)."""

from harness.fixtures import anvil, compiled, devnet, sqlite_url  # noqa: F401
