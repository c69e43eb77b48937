"""The change feed behind `/v1/changes`: pages of the `changes` table as JSON, and the watcher that notices new rows.

A change row becomes JSON in :func:`read_changes` (one snapshot: the rows, their finality and the chains'
envelopes agree). Rows are indexed events (`apply`, `rollback`) and relay requests entering a state (`relay`,
written by `indexer/relayer/feed.py`); a reader gets relay rows only when it asks for the kind `relay` (or for a
`signer`), so a reader of indexed changes never meets a row shaped differently.

:class:`ChangeFeed` polls `max(changes.id)` (an index lookup) once per `poll_interval` for all subscribers of one
process together and wakes them when it grows; each subscriber then reads its own page.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import anyio
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from indexer.api.errors import ApiError
from indexer.api.queries.envelope import envelope, facts_finality, load_chains
from indexer.api.schemas import Envelope, Finality
from indexer.settings.api import ChangesSettings
from indexer.store.db import snapshot_session
from indexer.store.models import RELAY_KIND, Chain, Change, finality_of
from indexer.store.projection import CHANGE_KINDS

log = logging.getLogger(__name__)

#: The kinds of indexed events (what a reader gets when it names no kind).
CHANGE_KIND_NAMES: tuple[str, ...] = tuple(sorted(set(CHANGE_KINDS.values())))
#: Every kind a reader may ask for: the indexed ones and `relay`.
FEED_KIND_NAMES: tuple[str, ...] = (*CHANGE_KIND_NAMES, RELAY_KIND)

#: Change ids are BIGINT: the bound of every cursor (`?cursor=` and `Last-Event-ID`).
MAX_CHANGE_ID = 2**63 - 1


def parse_change_id(value: str, *, what: str) -> int:
    """A change id given as text (the `Last-Event-ID` header, a `cursor`): ASCII digits, at most
    `MAX_CHANGE_ID`; anything else is a 422 naming `what`."""
    digits = value.strip()
    # isdigit() alone accepts '²' and other non-ASCII digits, which int() refuses; the length check keeps int()
    # cheap before the bound check.
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19 or int(digits) > MAX_CHANGE_ID:
        raise ApiError(f"{what} {value[:40]!r} is not a change id (0 to {MAX_CHANGE_ID})", status=422)
    return int(digits)


class ChangeOut(BaseModel):
    """One change. `action` apply: the event was applied; rollback: a reorg removed its block and undid it
    (`ref_id` = the id of the apply change it undoes, every other field copied from it); relay: a relay request
    entered the state `event` (`kind` relay; docs/relay-api.md). `block_number`, `block_hash`, `tx_hash` and
    `log_index` are null only in relay rows; `signer` is set only in relay rows."""

    id: int
    action: Literal["apply", "rollback", "relay"]
    ref_id: int | None
    kind: str
    event: str
    chain_id: int
    block_number: int | None
    block_hash: str | None
    #: The tier of the row's block; a relay row without a block (queued, sent, expired unsent): `latest`.
    finality: Finality
    tx_hash: str | None
    log_index: int | None
    sender: str | None
    recipient: str | None
    node: str | None
    signer: str | None = None
    args: dict[str, Any]


class ChangesPage(BaseModel):
    data: list[ChangeOut]
    count: int
    #: Pass back as `cursor` to continue after this page (no gaps, no duplicates).
    next_cursor: int
    chains: list[Envelope]


@dataclass(frozen=True)
class ChangeFilter:
    """Which rows a reader wants. `kinds` empty: every indexed kind, no relay rows (use :func:`change_filter`)."""

    chain_id: int | None = None
    sender: str | None = None
    recipient: str | None = None
    kinds: Sequence[str] = ()
    signer: str | None = None  # relay rows of this signer


def parse_kinds(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    kinds = tuple(k.strip() for k in value.split(",") if k.strip())
    unknown = [k for k in kinds if k not in FEED_KIND_NAMES]
    if unknown:
        raise ApiError(
            f"unknown change kind {unknown[0][:40]!r}; kinds are {', '.join(FEED_KIND_NAMES)}", status=422
        )
    return kinds


def change_filter(
    *,
    chain_id: int | None = None,
    sender: str | None = None,
    recipient: str | None = None,
    kinds: Sequence[str] = (),
    signer: str | None = None,
) -> ChangeFilter:
    """A filter with the feed's rule for relay rows: they come only when `kinds` names `relay`, or when a `signer`
    is given without kinds (a signer only ever matches relay rows). A signer with kinds that leave out `relay`
    would match nothing, forever: that is a 422."""
    if signer is not None:
        if not kinds:
            kinds = (RELAY_KIND,)
        elif RELAY_KIND not in kinds:
            raise ApiError(
                "signer: only relay changes have a signer; add relay to kinds, or leave kinds out", status=422
            )
    return ChangeFilter(
        chain_id=chain_id, sender=sender, recipient=recipient, kinds=tuple(kinds), signer=signer
    )


def _table_missing(exc: Exception) -> ApiError:
    return ApiError(
        f"the database has no change feed yet (run `dm3-indexer migrate`): {str(exc).splitlines()[0][:120]}",
        status=503,
    )


def latest_id(engine: Engine) -> int:
    """The newest change id (0 when there is none)."""
    try:
        with snapshot_session(engine) as session:
            return int(session.execute(select(func.max(Change.id))).scalar() or 0)  # type: ignore[arg-type]
    except (OperationalError, ProgrammingError) as exc:
        raise _table_missing(exc) from exc


def read_changes(
    engine: Engine, *, cursor: int | None, where: ChangeFilter, limit: int, scan_span: int
) -> ChangesPage:
    """Changes with id > `cursor` (None = from now on: an empty page whose `next_cursor` is the newest id)."""
    try:
        with snapshot_session(engine) as session:
            chains = load_chains(session, where.chain_id)
            newest = int(session.execute(select(func.max(Change.id))).scalar() or 0)  # type: ignore[arg-type]
            start = newest if cursor is None else cursor
            high = min(newest, start + scan_span)
            table = Change.__table__  # type: ignore[attr-defined]
            query = select(table).where(table.c.id > start, table.c.id <= high)
            if where.chain_id is not None:
                query = query.where(table.c.chain_id == where.chain_id)
            if where.sender is not None:
                query = query.where(table.c.sender == where.sender)
            if where.recipient is not None:
                query = query.where(table.c.recipient == where.recipient)
            if where.signer is not None:
                query = query.where(table.c.signer == where.signer)
            if where.kinds:
                query = query.where(table.c.kind.in_(list(where.kinds)))
            else:  # every indexed kind: no relay rows unless asked for
                query = query.where(table.c.action != "relay")
            rows = list(session.execute(query.order_by(table.c.id).limit(limit + 1)).mappings())
            # Build the answer inside the snapshot: the chain rows expire when it ends.
            return _page(rows, chains=chains, start=start, high=high, limit=limit)
    except (OperationalError, ProgrammingError) as exc:
        raise _table_missing(exc) from exc


def _page(rows: list[Any], *, chains: list[Chain], start: int, high: int, limit: int) -> ChangesPage:
    by_chain = {chain.chain_id: chain for chain in chains}
    rows = [row for row in rows if row["chain_id"] in by_chain]
    more = len(rows) > limit
    rows = rows[:limit]
    data = [
        ChangeOut(**{**row, "finality": _finality(row["block_number"], by_chain[row["chain_id"]])})
        for row in rows
    ]
    return ChangesPage(
        data=data,
        count=len(data),
        next_cursor=data[-1].id if more else max(high, start),
        chains=[
            envelope(chain, _page_finality(chain, [c for c in data if c.chain_id == cid]))
            for cid, chain in by_chain.items()
        ],
    )


def _finality(block_number: int | None, chain: Chain) -> Finality:
    """A row's tier: its block's; a relay row without a block describes a request the chain has not settled."""
    return "latest" if block_number is None else finality_of(block_number, chain)


def _page_finality(chain: Chain, changes: list[ChangeOut]) -> Finality:
    """The envelope's tier: the weakest among the page's rows of this chain (the snapshot's when it has none)."""
    if any(c.block_number is None for c in changes):
        return "latest"
    return facts_finality(chain, *[c.block_number for c in changes])


class ChangeFeed:
    """Notices new change rows for every subscriber of this process with one cheap query per `poll_interval`.

    The watcher task runs while anyone is subscribed and stops with the last subscriber.
    """

    def __init__(self, engine: Engine, settings: ChangesSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.latest = 0
        self._subscribers = 0
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tick = asyncio.Event()

    @contextlib.asynccontextmanager
    async def subscribed(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        self._subscribers += 1
        if self._task is None or self._task.done() or self._loop is not loop:
            self._loop, self._tick = loop, asyncio.Event()
            self._task = loop.create_task(self._watch(), name="dm3-change-feed")
        try:
            yield
        finally:
            self._subscribers -= 1

    async def wait_beyond(self, cursor: int, timeout: float) -> bool:
        """Until a change id above `cursor` has been seen (True) or `timeout` passes (False)."""
        deadline = anyio.current_time() + timeout
        while self.latest <= cursor:
            remaining = deadline - anyio.current_time()
            if remaining <= 0:
                return False
            tick = self._tick
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tick.wait(), remaining)
        return True

    async def _watch(self) -> None:
        while self._subscribers > 0:
            try:
                latest = await anyio.to_thread.run_sync(latest_id, self.engine)
            except ApiError as exc:
                log.warning("change feed: %s", exc.message)
                latest = self.latest
            if latest != self.latest:
                self.latest = latest
                tick, self._tick = self._tick, asyncio.Event()
                tick.set()
            await asyncio.sleep(self.settings.poll_interval)
