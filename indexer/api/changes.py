"""The change feed behind `/v1/changes`: pages of the `changes` table as JSON, and the watcher that notices new rows.

A change row becomes JSON in :func:`read_changes` (one snapshot: the rows, their finality and the chains'
envelopes agree). :class:`ChangeFeed` polls `max(changes.id)` (an index lookup) once per `poll_interval` for
all subscribers of one process together and wakes them when it grows; each subscriber then reads its own page.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import anyio
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from indexer.api.chains import envelope, facts_finality, load_chains
from indexer.api.errors import ApiError
from indexer.api.schemas import Envelope, Finality
from indexer.store.db import snapshot_session
from indexer.store.models import Chain, Change, finality_of
from indexer.store.projection import CHANGE_KINDS

log = logging.getLogger(__name__)

CHANGE_KIND_NAMES: tuple[str, ...] = tuple(sorted(set(CHANGE_KINDS.values())))

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


class ChangesSettings(BaseSettings):
    """Change-feed settings (env prefix `DM3_API_CHANGES_`)."""

    model_config = SettingsConfigDict(env_prefix="DM3_API_CHANGES_", extra="ignore")

    #: How often one process checks for new change rows (one `max(id)` query for all its subscribers).
    poll_interval: float = Field(default=0.1, gt=0)
    #: SSE comment heartbeat interval (keeps proxies from closing an idle stream).
    heartbeat: float = Field(default=15.0, gt=0)
    #: Largest page of `/v1/changes/poll` (and of one SSE read).
    page_size: int = Field(default=500, ge=1)
    #: Longest wait a long-poll may ask for.
    max_wait: float = Field(default=60.0, gt=0)
    #: Ids looked at per read when filters skip most rows (bounds every query).
    scan_span: int = Field(default=10_000, ge=1)


class ChangeOut(BaseModel):
    """One change. `action` apply: the event was applied; rollback: a reorg removed its block and undid it
    (`ref_id` = the id of the apply change it undoes, every other field copied from it)."""

    id: int
    action: Literal["apply", "rollback"]
    ref_id: int | None
    kind: str
    event: str
    chain_id: int
    block_number: int
    block_hash: str
    finality: Finality
    tx_hash: str
    log_index: int
    sender: str | None
    recipient: str | None
    node: str | None
    args: dict[str, Any]


class ChangesPage(BaseModel):
    data: list[ChangeOut]
    count: int
    #: Pass back as `cursor` to continue after this page (no gaps, no duplicates).
    next_cursor: int
    chains: list[Envelope]


@dataclass(frozen=True)
class ChangeFilter:
    chain_id: int | None = None
    sender: str | None = None
    recipient: str | None = None
    kinds: Sequence[str] = ()


def parse_kinds(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    kinds = tuple(k.strip() for k in value.split(",") if k.strip())
    unknown = [k for k in kinds if k not in CHANGE_KIND_NAMES]
    if unknown:
        raise ApiError(
            f"unknown change kind {unknown[0][:40]!r}; kinds are {', '.join(CHANGE_KIND_NAMES)}", status=422
        )
    return kinds


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
            if where.kinds:
                query = query.where(table.c.kind.in_(list(where.kinds)))
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
        ChangeOut(**{**row, "finality": finality_of(row["block_number"], by_chain[row["chain_id"]])})
        for row in rows
    ]
    return ChangesPage(
        data=data,
        count=len(data),
        next_cursor=data[-1].id if more else max(high, start),
        chains=[
            envelope(chain, facts_finality(chain, *[c.block_number for c in data if c.chain_id == cid]))
            for cid, chain in by_chain.items()
        ],
    )


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
