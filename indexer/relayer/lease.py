"""One sender per chain: a lock says who is alive, a lease generation fences every write.

The same mechanism as the indexer's writer fencing (wt-dbfault's `ChainLock`), on the relayer's own row
(`relay_senders`), so the two can be unified into one class keyed by (table, namespace):
- the lock: PostgreSQL session advisory lock on a dedicated connection (the server drops it with the connection or
  the process); SQLite `flock` on `<database>.relayer-<chain>.lock` (the kernel drops it with the process);
- the generation: whoever takes the lock increments `relay_senders.generation`; every write transaction of the
  sender calls :meth:`SenderLease.fence` first, which raises :class:`LeaseLost` when the generation moved on or
  (PostgreSQL) the lock's backend no longer holds the lock. Nothing is written, and above all nothing is signed and
  sent, by a process that does not hold the chain.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from indexer.store.db import sqlite_path
from indexer.store.relay_models import RelaySender

_SENDERS = RelaySender.__table__  # type: ignore[attr-defined]


class SenderLocked(RuntimeError):
    """Another relayer process already sends for this chain from this database."""


class LeaseLost(RuntimeError):
    """This process no longer holds the chain's sender lease: it must not write or send."""


def _key(name: str) -> int:
    digest = hashlib.sha256(f"dm3-relayer:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _key_parts(key: int) -> dict[str, int]:
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF}


class SenderLease:
    def __init__(self, engine: Engine, chain_id: int, *, address: str) -> None:
        self.engine = engine
        self.chain_id = chain_id
        self.address = address.lower()
        self.holder = f"{socket.gethostname()} pid {os.getpid()} {uuid.uuid4().hex[:8]}"
        self.generation: int | None = None
        self._conn: Connection | None = None
        self._key: int | None = None
        self._pid: int | None = None
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        if self.engine.dialect.name == "postgresql":
            self._lock_advisory()
        else:
            self._lock_file()
        try:
            self.generation = self._take()
        except BaseException:
            self.release()
            raise

    def _lock_advisory(self) -> None:
        conn = self.engine.connect()
        try:
            schema = conn.execute(text("SELECT current_schema()")).scalar() or ""
            key = _key(f"chain:{self.chain_id}:{schema}")
            got, pid = conn.execute(
                text("SELECT pg_try_advisory_lock(:k), pg_backend_pid()"), {"k": key}
            ).one()
            conn.commit()
            if not got:
                raise SenderLocked(
                    f"chain {self.chain_id}: another relayer process already sends from this PostgreSQL database"
                )
        except BaseException:
            conn.close()
            raise
        self._conn, self._key, self._pid = conn, key, pid

    def _lock_file(self) -> None:
        path = sqlite_path(str(self.engine.url))
        if path is None:
            return
        lock_path = Path(f"{path}.relayer-{self.chain_id}.lock")
        handle = lock_path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise SenderLocked(
                f"chain {self.chain_id}: another relayer process (pid {holder}) already sends from {path}"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def _take(self) -> int:
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        now = datetime.now(UTC)
        values = {"holder": self.holder, "address": self.address, "acquired_at": now, "updated_at": now}
        stmt = insert(_SENDERS).values(
            chain_id=self.chain_id, generation=1, balance=0, gas_day="", gas_spent=0, **values
        )
        upsert = stmt.on_conflict_do_update(
            index_elements=["chain_id"], set_={"generation": _SENDERS.c.generation + 1, **values}
        ).returning(_SENDERS.c.generation)
        with self.engine.begin() as conn:
            return int(conn.execute(upsert).scalar_one())

    def fence(self, conn: Connection) -> None:
        """Raise :class:`LeaseLost` unless this process still holds the chain; first thing in each write
        transaction, on that transaction's connection."""
        if self.generation is None:
            raise LeaseLost(f"chain {self.chain_id}: this process does not hold the sender lease")
        if self._key is None:
            current = conn.execute(
                select(_SENDERS.c.generation).where(_SENDERS.c.chain_id == self.chain_id)
            ).scalar()
            locked = True
        else:
            row = conn.execute(
                text(
                    "SELECT s.generation, EXISTS (SELECT 1 FROM pg_locks p WHERE p.locktype = 'advisory' "
                    "AND p.granted AND p.pid = :pid AND p.objsubid = 1 AND p.objid::bigint = :lo "
                    "AND p.classid::bigint = :hi) FROM relay_senders s WHERE s.chain_id = :chain FOR SHARE OF s"
                ),
                {"pid": self._pid, "chain": self.chain_id, **_key_parts(self._key)},
            ).first()
            current, locked = (row[0], bool(row[1])) if row is not None else (None, False)
        if current != self.generation:
            raise LeaseLost(
                f"chain {self.chain_id}: another relayer process took over (generation {current}, ours "
                f"{self.generation})"
            )
        if not locked:
            raise LeaseLost(
                f"chain {self.chain_id}: the database connection holding the sender lock was lost"
            )

    def release(self) -> None:
        self.generation = None
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
                conn.commit()
            except Exception:  # the server released it with the connection
                pass
            finally:
                with contextlib.suppress(Exception):
                    conn.close()
            self._key = self._pid = None
        if self._file is not None:
            handle, self._file = self._file, None
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            finally:
                handle.close()

    def __enter__(self) -> SenderLease:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()
