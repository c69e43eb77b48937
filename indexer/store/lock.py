"""One writer per chain: a second indexer for the same chain and database gets :class:`ChainLocked`.

PostgreSQL: a session-level advisory lock keyed by the chain id, held on a dedicated connection for the life of
the indexer (released by the server if the process dies). SQLite: an OS file lock (``flock``) on
``<database>.chain-<id>.lock`` next to the database file (released by the kernel if the process dies).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from indexer.store.db import sqlite_path


class ChainLocked(RuntimeError):
    """Another process is already indexing this chain into this database."""


def advisory_key(chain_id: int) -> int:
    """A stable signed 64-bit advisory lock key for a chain (namespaced so other apps do not collide)."""
    digest = hashlib.sha256(f"dm3-indexer:chain:{chain_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class ChainLock:
    """Hold with ``with ChainLock(engine, chain_id):`` or ``acquire()`` / ``release()``."""

    def __init__(self, engine: Engine, chain_id: int) -> None:
        self.engine = engine
        self.chain_id = chain_id
        self._conn: Connection | None = None
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        if self.engine.dialect.name == "postgresql":
            self._acquire_advisory()
        else:
            self._acquire_file()

    def _acquire_advisory(self) -> None:
        conn = self.engine.connect()
        got = conn.execute(
            text("SELECT pg_try_advisory_lock(:k)"), {"k": advisory_key(self.chain_id)}
        ).scalar()
        conn.commit()
        if not got:
            holder = conn.execute(
                text(
                    "SELECT a.pid, a.client_addr, a.application_name FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.objid = (:k & 4294967295) AND l.classid = ((:k >> 32) & 4294967295)"
                ),
                {"k": advisory_key(self.chain_id)},
            ).first()
            conn.close()
            who = f" (server backend pid {holder[0]}, client {holder[1]})" if holder else ""
            raise ChainLocked(
                f"chain {self.chain_id} is already being indexed into this PostgreSQL database by another process{who}"
            )
        self._conn = conn

    def _acquire_file(self) -> None:
        path = sqlite_path(str(self.engine.url))
        if path is None:  # in-memory database: private to this process
            return
        lock_path = Path(f"{path}.chain-{self.chain_id}.lock")
        handle = lock_path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise ChainLocked(
                f"chain {self.chain_id} is already being indexed into {path} by another process (pid {holder}; "
                f"lock file {lock_path})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": advisory_key(self.chain_id)})
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> ChainLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()
