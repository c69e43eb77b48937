"""Worker targets for `indexer.api.server.serve_workers` in tests (importable by a spawned process)."""

from __future__ import annotations


def exiting_worker(host: str, port: int, log_level: str) -> None:
    """A worker that cannot start: it exits at once with code 3."""
    raise SystemExit(3)
