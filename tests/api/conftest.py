"""API test fixtures: a migrated SQLite database, a writer session to seed it, the app and a client
(harness.fixtures)."""

from harness.fixtures import api_settings, chains, client, db_url, seed, writer  # noqa: F401
