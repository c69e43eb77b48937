"""Fixtures of the gateway tests: a seeded SQLite database and the app with a gateway signer (harness.fixtures)."""

from harness.fixtures import api_settings, chains, client, db_url, seed, writer  # noqa: F401
