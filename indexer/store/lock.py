"""One writer per chain: a lock says who is alive, a lease generation fences every write.

The lock is the liveness signal. PostgreSQL: a session-level advisory lock keyed by the schema and chain id, held
on a dedicated connection (released by the server when that connection or the process dies). SQLite: an OS file
lock (``flock``) on ``<database>.chain-<id>.lock`` next to the database file (released by the kernel when the
process dies). A second process is refused with :class:`ChainLocked` while the lock is held.

The lock alone cannot stop a writer that lost it without noticing (a terminated lock connection while the pool
quietly reconnects the writer). So whoever takes the lock also increments the chain's ``chain_leases.generation``,
and every write transaction of the indexer calls :meth:`ChainLock.fence` first: it reads the lease row ``FOR
SHARE`` (a takeover's increment waits for the transaction and is seen by the next one) and, on PostgreSQL, checks
in the same statement that the lock connection's backend still holds the advisory lock. Either check failing
raises :class:`LeaseLost` before anything is written. No lease expires on a timer: the lock decides liveness.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import socket
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, ClassVar

from sqlalchemy import Table, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from indexer.errors import UserError
from indexer.store import models
from indexer.store.db import sqlite_path

log = logging.getLogger(__name__)

_LEASES = models.ChainLease.__table__  # type: ignore[attr-defined]


class ChainLocked(UserError, RuntimeError):
    """Another process is already indexing this chain into this database."""


class LeaseLost(UserError, RuntimeError):
    """This process no longer holds its chain (taken over, or its lock was lost): it must not write."""


def advisory_key(name: str, *, namespace: str = "dm3-indexer") -> int:
    """A stable signed 64-bit advisory lock key for ``name`` (namespaced so other apps do not collide)."""
    digest = hashlib.sha256(f"{namespace}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def chain_key(chain_id: int, schema: str, *, namespace: str = "dm3-indexer") -> int:
    """The advisory lock key of a chain in one schema (two schemas of a database are two separate indexes)."""
    return advisory_key(f"chain:{chain_id}:{schema}", namespace=namespace)


class Lease:
    """One process per chain for one role: a lock (liveness) and a generation in the role's lease table (the
    fence). Hold with ``with Lease(engine, chain_id):`` or ``acquire()`` / ``release()``; fence writes with
    ``fence(conn)`` inside each write transaction. A role sets the class attributes and may add columns it keeps
    on the lease row (``_lease_values``) and its own messages; :class:`ChainLock` is the indexer's writer, the
    relayer's sender is ``indexer.relayer.lease.SenderLease``."""

    #: The lease table: at least ``chain_id`` (unique), ``generation``, ``holder`` and ``acquired_at``.
    table: ClassVar[Table]
    #: The advisory-key namespace (PostgreSQL) and the lock file's infix (SQLite: ``<db>.<infix>-<chain>.lock``).
    namespace: ClassVar[str]
    lock_infix: ClassVar[str]
    #: What the role's lock is called in messages.
    role: ClassVar[str]
    locked_error: ClassVar[type[ChainLocked]]

    def __init__(self, engine: Engine, chain_id: int) -> None:
        self.engine = engine
        self.chain_id = chain_id
        self.holder = f"{socket.gethostname()} pid {os.getpid()} {uuid.uuid4().hex[:8]}"
        self.generation: int | None = None
        self._conn: Connection | None = None
        self._key: int | None = None
        self._lock_pid: int | None = None  # PostgreSQL backend holding the advisory lock
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock (or raise :class:`ChainLocked`), then the next lease generation."""
        if self.engine.dialect.name == "postgresql":
            self._acquire_advisory()
        else:
            self._acquire_file()
        try:
            self.generation = self._take_lease()
        except BaseException:
            self.release()
            raise
        log.debug("chain %d: lease generation %d (%s)", self.chain_id, self.generation, self.holder)

    def reacquire(self) -> None:
        """After :class:`LeaseLost`: let go of whatever is left of the lock and take it anew (or raise
        :class:`ChainLocked` when another process holds it now)."""
        self.release()
        self.acquire()

    def _acquire_advisory(self) -> None:
        conn = self.engine.connect()
        try:
            schema = conn.execute(text("SELECT current_schema()")).scalar() or ""
            key = chain_key(self.chain_id, schema, namespace=self.namespace)
            got, pid = conn.execute(
                text("SELECT pg_try_advisory_lock(:k), pg_backend_pid()"), {"k": key}
            ).one()
            conn.commit()
            if not got:
                holder = conn.execute(
                    text(
                        "SELECT a.pid, a.client_addr FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
                        "AND l.objid::bigint = :lo AND l.classid::bigint = :hi"
                    ),
                    _key_parts(key),
                ).first()
                conn.rollback()
                who = f" (server backend pid {holder[0]}, client {holder[1]})" if holder else ""
                raise self.locked_error(self._locked_message("this PostgreSQL database", who))
        except BaseException:
            conn.close()
            raise
        self._conn, self._key, self._lock_pid = conn, key, pid

    def _acquire_file(self) -> None:
        path = sqlite_path(str(self.engine.url))
        if path is None:  # in-memory database: private to this process
            return
        lock_path = Path(f"{path}.{self.lock_infix}-{self.chain_id}.lock")
        handle = lock_path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise self.locked_error(
                self._locked_message(str(path), f" (pid {holder}; lock file {lock_path})")
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def _locked_message(self, where: str, who: str) -> str:
        return f"chain {self.chain_id}: another {self.role} process already holds it in {where}{who}"

    @property
    def _taken_over(self) -> str:
        return f"another {self.role} process took over"

    def _lease_values(self) -> dict[str, Any]:
        """The columns written whenever the lease is taken (a role adds its own)."""
        return {"holder": self.holder, "acquired_at": datetime.now(UTC)}

    def _first_values(self) -> dict[str, Any]:
        """Further columns of a lease row written for the first time."""
        return {}

    def _take_lease(self) -> int:
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        values = self._lease_values()
        stmt = insert(self.table).values(
            chain_id=self.chain_id, generation=1, **self._first_values(), **values
        )
        upsert = stmt.on_conflict_do_update(
            index_elements=["chain_id"], set_={"generation": self.table.c.generation + 1, **values}
        ).returning(self.table.c.generation)
        with self.engine.begin() as conn:
            return int(conn.execute(upsert).scalar_one())

    def fence(self, conn: Connection) -> None:
        """Raise :class:`LeaseLost` unless this process still holds the chain. Call first in each write
        transaction (on ``conn``, the transaction's connection)."""
        if self.generation is None:
            raise LeaseLost(f"chain {self.chain_id}: this process does not hold the chain's lock")
        if self._key is None:
            current = conn.execute(
                select(self.table.c.generation).where(self.table.c.chain_id == self.chain_id)
            ).scalar()
            locked = True
        else:
            row = conn.execute(
                text(
                    "SELECT l.generation, EXISTS (SELECT 1 FROM pg_locks p WHERE p.locktype = 'advisory' "
                    "AND p.granted AND p.pid = :pid AND p.objsubid = 1 AND p.objid::bigint = :lo "
                    f"AND p.classid::bigint = :hi) FROM {self.table.name} l WHERE l.chain_id = :chain FOR SHARE OF l"
                ),
                {"pid": self._lock_pid, "chain": self.chain_id, **_key_parts(self._key)},
            ).first()
            current, locked = (row[0], bool(row[1])) if row is not None else (None, False)
        if current != self.generation:
            raise LeaseLost(
                f"chain {self.chain_id}: {self._taken_over} (lease generation {current}, ours {self.generation})"
            )
        if not locked:
            raise LeaseLost(f"chain {self.chain_id}: the database connection holding its lock was lost")

    def release(self) -> None:
        """Let go of the lock. Never raises: a dead connection has released the lock already, and the caller's
        own outcome must not be replaced by a failure here."""
        self.generation = None
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
                conn.commit()
            except Exception as exc:  # the server released it with the connection
                log.debug("chain %d: advisory unlock failed (%s)", self.chain_id, exc)
            finally:
                try:
                    conn.close()
                except Exception as exc:
                    log.debug("chain %d: closing the lock connection failed (%s)", self.chain_id, exc)
            self._key = self._lock_pid = None
        if self._file is not None:
            handle, self._file = self._file, None
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            finally:
                handle.close()

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


class ChainLock(Lease):
    """The indexer's writer of a chain (``chain_leases``)."""

    table = _LEASES
    namespace = "dm3-indexer"
    lock_infix = "chain"
    role = "writer"
    locked_error = ChainLocked

    def _locked_message(self, where: str, who: str) -> str:
        return f"chain {self.chain_id} is already being indexed into {where} by another process{who}"

    @property
    def _taken_over(self) -> str:
        return "another process took over writing it"


def _key_parts(key: int) -> dict[str, int]:
    """How pg_locks shows a bigint advisory key: high and low 32 bits as unsigned ``classid`` and ``objid``."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF}
