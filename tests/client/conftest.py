"""Fixtures of the client tests: a seeded SQLite database, the API settings and app (harness.fixtures)."""

from harness.fixtures import api_settings, chains, client, db_url, seed, writer  # noqa: F401
