"""How the writer's rows reach the tables in bulk, below SQLAlchemy's per-row machinery.

:class:`~indexer.store.writer.ChainWriter` builds rows as dicts (the projection's table); inserting them through
SQLAlchemy Core costs more than the database itself (per row: parameter dicts, type processors, compiled
parameter sets). This module turns the rows into plain tuples once, with the column types' conversions done here
(``Uint256``: zero-padded text on SQLite, an integer for PostgreSQL; ``JSON``: ``json.dumps``, as SQLAlchemy's
JSON type does), and sends them with one statement per table:

- SQLite: ``executemany`` of one prepared ``INSERT … ON CONFLICT`` (the sqlite3 module's C loop);
- PostgreSQL, plain inserts (``undo_log``) and append-only tables (``events``, ``bond_history``, ``changes``):
  ``COPY … FROM STDIN`` through psycopg's ``cursor.copy()``, for the append-only tables inside a savepoint:
  should a row already exist (never, while the checkpoint invariant holds), the savepoint is rolled back and
  the rows go through ``INSERT … ON CONFLICT DO NOTHING``, so the outcome is the same as the row-by-row path's;
- PostgreSQL, state tables (upserts): ``COPY`` into a temporary table of this transaction, then one
  ``INSERT … SELECT … ON CONFLICT DO UPDATE``;
- PostgreSQL, fewer than :data:`COPY_MIN_ROWS` rows (following the head): ``executemany`` (psycopg pipelines it).

Every statement runs on the caller's connection, inside its transaction (after the chain's fence). The result is
the same as :meth:`ChainWriter._bulk_insert_rows`, the SQLAlchemy Core path kept as the reference: a test
backfills through both and compares every table (``tests/store/test_bulk_paths.py``).
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from sqlalchemy import JSON, Table
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import IntegrityError

from indexer.store.projection import Encoded
from indexer.store.types import UINT256_DIGITS, UINT256_MAX, Uint256

Conflict = Literal["nothing", "update"] | None
Row = dict[str, Any]
Key = tuple[Any, ...]

#: Keys per SELECT when loading the rows a batch overwrites.
LOAD_CHUNK = 500

#: Tables whose rows are only ever appended (or deleted by a rollback): COPY on PostgreSQL.
COPY_TABLES = frozenset({"events", "bond_history", "changes"})
#: Fewer rows than this (following the head: a block or two) go through ``executemany`` on PostgreSQL too:
#: a COPY, and for upserts a temporary table, cost more than they save on a handful of rows.
COPY_MIN_ROWS = 100


def encode_json(value: Any) -> str:
    """A JSON column's value as text: ``json.dumps``, as SQLAlchemy's JSON type does (Python ints of any size)."""
    return value if type(value) is Encoded else json.dumps(value)


def _uint256_sqlite(value: Any) -> Any:
    if value is None:
        return None
    number = int(value)
    if not 0 <= number <= UINT256_MAX:
        raise ValueError(f"not a uint256: {value!r}")
    return f"{number:0{UINT256_DIGITS}d}"


def _uint256_postgresql(value: Any) -> Any:
    if value is None:
        return None
    number = int(value)
    if not 0 <= number <= UINT256_MAX:
        raise ValueError(f"not a uint256: {value!r}")
    return number


def _json(value: Any) -> Any:
    return None if value is None else encode_json(value)


def _single(name: str) -> Callable[[Row], tuple[Any, ...]]:
    return lambda row: (row[name],)


@dataclass(frozen=True)
class _Plan:
    """One table's bulk statements for one dialect, and how a row dict becomes a tuple."""

    columns: tuple[str, ...]
    getter: Callable[[Row], tuple[Any, ...]]
    converters: tuple[tuple[int, Callable[[Any], Any]], ...]
    insert_sql: dict[Conflict, str]
    copy_sql: str
    stage_sql: str
    stage_copy_sql: str
    from_stage_sql: dict[Conflict, str]
    unstage_sql: str

    def tuples(self, rows: Sequence[Row]) -> list[tuple[Any, ...]]:
        getter = self.getter
        if not self.converters:
            return [getter(row) for row in rows]
        if self.json_only:
            # `events` and `changes` of a batch: their one JSON column holds args encoded already (Encoded), which
            # `_json` returns as they are; only other values (a rollback's args read back) go through it.
            index = self.converters[0][0]
            return [
                values if type(values[index]) is Encoded else self._convert(values)
                for values in map(getter, rows)
            ]
        return [self._convert(getter(row)) for row in rows]

    def _convert(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        values = list(row)
        for index, convert in self.converters:
            values[index] = convert(values[index])
        return tuple(values)

    @property
    def json_only(self) -> bool:
        return len(self.converters) == 1 and self.converters[0][1] is _json


class BulkWriter:
    """Bulk inserts for the tables of one engine's dialect (``sqlite`` or ``postgresql``)."""

    def __init__(self, dialect: Dialect, tables: dict[str, Table]) -> None:
        self.dialect = dialect
        self.name = dialect.name
        self._tables = tables
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan] = {}

    def insert(
        self,
        conn: Connection,
        table_name: str,
        rows: Sequence[Row],
        *,
        conflict: Conflict = None,
        key: Sequence[str] = (),
    ) -> None:
        """Insert ``rows`` (dicts with every non-autoincrement column of the table); on a conflict on ``key`` do
        nothing or overwrite the other columns."""
        if not rows:
            return
        plan = self._plan(table_name, tuple(key))
        values = plan.tuples(rows)
        if self.name != "postgresql" or len(values) < COPY_MIN_ROWS:
            conn.exec_driver_sql(plan.insert_sql[conflict], values)
        elif conflict is None or (table_name in COPY_TABLES and conflict == "nothing"):
            self._copy(conn, plan, values, conflict)
        else:
            self._staged(conn, plan, values, conflict)

    def load(
        self, conn: Connection, table_name: str, *, chain_id: int, key: Sequence[str], keys: Sequence[Key]
    ) -> list[Row]:
        """The rows of ``chain_id`` in ``table_name`` whose ``key`` columns equal one of ``keys``, as the Core
        path reads them (each column's SQLAlchemy result processor applied: ``Uint256`` as int, booleans)."""
        table = self._tables[table_name]
        columns = [c.name for c in table.c]
        processors = [
            (index, processor)
            for index, column in enumerate(table.c)
            if (processor := column.type.result_processor(self.dialect, None)) is not None
        ]
        binds = [table.c[c].type.bind_processor(self.dialect) for c in key]
        if any(binds):  # the stored form of a key (a Uint256 coin type: zero-padded text on SQLite)
            keys = [
                tuple(v if bind is None else bind(v) for v, bind in zip(k, binds, strict=True)) for k in keys
            ]
        quote = self.dialect.identifier_preparer.quote
        pg = self.name == "postgresql"
        marker = "%s" if pg else "?"
        head = f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(table.name)} WHERE chain_id = {marker}"
        out: list[Row] = []
        for start in range(0, len(keys), LOAD_CHUNK):
            chunk = keys[start : start + LOAD_CHUNK]
            if len(key) == 1 and pg:
                sql, params = f"{head} AND {quote(key[0])} = ANY(%s)", (chain_id, [k[0] for k in chunk])
            elif len(key) == 1:
                sql = f"{head} AND {quote(key[0])} IN ({', '.join([marker] * len(chunk))})"
                params = (chain_id, *(k[0] for k in chunk))
            else:
                row = f"({', '.join([marker] * len(key))})"
                target = f"({', '.join(quote(c) for c in key)})"
                sql = f"{head} AND {target} IN (VALUES {', '.join([row] * len(chunk))})"
                params = (chain_id, *(v for k in chunk for v in k))
            for found in conn.exec_driver_sql(sql, params):
                values = list(found)
                for index, processor in processors:
                    values[index] = processor(values[index])
                out.append(dict(zip(columns, values, strict=True)))
        return out

    def _copy(self, conn: Connection, plan: _Plan, values: list[tuple[Any, ...]], conflict: Conflict) -> None:
        if conflict is None:
            self._copy_rows(conn, plan.copy_sql, values)
            return
        try:
            with conn.begin_nested():
                self._copy_rows(conn, plan.copy_sql, values)
        except (IntegrityError, psycopg.IntegrityError):  # a row is there: let ON CONFLICT DO NOTHING skip it
            conn.exec_driver_sql(plan.insert_sql[conflict], values)

    def _staged(
        self, conn: Connection, plan: _Plan, values: list[tuple[Any, ...]], conflict: Conflict
    ) -> None:
        """COPY into a temporary table made for this transaction (dropped at its end, commit or rollback), then
        one ``INSERT … SELECT … ON CONFLICT``."""
        conn.exec_driver_sql(plan.stage_sql)
        self._copy_rows(conn, plan.stage_copy_sql, values)
        conn.exec_driver_sql(plan.from_stage_sql[conflict])
        conn.exec_driver_sql(plan.unstage_sql)

    @staticmethod
    def _copy_rows(conn: Connection, sql: str, values: list[tuple[Any, ...]]) -> None:
        driver = conn.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            for row in values:
                copy.write_row(row)

    def _plan(self, table_name: str, key: tuple[str, ...]) -> _Plan:
        found = self._plans.get((table_name, key))
        if found is None:
            found = self._plans[(table_name, key)] = self._make_plan(table_name, key)
        return found

    def _make_plan(self, table_name: str, key: tuple[str, ...]) -> _Plan:
        table = self._tables[table_name]
        auto = table.autoincrement_column
        columns = tuple(c.name for c in table.c if c is not auto)
        quote = self.dialect.identifier_preparer.quote
        pg = self.name == "postgresql"
        converters = []
        for index, name in enumerate(columns):
            column_type = table.c[name].type
            if isinstance(column_type, Uint256):
                converters.append((index, _uint256_postgresql if pg else _uint256_sqlite))
            elif isinstance(column_type, JSON):
                converters.append((index, _json))
        names = ", ".join(quote(c) for c in columns)
        into = f"INSERT INTO {quote(table.name)} ({names})"
        target = f"({', '.join(quote(c) for c in key)})" if key else ""
        updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in columns if c not in key)
        tails: dict[Conflict, str] = {
            None: "",
            "nothing": f" ON CONFLICT {target} DO NOTHING",
            "update": f" ON CONFLICT {target} DO UPDATE SET {updates}",
        }
        marker = "%s" if pg else "?"
        values = f" VALUES ({', '.join([marker] * len(columns))})"
        stage = quote(f"_bulk_{table.name}")
        getter: Callable[[Row], tuple[Any, ...]] = operator.itemgetter(*columns)
        if len(columns) == 1:  # itemgetter of one item returns the value, not a tuple
            getter = _single(columns[0])
        return _Plan(
            columns=columns,
            getter=getter,
            converters=tuple(converters),
            insert_sql={conflict: into + values + tail for conflict, tail in tails.items()},
            copy_sql=f"COPY {quote(table.name)} ({names}) FROM STDIN",
            stage_sql=(
                f"CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS SELECT {names} FROM {quote(table.name)} "
                "WITH NO DATA"
            ),
            stage_copy_sql=f"COPY {stage} ({names}) FROM STDIN",
            from_stage_sql={
                conflict: f"{into} SELECT {names} FROM {stage}{tail}" for conflict, tail in tails.items()
            },
            unstage_sql=f"DROP TABLE {stage}",
        )
