"""FastAPI dependencies: settings, the engine and snapshot sessions, the gateway signer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Depends, Query, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from indexer.api.errors import ApiError
from indexer.api.schemas import MAX_CHAIN_ID
from indexer.gateway.signer import GatewaySigner
from indexer.settings.api import ApiSettings
from indexer.store.db import snapshot_session

T = TypeVar("T")


async def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """One read transaction per request: every row an answer uses, chain checkpoints included, comes from the same
    snapshot (SQLite WAL read transaction / PostgreSQL REPEATABLE READ READ ONLY)."""
    with snapshot_session(request.app.state.engine) as session:
        yield session


async def get_engine(request: Request) -> Engine:
    """The reader engine (async: FastAPI resolves it on the event loop, without a threadpool hop)."""
    engine: Engine = request.app.state.engine
    return engine


async def read(work: Callable[[], T]) -> T:
    """Run the blocking database read `work()` for an async route, in the thread pool.

    Never on the event loop, not even on SQLite where a small read takes tens of microseconds: a batch of 1,000
    names takes a good part of a second, and ten of them inline stalled every other request (and every open
    connection's timeouts) for over a second. The pool's size is `DM3_API_DB_THREADS`.
    """
    return await run_in_threadpool(work)


async def read_snapshot(
    engine: Engine, work: Callable[[Session], T], *, limiter: CapacityLimiter | None = None
) -> T:
    """`work(session)` in one snapshot session (see `get_session`), in the thread pool (`limiter`: at most that
    many at once, see `heavy_limiter`)."""
    if limiter is None:
        return await read(lambda: _in_snapshot(engine, work))
    return await anyio.to_thread.run_sync(lambda: _in_snapshot(engine, work), limiter=limiter)


async def heavy_limiter(request: Request) -> CapacityLimiter:
    """The slots for heavy reads (eligibility batches): `DM3_API_HEAVY_THREADS` at once per process, apart from
    the `DM3_API_DB_THREADS` the other reads use.

    Threads share one GIL with the event loop: ten batches working at once in ten threads made every small
    request wait its turn behind all of them. A few at a time, the others queued, keeps small requests quick
    (and the batches finish no later: they cannot run in parallel anyway).
    """
    state = request.app.state
    limiter: CapacityLimiter | None = getattr(state, "heavy_limiter", None)
    if limiter is None:  # created on first use: a limiter belongs to the running event loop
        limiter = state.heavy_limiter = CapacityLimiter(state.settings.heavy_threads)
    return limiter


def _in_snapshot(engine: Engine, work: Callable[[Session], T]) -> T:
    with snapshot_session(engine) as session:
        return work(session)


def get_signer(request: Request) -> GatewaySigner:
    signer: GatewaySigner | None = request.app.state.signer
    if signer is None:
        raise ApiError("the CCIP-read gateway has no signing key configured", status=503)
    return signer


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SignerDep = Annotated[GatewaySigner, Depends(get_signer)]


def get_optional_signer(request: Request) -> GatewaySigner | None:
    signer: GatewaySigner | None = request.app.state.signer
    return signer


#: The gateway key or None (a gateway that only proves needs none).
OptionalSignerDep = Annotated[GatewaySigner | None, Depends(get_optional_signer)]
HeavyLimiterDep = Annotated[CapacityLimiter, Depends(heavy_limiter)]
#: The optional `chain_id` filter every chain-scoped route takes.
ChainIdQuery = Annotated[int | None, Query(ge=0, le=MAX_CHAIN_ID, description="only this chain")]
