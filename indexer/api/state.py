"""The eligibility state in memory: every chain's checkpoint, minimum and bond, kept exact from the change feed.

The hot question, one pair of addresses, then costs a few dictionary lookups on the event loop instead of a
thread hop and a database read (bench/api). The copy is exact, not a cache that may be wrong for a while:

- It is loaded in one snapshot transaction (chains, `min_deposits`, `bonds` and the change feed's last id), so it
  *is* the database at that snapshot.
- Every `refresh_interval` it reads, again in one snapshot, the chains' rows and the change rows after its last
  id, then re-reads the `min_deposits` and `bonds` rows those changes name (a rollback row names the same keys
  as the apply row it undoes). Every write the indexer makes to those tables writes a change row in the same
  transaction (`indexer.store.writer`, `Change`), and change ids become visible in increasing order on both
  backends, so the rows not named are unchanged: after the update the copy is the database at the new snapshot.
- The update is applied on the event loop, between two requests, in one step: an answer sees one snapshot, whole.
- When the change feed's last id is below the copy's (a restored or replaced database), when a chain appears or
  goes, or when more than `max_delta` changes arrived at once, the copy is loaded again instead.

`snapshot()` returns None while the copy is not loaded or when its last successful refresh is older than
`max_age` (database unreachable, refresh failing): callers then read the database as before, so the copy never
answers older than that. Answers carry the copy's snapshot (the chains' indexed block, hash, timestamp and
finality tiers) in their envelopes, as answers read from the database do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from sqlalchemy import String, Table, bindparam, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from indexer.api.queries.eligibility import BOND_COLUMNS, CHECKPOINT_COLUMNS, BondFacts, Facts
from indexer.api.queries.envelope import ChainRow, envelope
from indexer.api.schemas import Finality
from indexer.store.db import snapshot_session
from indexer.store.models import Bond, Chain, Change, MinDeposit
from indexer.store.projection import kinds_touching

log = logging.getLogger(__name__)

_CHAINS: Table = Chain.__table__  # type: ignore[attr-defined]
_MINS: Table = MinDeposit.__table__  # type: ignore[attr-defined]
_BONDS: Table = Bond.__table__  # type: ignore[attr-defined]
_CHANGES: Table = Change.__table__  # type: ignore[attr-defined]

#: The change kinds that write `min_deposits` or `bonds` (the projection table's bond and price events).
DEPOSIT_KINDS = kinds_touching("bond") | kinds_touching("price")
(PRICE_KIND,) = kinds_touching("price")

_CHAIN_ROWS = select(*CHECKPOINT_COLUMNS).order_by(_CHAINS.c.chain_id)
_LAST_CHANGE = select(func.coalesce(func.max(_CHANGES.c.id), 0))
_ALL_MINS = select(_MINS.c.chain_id, _MINS.c.recipient, _MINS.c.amount, _MINS.c.block_number)
_ALL_BONDS = select(*BOND_COLUMNS)
_CHANGES_AFTER = (
    select(_CHANGES.c.id, _CHANGES.c.chain_id, _CHANGES.c.kind, _CHANGES.c.sender, _CHANGES.c.recipient)
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

_TIERS: tuple[Finality, ...] = ("latest", "safe", "finalized")
MinKey = tuple[int, str]
BondKey = tuple[int, str, str]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the copy holds at one snapshot of the database."""

    chains: tuple[ChainRow, ...]
    facts: Facts  # every minimum and every bond
    last_change: int  # the change feed's last id at the snapshot
    #: Each chain's envelope as JSON, by finality tier (what the answers' `envelope` fields are, encoded once).
    envelopes: dict[int, dict[Finality, bytes]]

    @classmethod
    def of(cls, chains: tuple[ChainRow, ...], facts: Facts, last_change: int) -> Snapshot:
        envelopes = {
            chain.chain_id: {tier: envelope(chain, tier).model_dump_json().encode() for tier in _TIERS}
            for chain in chains
        }
        return cls(chains=chains, facts=facts, last_change=last_change, envelopes=envelopes)


@dataclass(frozen=True, slots=True)
class _Delta:
    """One refresh read: the chains' rows, the new last change id and the current rows of the keys it named."""

    chains: tuple[ChainRow, ...]
    last_change: int
    minimums: dict[MinKey, tuple[int, int] | None]  # None: the row is gone
    bonds: dict[BondKey, BondFacts | None]


def _bond(amount: Any, accepted: Any, unlock: Any, block: int) -> BondFacts:
    # Driver values: a Uint256 is a zero-padded string on SQLite and a Decimal on PostgreSQL; int() takes both.
    return BondFacts(
        amount=int(amount),
        accepted=bool(accepted),
        unlock_time=int(unlock) if unlock is not None else None,
        block_number=block,
    )


def _chains(session: Session) -> tuple[ChainRow, ...]:
    return tuple(ChainRow(*row) for row in session.execute(_CHAIN_ROWS))


def read_all(engine: Engine) -> Snapshot:
    """Every chain, minimum and bond, and the change feed's last id, in one snapshot."""
    with snapshot_session(engine) as session:
        last_change = int(session.execute(_LAST_CHANGE).scalar_one())
        chains = _chains(session)
        minimums = {
            (chain_id, recipient): (int(amount), block)
            for chain_id, recipient, amount, block in session.execute(_ALL_MINS)
        }
        bonds = {
            (chain_id, sender, recipient): _bond(amount, accepted, unlock, block)
            for chain_id, sender, recipient, amount, accepted, unlock, block in session.execute(_ALL_BONDS)
        }
    return Snapshot.of(chains, Facts(minimums=minimums, bonds=bonds), last_change)


def read_delta(engine: Engine, *, after: int, max_delta: int) -> _Delta | None:
    """The chains, and the rows named by the changes after `after`, in one snapshot; None when the copy must be
    loaded again (the feed went back, or more than `max_delta` changes)."""
    with snapshot_session(engine) as session:
        last_change = int(session.execute(_LAST_CHANGE).scalar_one())
        if last_change < after:
            return None
        chains = _chains(session)
        min_keys: set[MinKey] = set()
        bond_keys: set[BondKey] = set()
        if last_change > after:
            rows = list(session.execute(_CHANGES_AFTER, {"after": after, "limit": max_delta + 1}))
            if len(rows) > max_delta or rows[-1][0] != last_change:
                return None
            for _, chain_id, kind, sender, recipient in rows:
                if kind not in DEPOSIT_KINDS or recipient is None:
                    continue
                if kind == PRICE_KIND:
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
    return _Delta(chains=chains, last_change=last_change, minimums=minimums, bonds=bonds)


def _apply(facts: Facts, delta: _Delta) -> None:
    for min_key, minimum in delta.minimums.items():
        if minimum is None:
            facts.minimums.pop(min_key, None)
        else:
            facts.minimums[min_key] = minimum
    for bond_key, bond in delta.bonds.items():
        if bond is None:
            facts.bonds.pop(bond_key, None)
        else:
            facts.bonds[bond_key] = bond


def _chain_ids(chains: Iterable[ChainRow]) -> list[int]:
    return [chain.chain_id for chain in chains]


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
        self.loads = 0  # full loads so far (the first one included)
        self.refreshes = 0

    def snapshot(self) -> Snapshot | None:
        """The current snapshot, or None when there is none younger than `max_age` (read the database)."""
        if self._snapshot is None or time.monotonic() - self._refreshed_at > self.max_age:
            return None
        return self._snapshot

    @property
    def age(self) -> float | None:
        """Seconds since the last successful read (None before the first)."""
        return None if self._snapshot is None else time.monotonic() - self._refreshed_at

    async def update(self) -> None:
        """One refresh: a delta when possible, else a full load. Database errors propagate."""
        current = self._snapshot
        started = time.monotonic()
        if current is not None:
            delta = await anyio.to_thread.run_sync(
                lambda: read_delta(self.engine, after=current.last_change, max_delta=self.max_delta)
            )
            if (
                delta is not None
                and self._snapshot is current
                and _chain_ids(delta.chains) == _chain_ids(current.chains)
            ):
                _apply(current.facts, delta)  # on the event loop: no answer sees half of it
                self._snapshot = Snapshot.of(delta.chains, current.facts, delta.last_change)
                self._refreshed_at = started
                self.refreshes += 1
                return
        loaded = await anyio.to_thread.run_sync(lambda: read_all(self.engine))
        self._snapshot = loaded
        self._refreshed_at = started
        self.loads += 1

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
