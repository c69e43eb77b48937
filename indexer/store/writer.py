"""Where decoded logs become rows in the database: one transaction per block batch, with undo entries and the
checkpoint.

What each event writes is :mod:`indexer.store.projection`'s table (pure, no SQL); this module loads the rows an
event overwrites, keeps undo entries, writes in bulk and rolls back. Projecting an event is an overwrite, so
replaying one is harmless; ``events`` ignores a second insert of the same log (chain_id, block_number, log_index)
and ``bond_history`` one of the same (chain_id, tx_hash, log_index).

Every write transaction starts with the chain lock's fence (:meth:`~indexer.store.lock.ChainLock.fence`): a
process that no longer holds its chain raises :class:`~indexer.store.lock.LeaseLost` before writing anything.
Applying a batch whose checkpoint is already stored (a retry after a commit whose outcome was lost with the
connection) writes nothing, and so does repeating a rollback; change rows are keyed like events, so no replay can
add one twice.

For each block inside the reorg window the first write to a state row records that row's previous value in
``undo_log``; :meth:`ChainWriter.rollback` restores them newest first. Blocks older than the window get no undo
entries (a reorg that deep stops the chain instead).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import (
    ARRAY,
    Table,
    and_,
    any_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from indexer.chain.abi import DecodedLog
from indexer.chain.rpc import BlockHeader
from indexer.ens import node_hex
from indexer.errors import UserError
from indexer.store import models
from indexer.store.bulk import BulkWriter
from indexer.store.lock import ChainLock
from indexer.store.projection import STATE_KEYS, Key, Projector, Row

_T: dict[str, Table] = {
    name: model.__table__  # type: ignore[attr-defined]
    for name, model in {
        "chains": models.Chain,
        "blocks": models.Block,
        "events": models.Event,
        "reorgs": models.Reorg,
        "names": models.Name,
        "text_records": models.TextRecord,
        "addr_records": models.AddrRecord,
        "contenthashes": models.Contenthash,
        "primary_names": models.PrimaryName,
        "operators": models.Operator,
        "min_deposits": models.MinDeposit,
        "bonds": models.Bond,
        "bond_history": models.BondHistory,
        "undo_log": models.UndoEntry,
        "changes": models.Change,
    }.items()
}

#: Append-only tables: rolled back by deleting rows of removed blocks.
APPEND_TABLES = ("events", "bond_history")

_LOAD_CHUNK = 400
#: PostgreSQL advisory lock held (per transaction) while change rows are inserted, so that change ids commit in
#: increasing order across writer processes and a reader that has seen id N never later finds a smaller one.
CHANGES_LOCK_KEY = int.from_bytes(hashlib.sha256(b"dm3-indexer:changes").digest()[:8], "big", signed=True)


class CheckpointMismatch(UserError, RuntimeError):
    """A batch does not start right after the stored checkpoint (another writer, or a bug)."""


@dataclass(frozen=True)
class Tips:
    head: int | None = None
    safe: int | None = None
    finalized: int | None = None
    seen_at: datetime | None = None  # when the node answered with this head
    block_time: float | None = None  # the chain's observed seconds per block


@dataclass
class Batch:
    """Blocks ``from_block..to_block`` with all their logs, ready to commit as one transaction."""

    from_block: int
    to_block: int
    to_hash: str | None
    logs: Sequence[DecodedLog]
    to_timestamp: int | None = None  # unix time of to_block (the envelope's block_timestamp)
    headers: Sequence[BlockHeader] = ()  # headers to remember for reorg detection (the window part)
    undo_from: int = 0  # blocks >= undo_from get undo entries
    tips: Tips | None = None
    status: str | None = None
    #: :meth:`ChainWriter.log_rows` of ``logs``, when built ahead (the indexer does it while the batch before is
    #: being written); else built inside the transaction.
    rows: Sequence[tuple[Row, Row | None]] | None = None


@dataclass
class _Pending:
    """What a batch writes, built in memory before one bulk write: the touched state rows, undo entries, and
    the append-only rows."""

    current: dict[str, dict[Key, Row | None]] = field(default_factory=dict)
    changed: dict[str, set[Key]] = field(default_factory=dict)
    undo: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    history: list[Row] = field(default_factory=list)
    changes: list[Row] = field(default_factory=list)


class ChainWriter:
    """The only code that writes indexed data for one chain. Not thread-safe; one per chain."""

    #: How rows reach the tables: ``bulk`` (:mod:`indexer.store.bulk`: tuples, executemany on SQLite, COPY and
    #: unnest on PostgreSQL) or ``rows`` (SQLAlchemy Core ``executemany`` of dicts, the reference the bulk path is
    #: tested against).
    bulk_path: Literal["bulk", "rows"] = "bulk"

    def __init__(self, engine: Engine, *, lock: ChainLock, parent_name: str = "", window: int = 64) -> None:
        """``lock``: this chain's lock, held (its fence guards every write)."""
        self.engine = engine
        self.lock = lock
        self.chain_id = lock.chain_id
        self.window = window
        self._projector = Projector(self.chain_id, parent_name=parent_name)
        self._dialect = engine.dialect.name
        self._insert = sqlite.insert if self._dialect == "sqlite" else postgresql.insert
        self._bulk = BulkWriter(engine.dialect, _T)

    # --- chain row ---------------------------------------------------------------------------------------------

    def ensure_chain(
        self,
        *,
        name: str,
        parent_name: str,
        registry_address: str | None,
        deposits_address: str | None,
    ) -> models.Chain:
        """Create the chain row, or check that the database was indexed for these same contracts."""
        table = _T["chains"]
        with self.engine.begin() as conn:
            self.lock.fence(conn)
            row = conn.execute(select(table).where(table.c.chain_id == self.chain_id)).mappings().first()
            if row is None:
                conn.execute(
                    insert(table).values(
                        chain_id=self.chain_id,
                        name=name,
                        parent_name=parent_name,
                        parent_node=node_hex(parent_name) if parent_name else "",
                        registry_address=registry_address,
                        deposits_address=deposits_address,
                        reorg_count=0,
                        status="starting",
                        updated_at=datetime.now(UTC),
                    )
                )
            else:
                for column, wanted in (
                    ("registry_address", registry_address),
                    ("deposits_address", deposits_address),
                ):
                    if row[column] is not None and wanted is not None and row[column] != wanted:
                        raise ContractsChanged(
                            f"chain {self.chain_id}: the database indexed {column} {row[column]}, the configuration "
                            f"says {wanted}; use a fresh database (or drop this chain's rows)"
                        )
                conn.execute(
                    update(table)
                    .where(table.c.chain_id == self.chain_id)
                    .values(
                        name=name,
                        registry_address=registry_address,
                        deposits_address=deposits_address,
                        parent_name=parent_name,
                        parent_node=node_hex(parent_name) if parent_name else "",
                        error=None,
                    )
                )
        return self.chain()

    def chain(self) -> models.Chain:
        table = _T["chains"]
        with self.engine.connect() as conn:
            row = conn.execute(select(table).where(table.c.chain_id == self.chain_id)).mappings().one()
        return models.Chain(**row)

    def set_status(self, status: str, *, error: str | None = None, tips: Tips | None = None) -> None:
        table = _T["chains"]
        values: dict[str, Any] = {"status": status, "error": error, "updated_at": datetime.now(UTC)}
        values.update(_tip_values(tips))
        with self.engine.begin() as conn:
            self.lock.fence(conn)
            conn.execute(update(table).where(table.c.chain_id == self.chain_id).values(**values))

    def set_tips(self, tips: Tips) -> None:
        table = _T["chains"]
        with self.engine.begin() as conn:
            self.lock.fence(conn)
            conn.execute(
                update(table)
                .where(table.c.chain_id == self.chain_id)
                .values(updated_at=datetime.now(UTC), **_tip_values(tips))
            )

    def stored_hashes(self, low: int, high: int) -> dict[int, str]:
        """Block number -> hash of remembered blocks in [low, high]."""
        table = _T["blocks"]
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(table.c.number, table.c.hash).where(
                    table.c.chain_id == self.chain_id, table.c.number >= low, table.c.number <= high
                )
            ).all()
        return {number: block_hash for number, block_hash in rows}

    # --- apply -------------------------------------------------------------------------------------------------

    def apply(self, batch: Batch) -> int:
        """Project and commit ``batch`` (one transaction). Returns the number of events applied (0 when the
        batch is already stored: a retry after a lost commit acknowledgement)."""
        with self.engine.begin() as conn:
            self.lock.fence(conn)
            if self._already_applied(conn, batch):
                return 0
            projection = self._project(conn, batch)
            applied = len(projection.events)
            self._write(conn, batch, projection)
        return applied

    def _already_applied(self, conn: Connection, batch: Batch) -> bool:
        table = _T["chains"]
        indexed, indexed_hash = conn.execute(
            select(table.c.indexed_block, table.c.indexed_block_hash).where(table.c.chain_id == self.chain_id)
        ).one()
        if indexed is None or indexed == batch.from_block - 1:
            return False
        if indexed == batch.to_block and indexed_hash == batch.to_hash:
            return True
        raise CheckpointMismatch(
            f"chain {self.chain_id}: batch starts at {batch.from_block} but the checkpoint is {indexed}"
        )

    def _load(self, conn: Connection, table_name: str, keys: Iterable[Key]) -> dict[Key, Row | None]:
        keys = list(keys)
        found: dict[Key, Row | None] = dict.fromkeys(keys)
        key_names = STATE_KEYS[table_name]
        if self.bulk_path == "bulk":
            rows = self._bulk.load(conn, table_name, chain_id=self.chain_id, key=key_names, keys=keys)
        else:
            rows = self._load_rows(conn, table_name, keys)
        for row in rows:
            found[tuple(row[c] for c in key_names)] = row
        return found

    def _load_rows(self, conn: Connection, table_name: str, keys: list[Key]) -> list[Row]:
        """The reference path of :meth:`_load`: SQLAlchemy Core selects."""
        table = _T[table_name]
        key_columns = [table.c[c] for c in STATE_KEYS[table_name]]
        out: list[Row] = []
        for start in range(0, len(keys), _LOAD_CHUNK):
            chunk = keys[start : start + _LOAD_CHUNK]
            if len(key_columns) == 1 and self._dialect == "postgresql":
                # One array parameter: PostgreSQL parses and plans `= ANY($1)` far faster than a long IN list.
                values = [k[0] for k in chunk]
                condition = key_columns[0] == any_(
                    bindparam("keys", value=values, type_=ARRAY(key_columns[0].type))
                )
            elif len(key_columns) == 1:
                condition = key_columns[0].in_([k[0] for k in chunk])
            else:
                condition = tuple_(*key_columns).in_(chunk)
            out.extend(
                dict(row)
                for row in conn.execute(
                    select(table).where(table.c.chain_id == self.chain_id, condition)
                ).mappings()
            )
        return out

    def log_rows(self, logs: Sequence[DecodedLog]) -> list[tuple[Row, Row | None]]:
        """The ``events`` row and ``changes`` apply row (or None) of each log (:meth:`Projector.log_rows`, args
        encoded for the bulk path). Needs no database: callers may build them ahead, outside the transaction."""
        log_rows, encoded = self._projector.log_rows, self.bulk_path == "bulk"
        return [log_rows(log, encoded=encoded) for log in logs]

    def _project(self, conn: Connection, batch: Batch) -> _Pending:
        """Load the state rows ``batch`` overwrites and build, with the projection table, everything it writes."""
        projector = self._projector
        hits = [projector.touched(log) for log in batch.logs]
        touched: dict[str, set[Key]] = {}
        for hit in hits:
            if hit is not None:
                touched.setdefault(hit[0], set()).add(hit[1])
        p = _Pending()
        for table_name, keys in touched.items():
            p.current[table_name] = self._load(conn, table_name, keys)
            p.changed[table_name] = set()

        undo_seen: set[tuple[int, str, Key]] = set()
        rows = batch.rows if batch.rows is not None else self.log_rows(batch.logs)
        for log, hit, (event, change) in zip(batch.logs, hits, rows, strict=True):
            p.events.append(event)
            if change is not None:
                p.changes.append(change)
            if hit is None:
                continue
            table_name, key = hit
            state = p.current[table_name]
            previous = state[key]
            if log.block_number >= batch.undo_from and (log.block_number, table_name, key) not in undo_seen:
                undo_seen.add((log.block_number, table_name, key))
                p.undo.append(
                    {
                        "chain_id": self.chain_id,
                        "block_number": log.block_number,
                        "table_name": table_name,
                        "key": dict(zip(STATE_KEYS[table_name], key, strict=True)),
                        "previous": previous,
                    }
                )
            state[key] = projector.next_row(log, key, previous)
            history = projector.history_row(log, key)
            if history is not None:
                p.history.append(history)
            p.changed[table_name].add(key)
        return p

    def _write(self, conn: Connection, batch: Batch, p: _Pending) -> None:
        self._bulk_insert(
            conn, "events", p.events, conflict="nothing", key=["chain_id", "block_number", "log_index"]
        )
        p.events.clear()  # written: free the batch's event rows before the rest (peak RSS of a backfill)
        self._bulk_insert(conn, "bond_history", p.history, conflict="nothing")
        for table_name, keys in p.changed.items():
            state = p.current[table_name]
            upserts = [row for k in keys if (row := state[k]) is not None]
            deletes = [k for k in keys if state[k] is None]
            self._bulk_insert(
                conn, table_name, upserts, conflict="update", key=["chain_id", *STATE_KEYS[table_name]]
            )
            self._delete(conn, table_name, deletes)
        self._bulk_insert(conn, "undo_log", p.undo)
        self._remember_blocks(conn, batch)
        self._advance_checkpoint(conn, batch)
        self._append_changes(conn, p.changes, blocks=(batch.from_block, batch.to_block))

    def _append_changes(
        self, conn: Connection, rows: list[Row], *, blocks: tuple[int, int] | None = None
    ) -> None:
        """Append change rows, last in the transaction (on PostgreSQL under :data:`CHANGES_LOCK_KEY`, held to
        the commit; SQLite has one writer at a time anyway). A row already there (same event, action and
        occurrence) is skipped. ``blocks``: the block range the rows lie in, when the caller knows it."""
        if not rows:
            return
        self._number_occurrences(conn, [row for row in rows if row["action"] == "apply"], blocks)
        if self._dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHANGES_LOCK_KEY})
        self._bulk_insert(
            conn,
            "changes",
            rows,
            conflict="nothing",
            key=["chain_id", "block_number", "block_hash", "log_index", "action", "occurrence"],
        )

    def _number_occurrences(
        self, conn: Connection, rows: list[Row], blocks: tuple[int, int] | None = None
    ) -> None:
        """An apply row's occurrence is how often its event was rolled back before (a chain that returns to a
        branch it left re-applies the same block hash). Rollback rows are rare: one indexed range read."""
        if not rows:
            return
        low, high = blocks or (
            min(row["block_number"] for row in rows),
            max(row["block_number"] for row in rows),
        )
        changes = _T["changes"]
        rolled_back = conn.execute(
            select(changes.c.block_hash, changes.c.log_index, func.count())
            .where(
                changes.c.chain_id == self.chain_id,
                changes.c.action == "rollback",
                changes.c.block_number >= low,
                changes.c.block_number <= high,
            )
            .group_by(changes.c.block_hash, changes.c.log_index)
        ).all()
        counts = {(block_hash, log_index): count for block_hash, log_index, count in rolled_back}
        if not counts:
            return  # the rows say 0 already (Projector.log_rows)
        for row in rows:
            row["occurrence"] = counts.get((row["block_hash"], row["log_index"]), 0)

    def _bulk_insert(
        self,
        conn: Connection,
        table_name: str,
        rows: list[Row],
        *,
        conflict: Literal["nothing", "update"] | None = None,
        key: list[str] | None = None,
    ) -> None:
        """Insert ``rows``; on a key conflict do nothing or overwrite the other columns (:attr:`bulk_path`)."""
        if self.bulk_path == "bulk":
            self._bulk.insert(conn, table_name, rows, conflict=conflict, key=key or ())
        else:
            self._bulk_insert_rows(conn, table_name, rows, conflict=conflict, key=key)

    def _bulk_insert_rows(
        self,
        conn: Connection,
        table_name: str,
        rows: list[Row],
        *,
        conflict: str | None = None,
        key: list[str] | None = None,
    ) -> None:
        """The reference path: one SQLAlchemy Core ``executemany`` of dicts.

        (SQLite runs it in its C loop; psycopg pipelines the statements. Multi-row ``VALUES`` was measured slower
        on PostgreSQL: SQLAlchemy recompiles each large statement.)
        """
        if not rows:
            return
        table = _T[table_name]
        stmt = self._insert(table)
        if conflict == "nothing":
            stmt = stmt.on_conflict_do_nothing(index_elements=key)
        elif conflict == "update":
            assert key is not None
            stmt = stmt.on_conflict_do_update(
                index_elements=key,
                set_={c.name: stmt.excluded[c.name] for c in table.c if c.name not in key},
            )
        conn.execute(stmt, rows)

    def _delete(self, conn: Connection, table_name: str, keys: list[Key]) -> None:
        if not keys:
            return
        table = _T[table_name]
        columns = STATE_KEYS[table_name]
        stmt = delete(table).where(
            and_(table.c.chain_id == self.chain_id, *(table.c[c] == bindparam(f"k_{c}") for c in columns))
        )
        conn.execute(stmt, [{f"k_{c}": v for c, v in zip(columns, k, strict=True)} for k in keys])

    def _remember_blocks(self, conn: Connection, batch: Batch) -> None:
        blocks = _T["blocks"]
        if batch.headers:
            self._bulk_insert(
                conn,
                "blocks",
                conflict="update",
                key=["chain_id", "number"],
                rows=[
                    {
                        "chain_id": self.chain_id,
                        "number": h.number,
                        "hash": h.hash,
                        "parent_hash": h.parent_hash,
                        "timestamp": h.timestamp,
                    }
                    for h in batch.headers
                ],
            )
        floor = batch.to_block - self.window
        conn.execute(delete(blocks).where(blocks.c.chain_id == self.chain_id, blocks.c.number < floor))
        undo = _T["undo_log"]
        conn.execute(delete(undo).where(undo.c.chain_id == self.chain_id, undo.c.block_number <= floor))

    def _advance_checkpoint(self, conn: Connection, batch: Batch) -> None:
        table = _T["chains"]
        values: dict[str, Any] = {
            "indexed_block": batch.to_block,
            "indexed_block_hash": batch.to_hash,
            "indexed_block_timestamp": batch.to_timestamp,
            "updated_at": datetime.now(UTC),
        }
        if batch.status is not None:
            values["status"] = batch.status
        values.update(_tip_values(batch.tips))
        conn.execute(update(table).where(table.c.chain_id == self.chain_id).values(**values))

    # --- reorgs ------------------------------------------------------------------------------------------------

    def rollback(self, *, fork_block: int, fork_hash: str, fork_timestamp: int | None = None) -> int:
        """Undo every block after ``fork_block`` (one transaction). Returns how many blocks were removed (0 when
        the checkpoint is the fork already: a retry after a lost commit acknowledgement)."""
        chains, undo = _T["chains"], _T["undo_log"]
        with self.engine.begin() as conn:
            self.lock.fence(conn)
            indexed, indexed_hash = conn.execute(
                select(chains.c.indexed_block, chains.c.indexed_block_hash).where(
                    chains.c.chain_id == self.chain_id
                )
            ).one()
            if indexed == fork_block and (indexed_hash or "") == fork_hash:
                return 0
            entries = conn.execute(
                select(undo.c.table_name, undo.c.key, undo.c.previous)
                .where(undo.c.chain_id == self.chain_id, undo.c.block_number > fork_block)
                .order_by(undo.c.id.desc())
            ).all()
            for table_name, key, previous in entries:
                self._restore(conn, table_name, key, previous)
            self._append_changes(conn, self._rollback_changes(conn, fork_block))
            for table_name in (*APPEND_TABLES, "undo_log"):
                table = _T[table_name]
                conn.execute(
                    delete(table).where(table.c.chain_id == self.chain_id, table.c.block_number > fork_block)
                )
            blocks = _T["blocks"]
            conn.execute(
                delete(blocks).where(blocks.c.chain_id == self.chain_id, blocks.c.number > fork_block)
            )
            depth = (indexed or fork_block) - fork_block
            conn.execute(
                update(chains)
                .where(chains.c.chain_id == self.chain_id)
                .values(
                    indexed_block=fork_block,
                    indexed_block_hash=fork_hash,
                    indexed_block_timestamp=fork_timestamp,
                    reorg_count=chains.c.reorg_count + 1,
                    updated_at=datetime.now(UTC),
                )
            )
            conn.execute(
                insert(_T["reorgs"]).values(
                    chain_id=self.chain_id,
                    fork_block=fork_block,
                    old_indexed_block=indexed,
                    depth=depth,
                    detected_at=datetime.now(UTC),
                )
            )
        return depth

    def _rollback_changes(self, conn: Connection, fork_block: int) -> list[Row]:
        """One rollback row per apply row of a block after ``fork_block`` not rolled back yet, newest first."""
        changes = _T["changes"]
        undone = changes.alias("undone")
        applied = conn.execute(
            select(changes)
            .where(
                changes.c.chain_id == self.chain_id,
                changes.c.block_number > fork_block,
                changes.c.action == "apply",
                ~exists().where(undone.c.ref_id == changes.c.id),
            )
            .order_by(changes.c.id.desc())
        ).mappings()
        return [
            {**{k: v for k, v in row.items() if k != "id"}, "action": "rollback", "ref_id": row["id"]}
            for row in applied
        ]

    def _restore(self, conn: Connection, table_name: str, key: dict[str, Any], previous: Row | None) -> None:
        table = _T[table_name]
        conn.execute(
            delete(table).where(
                table.c.chain_id == self.chain_id, *(table.c[c] == key[c] for c in STATE_KEYS[table_name])
            )
        )
        if previous is not None:
            conn.execute(insert(table), [previous])


class ContractsChanged(UserError, RuntimeError):
    """The configuration names other contracts than the ones this database was indexed from."""


def _tip_values(tips: Tips | None) -> dict[str, Any]:
    if tips is None:
        return {}
    values = {
        "head_block": tips.head,
        "safe_block": tips.safe,
        "finalized_block": tips.finalized,
        "head_seen_at": tips.seen_at,
        "block_time": tips.block_time,
    }
    return {k: v for k, v in values.items() if v is not None}


def count_rows(engine: Engine, table_name: str, chain_id: int) -> int:
    table = _T[table_name]
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(table).where(table.c.chain_id == chain_id)
            ).scalar_one()
        )
