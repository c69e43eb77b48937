"""The eligibility state in memory: every chain's checkpoint and parent name, minimum, bond, name owner and the
address records a name resolves through, kept exact from the change feed.

An eligibility question, by address or by name, one pair or a batch, then costs a few dictionary lookups on the
event loop instead of a thread hop and database reads (bench/api). The copy is exact, not a cache that may be
wrong for a while:

- It is loaded in one snapshot transaction (chains, `min_deposits`, `bonds`, `names`, the `addr_records` of the
  coin types `addr(node)` reads, and the change feed's last id), so it *is* the database at that snapshot.
- Every `refresh_interval` it reads, again in one snapshot, the chains' rows and the change rows after its last
  id, then re-reads the rows those changes name: `min_deposits` and `bonds` by recipient and pair, `names` and
  `addr_records` by `node` (a rollback row names the same keys as the apply row it undoes). Every write the
  indexer makes to those tables writes a change row in the same transaction (`indexer.store.writer`, `Change`;
  which kinds write which table is `indexer.store.projection`'s table), and change ids become visible in
  increasing order on both backends, so the rows not named are unchanged: after the update the copy is the
  database at the new snapshot.
- The update is applied on the event loop in one step, under `lock()`: a single answer (computed without
  awaiting) and a batch (computed in slices, holding the lock) each see one snapshot, whole.
- When the change feed's last id is below the copy's (a restored or replaced database), when a chain appears or
  goes, or when more than `max_delta` changes arrived at once, the copy is loaded again instead.
- A refresh that changes nothing an answer reads keeps the snapshot, with its `memo` of answers already written.
- On a SQLite file, a refresh first asks whether anything was committed since the last one (`PRAGMA data_version`
  on a read-only connection of its own, and the file's identity, so a file put in its place counts as a commit;
  :class:`CommitProbe`). When nothing was, the copy still is the database and the reads are skipped: an idle API
  then costs a fraction of a percent of a core instead of a snapshot read 50 times a second. Every
  `FULL_READ_EVERY` seconds it reads anyway. PostgreSQL has no such cheap question: it is read every time.

A single answer may trail the database by up to one `refresh_interval` (the setting says so). A batch first calls
`catch_up()`: one read of the change feed's last id, and an update when the copy is behind it, so a batch is never
older than the database was when it arrived, as when it read the database. The client's `EligibilityCache` relies on
that: it re-fetches pairs in a batch after a change the stream gave it, and must get that change's effect.

`snapshot()` returns None while the copy is not loaded or when its last successful refresh is older than
`max_age` (database unreachable, refresh failing): callers then read the database as before, so the copy never
answers older than that. Answers carry the copy's snapshot (the chains' indexed block, hash, timestamp and
finality tiers) in their envelopes, as answers read from the database do.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import anyio.to_thread
from sqlalchemy import String, Table, bindparam, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from indexer.api.names import ADDR_COIN_TYPES
from indexer.api.queries.eligibility import BOND_COLUMNS, CHECKPOINT_COLUMNS, BondFacts, Facts
from indexer.api.queries.envelope import ChainRow, envelope
from indexer.api.schemas import Finality
from indexer.store.db import snapshot_session
from indexer.store.models import AddrRecord, Bond, Chain, Change, MinDeposit, Name
from indexer.store.projection import PROJECTIONS, kinds_touching

log = logging.getLogger(__name__)

_CHAINS: Table = Chain.__table__  # type: ignore[attr-defined]
_MINS: Table = MinDeposit.__table__  # type: ignore[attr-defined]
_BONDS: Table = Bond.__table__  # type: ignore[attr-defined]
_CHANGES: Table = Change.__table__  # type: ignore[attr-defined]
_NAMES: Table = Name.__table__  # type: ignore[attr-defined]
_ADDRS: Table = AddrRecord.__table__  # type: ignore[attr-defined]

#: The change kinds that write `min_deposits` or `bonds` (the projection table's bond and price events).
DEPOSIT_KINDS = kinds_touching("bond") | kinds_touching("price")
(PRICE_KIND,) = kinds_touching("price")


def _kinds_writing(table: str) -> frozenset[str]:
    return frozenset(p.change for p in PROJECTIONS.values() if p.table == table and p.change is not None)


#: The change kinds that write `names` rows, and `addr_records` rows (each names its row by `node`).
NAME_KINDS = _kinds_writing("names")
ADDR_KINDS = _kinds_writing("addr_records")

_CHAIN_ROWS = select(*CHECKPOINT_COLUMNS).order_by(_CHAINS.c.chain_id)
_CHAIN_PARENTS = select(_CHAINS.c.chain_id, _CHAINS.c.parent_name).order_by(_CHAINS.c.chain_id)
_LAST_CHANGE = select(func.coalesce(func.max(_CHANGES.c.id), 0))
_ALL_MINS = select(_MINS.c.chain_id, _MINS.c.recipient, _MINS.c.amount, _MINS.c.block_number)
_ALL_BONDS = select(*BOND_COLUMNS)
_CHANGES_AFTER = (
    select(
        _CHANGES.c.id,
        _CHANGES.c.chain_id,
        _CHANGES.c.kind,
        _CHANGES.c.sender,
        _CHANGES.c.recipient,
        _CHANGES.c.node,
    )
    .where(_CHANGES.c.id > bindparam("after"))
    .order_by(_CHANGES.c.id)
    .limit(bindparam("limit"))
)
_MIN_OF = select(_MINS.c.amount, _MINS.c.block_number).where(
    _MINS.c.chain_id == bindparam("chain_id"), _MINS.c.recipient == bindparam("recipient", type_=String())
)
_BOND_OF = select(*BOND_COLUMNS).where(
    _BONDS.c.chain_id == bindparam("chain_id"),
    _BONDS.c.sender == bindparam("sender", type_=String()),
    _BONDS.c.recipient == bindparam("recipient", type_=String()),
)
_ALL_NAMES = select(_NAMES.c.chain_id, _NAMES.c.node, _NAMES.c.owner)
_ALL_ADDRS = select(_ADDRS.c.chain_id, _ADDRS.c.node, _ADDRS.c.coin_type, _ADDRS.c.address).where(
    _ADDRS.c.coin_type.in_(ADDR_COIN_TYPES)
)
_OWNER_OF = select(_NAMES.c.owner).where(
    _NAMES.c.chain_id == bindparam("chain_id"), _NAMES.c.node == bindparam("node", type_=String())
)
_ADDRS_OF = select(_ADDRS.c.coin_type, _ADDRS.c.address).where(
    _ADDRS.c.chain_id == bindparam("chain_id"),
    _ADDRS.c.node == bindparam("node", type_=String()),
    _ADDRS.c.coin_type.in_(ADDR_COIN_TYPES),
)

_TIERS: tuple[Finality, ...] = ("latest", "safe", "finalized")
MinKey = tuple[int, str]
BondKey = tuple[int, str, str]
NodeKey = tuple[int, str]  # (chain_id, node)
AddrKey = tuple[int, str, int]  # (chain_id, node, coin_type)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: Answers a snapshot keeps written (see `Memo`); about 1 kB each.
MEMO_SIZE = 16_384


class Memo(Generic[K, V]):
    """Values computed from one snapshot, kept while it lasts, up to `size` of them: when full, it starts again
    empty (evicting one at a time from the front of a dict leaves it holes that every later lookup and eviction
    steps over, which cost more than the answers it saved).

    Nothing else invalidates an entry: a snapshot's data never changes while it is served (a refresh that changes
    anything makes a new snapshot, with a new memo)."""

    __slots__ = ("_values", "size")

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self.size = size
        self._values: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        return self._values.get(key)

    def put(self, key: K, value: V) -> V:
        values = self._values
        if len(values) >= self.size:
            values.clear()
        values[key] = value
        return value

    def __len__(self) -> int:
        return len(self._values)


@dataclass(frozen=True, slots=True)
class ParentName:
    """A chain's parent name (`names.chain_for_name` picks the chain of a name by it)."""

    chain_id: int
    parent_name: str


@dataclass(frozen=True, slots=True)
class NameFacts:
    """Every `names` row's owner, and every address record of the coin types `addr(node)` reads."""

    owners: dict[NodeKey, str]
    addresses: dict[AddrKey, str]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the copy holds at one snapshot of the database."""

    chains: tuple[ChainRow, ...]
    parents: tuple[ParentName, ...]
    facts: Facts  # every minimum and every bond
    names: NameFacts
    last_change: int  # the change feed's last id at the snapshot
    #: Each chain's envelope as JSON, by finality tier (what the answers' `envelope` fields are, encoded once).
    envelopes: dict[int, dict[Finality, str]]
    #: Answers written from this snapshot, by request (`indexer.api.memory`): kept while the snapshot is served.
    memo: Memo[Hashable, Any] = field(default_factory=Memo, compare=False)
    #: A chain's part of an answer for a sender without a bond there, and its verdict, by (chain id, the
    #: recipient's minimum, min_finality): the same for every such sender (`indexer.api.memory.pair_json`).
    strangers: Memo[Hashable, Any] = field(default_factory=Memo, compare=False)

    @classmethod
    def of(
        cls,
        chains: tuple[ChainRow, ...],
        parents: tuple[ParentName, ...],
        facts: Facts,
        names: NameFacts,
        last_change: int,
        *,
        envelopes: dict[int, dict[Finality, str]] | None = None,
    ) -> Snapshot:
        if envelopes is None:
            envelopes = {
                chain.chain_id: {tier: envelope(chain, tier).model_dump_json() for tier in _TIERS}
                for chain in chains
            }
        return cls(
            chains=chains,
            parents=parents,
            facts=facts,
            names=names,
            last_change=last_change,
            envelopes=envelopes,
        )


@dataclass(frozen=True, slots=True)
class _Delta:
    """One refresh read: the chains' rows, the new last change id and the current rows of the keys it named."""

    chains: tuple[ChainRow, ...]
    parents: tuple[ParentName, ...]
    last_change: int
    minimums: dict[MinKey, tuple[int, int] | None]  # None: the row is gone
    bonds: dict[BondKey, BondFacts | None]
    owners: dict[NodeKey, str | None]
    addresses: dict[AddrKey, str | None]

    @property
    def empty(self) -> bool:
        """No row an answer reads was named."""
        return not (self.minimums or self.bonds or self.owners or self.addresses)


def _bond(amount: Any, accepted: Any, unlock: Any, block: int) -> BondFacts:
    # Driver values: a Uint256 is a zero-padded string on SQLite and a Decimal on PostgreSQL; int() takes both.
    return BondFacts(
        amount=int(amount),
        accepted=bool(accepted),
        unlock_time=int(unlock) if unlock is not None else None,
        block_number=block,
    )


def _chains(session: Session) -> tuple[tuple[ChainRow, ...], tuple[ParentName, ...]]:
    chains = tuple(ChainRow(*row) for row in session.execute(_CHAIN_ROWS))
    parents = tuple(
        ParentName(chain_id, parent or "") for chain_id, parent in session.execute(_CHAIN_PARENTS)
    )
    return chains, parents


def read_all(engine: Engine) -> Snapshot:
    """Every chain, minimum and bond, and the change feed's last id, in one snapshot."""
    with snapshot_session(engine) as session:
        last_change = int(session.execute(_LAST_CHANGE).scalar_one())
        chains, parents = _chains(session)
        minimums = {
            (chain_id, recipient): (int(amount), block)
            for chain_id, recipient, amount, block in session.execute(_ALL_MINS)
        }
        bonds = {
            (chain_id, sender, recipient): _bond(amount, accepted, unlock, block)
            for chain_id, sender, recipient, amount, accepted, unlock, block in session.execute(_ALL_BONDS)
        }
        owners = {(chain_id, node): owner for chain_id, node, owner in session.execute(_ALL_NAMES)}
        addresses = {
            (chain_id, node, int(coin_type)): address
            for chain_id, node, coin_type, address in session.execute(_ALL_ADDRS)
        }
    facts = Facts(minimums=minimums, bonds=bonds)
    return Snapshot.of(chains, parents, facts, NameFacts(owners=owners, addresses=addresses), last_change)


def _last_change(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(_LAST_CHANGE).scalar_one())


def read_delta(engine: Engine, *, after: int, max_delta: int) -> _Delta | None:
    """The chains, and the rows named by the changes after `after`, in one snapshot; None when the copy must be
    loaded again (the feed went back, or more than `max_delta` changes)."""
    with snapshot_session(engine) as session:
        last_change = int(session.execute(_LAST_CHANGE).scalar_one())
        if last_change < after:
            return None
        chains, parents = _chains(session)
        min_keys: set[MinKey] = set()
        bond_keys: set[BondKey] = set()
        name_keys: set[NodeKey] = set()
        addr_keys: set[NodeKey] = set()
        if last_change > after:
            rows = list(session.execute(_CHANGES_AFTER, {"after": after, "limit": max_delta + 1}))
            if len(rows) > max_delta or rows[-1][0] != last_change:
                return None
            for _, chain_id, kind, sender, recipient, node in rows:
                if kind in NAME_KINDS and node is not None:
                    name_keys.add((chain_id, node))
                elif kind in ADDR_KINDS and node is not None:
                    addr_keys.add((chain_id, node))
                elif kind not in DEPOSIT_KINDS or recipient is None:
                    continue
                elif kind == PRICE_KIND:
                    min_keys.add((chain_id, recipient))
                elif sender is not None:
                    bond_keys.add((chain_id, sender, recipient))
        minimums: dict[MinKey, tuple[int, int] | None] = {}
        for chain_id, recipient in min_keys:
            row = session.execute(_MIN_OF, {"chain_id": chain_id, "recipient": recipient}).first()
            minimums[(chain_id, recipient)] = (int(row[0]), row[1]) if row is not None else None
        bonds: dict[BondKey, BondFacts | None] = {}
        for chain_id, sender, recipient in bond_keys:
            params = {"chain_id": chain_id, "sender": sender, "recipient": recipient}
            found = session.execute(_BOND_OF, params).first()
            bonds[(chain_id, sender, recipient)] = _bond(*found[3:]) if found is not None else None
        owners: dict[NodeKey, str | None] = {}
        for chain_id, node in name_keys:
            owners[(chain_id, node)] = session.execute(
                _OWNER_OF, {"chain_id": chain_id, "node": node}
            ).scalar()
        addresses: dict[AddrKey, str | None] = {}
        for chain_id, node in addr_keys:
            found_records = dict(session.execute(_ADDRS_OF, {"chain_id": chain_id, "node": node}).all())
            for coin_type in ADDR_COIN_TYPES:
                addresses[(chain_id, node, coin_type)] = found_records.get(coin_type)
    return _Delta(
        chains=chains,
        parents=parents,
        last_change=last_change,
        minimums=minimums,
        bonds=bonds,
        owners=owners,
        addresses=addresses,
    )


def _overwrite(table: dict[Any, Any], rows: dict[Any, Any]) -> None:
    for key, row in rows.items():
        if row is None:
            table.pop(key, None)
        else:
            table[key] = row


def _apply(snapshot: Snapshot, delta: _Delta) -> None:
    _overwrite(snapshot.facts.minimums, delta.minimums)
    _overwrite(snapshot.facts.bonds, delta.bonds)
    _overwrite(snapshot.names.owners, delta.owners)
    _overwrite(snapshot.names.addresses, delta.addresses)


def _chain_ids(chains: Iterable[ChainRow]) -> list[int]:
    return [chain.chain_id for chain in chains]


#: Seconds after which a refresh reads the database although :class:`CommitProbe` saw no commit (a safety net).
FULL_READ_EVERY = 1.0


class CommitProbe:
    """Whether anything was committed to a SQLite file since the last look: its `PRAGMA data_version` on a
    read-only connection of this probe's own (it changes when any other connection, in any process, commits or
    checkpoints), and the file's device and inode (a file moved into its place is a new database). Cheap enough
    for the event loop: it never waits for a lock. Used by one update at a time."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._file: tuple[int, int] | None = None
        self._version: int | None = None

    @classmethod
    def of(cls, engine: Engine) -> CommitProbe | None:
        """A probe of `engine`'s database when it is a SQLite file, else None."""
        url = engine.url
        path = url.database
        if url.get_backend_name() != "sqlite" or not path or path == ":memory:" or path.startswith("file:"):
            return None
        return cls(path)

    def changed(self) -> bool:
        """True when something may have been committed since the previous call (always on the first call, and
        when the file cannot be read: the caller then reads the database, which reports the error)."""
        try:
            stat = os.stat(self.path)
            file = (stat.st_dev, stat.st_ino)
            if self._conn is None or file != self._file:
                self.close()
                self._conn = sqlite3.connect(  # timeout 0: a busy database answers at once (as a commit)
                    f"file:{urllib.parse.quote(self.path)}?mode=ro",
                    uri=True,
                    timeout=0,
                    check_same_thread=False,
                )
                self._file = file
            version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except (OSError, sqlite3.Error):
            self.close()
            return True
        changed, self._version = version != self._version, version
        return changed

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn, self._file, self._version = None, None, None


class EligibilityState:
    """The in-memory copy (see the module docstring). Run `run()` as a task on the serving event loop."""

    def __init__(
        self, engine: Engine, *, refresh_interval: float, max_age: float, max_delta: int = 10_000
    ) -> None:
        self.engine = engine
        self.refresh_interval = refresh_interval
        self.max_age = max_age
        self.max_delta = max_delta
        self._snapshot: Snapshot | None = None
        self._refreshed_at = 0.0  # time.monotonic() of the last successful read
        self._failing = False
        self._lock: asyncio.Lock | None = None
        self._updating: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self.loads = 0  # full loads so far (the first one included)
        self.refreshes = 0
        self.skipped = 0  # refreshes the probe answered (nothing committed since the one before)
        self._probe = CommitProbe.of(engine)
        self._read_at = 0.0  # time.monotonic() of the last successful read of the database
        # That read followed the probe's last question, and so saw every commit before it.
        self._in_sync = False

    def close(self) -> None:
        """Close the commit probe's connection (the copy itself stays readable)."""
        if self._probe is not None:
            self._probe.close()

    def snapshot(self) -> Snapshot | None:
        """The current snapshot, or None when there is none younger than `max_age` (read the database)."""
        if self._snapshot is None or time.monotonic() - self._refreshed_at > self.max_age:
            return None
        return self._snapshot

    def lock(self) -> asyncio.Lock:
        """Held by a reader that awaits while it reads one snapshot (a batch answered in slices), and by an update
        while it changes the snapshot's rows in place: that reader sees none of it. First come, first served, so
        an update waits for at most the readers before it."""
        self._own_locks()
        assert self._lock is not None
        return self._lock

    def _own_locks(self) -> None:
        loop = asyncio.get_running_loop()
        if self._lock_loop is not loop:  # a lock belongs to one event loop
            self._lock, self._updating, self._lock_loop = asyncio.Lock(), asyncio.Lock(), loop

    async def catch_up(self) -> None:
        """Update now if the change feed has moved past the copy (one read of its last id; see the module
        docstring). Database errors propagate."""
        current = self._snapshot
        if current is None:
            return
        last = await anyio.to_thread.run_sync(lambda: _last_change(self.engine))
        if last != current.last_change:
            await self.update()

    @property
    def age(self) -> float | None:
        """Seconds since the last successful read (None before the first)."""
        return None if self._snapshot is None else time.monotonic() - self._refreshed_at

    async def update(self) -> None:
        """One refresh: a delta when possible, else a full load (one at a time). Database errors propagate."""
        self._own_locks()
        assert self._updating is not None
        async with self._updating:
            await self._update()

    async def _update(self) -> None:
        current = self._snapshot
        started = time.monotonic()
        # Asked before the read below, so a commit after the question shows in the next one. The copy is the
        # database when nothing was committed since the last question and the read that followed it succeeded.
        # On the event loop: a stat and a pragma that never waits for a lock (an error counts as a commit).
        unchanged = self._probe is not None and not self._probe.changed()
        if unchanged and self._in_sync and current is not None and started - self._read_at < FULL_READ_EVERY:
            self._refreshed_at = started
            self.skipped += 1
            return
        self._in_sync = False
        if current is not None:
            delta = await anyio.to_thread.run_sync(
                lambda: read_delta(self.engine, after=current.last_change, max_delta=self.max_delta)
            )
            if (
                delta is not None
                and self._snapshot is current
                and _chain_ids(delta.chains) == _chain_ids(current.chains)
            ):
                if delta.empty and (delta.chains, delta.parents) == (current.chains, current.parents):
                    # Nothing an answer reads changed: the same snapshot, its memo of answers kept.
                    self._snapshot = dataclasses.replace(current, last_change=delta.last_change)
                else:
                    async with self.lock():  # on the event loop, no slice of a batch in between
                        _apply(current, delta)
                        self._snapshot = Snapshot.of(
                            delta.chains,
                            delta.parents,
                            current.facts,
                            current.names,
                            delta.last_change,
                            envelopes=current.envelopes if delta.chains == current.chains else None,
                        )
                self._refreshed_at = self._read_at = started
                self._in_sync = True
                self.refreshes += 1
                return
        loaded = await anyio.to_thread.run_sync(lambda: read_all(self.engine))
        self._snapshot = loaded  # new rows: a reader still on the old snapshot keeps its own, untouched
        self._refreshed_at = self._read_at = started
        self._in_sync = True
        self.loads += 1
        # The snapshot's objects (a few per bond, name and record: 60k on the benchmark's database) live until the
        # next full load and hold no reference cycle: out of the cyclic collector's reach, as the app's own heap
        # at startup. Left in, every full collection walked them: 40-75 ms pauses every second or two under
        # batch load, each collecting nothing (bench/api). Freed by reference counting when replaced.
        gc.freeze()

    async def run(self) -> None:
        """Refresh every `refresh_interval` until cancelled; a failing read is logged once and retried."""
        while True:
            try:
                await self.update()
                if self._failing:
                    log.warning("eligibility state: reading the database again")
                self._failing = False
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if not self._failing:
                    log.warning(
                        "eligibility state: cannot read the database (%s); answering from it directly "
                        "once the copy is older than %g s",
                        type(error).__name__,
                        self.max_age,
                    )
                self._failing = True
            await asyncio.sleep(self.refresh_interval)


@contextlib.asynccontextmanager
async def running(state: EligibilityState | None) -> Any:
    """Keep `state` refreshed while the block runs (nothing when None)."""
    if state is None:
        yield
        return
    task = asyncio.create_task(state.run(), name="eligibility-state")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        state.close()
