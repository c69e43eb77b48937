"""Index several chains in one process: one asyncio task per chain, one shared database engine."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager

from sqlalchemy.engine import Engine

from indexer.chain.rpc import RetryPolicy, RpcClient
from indexer.settings.indexer import IndexedChain
from indexer.store.lock import ChainLock
from indexer.store.retry import retry_sync
from indexer.sync.chain_indexer import ChainIndexer, ProgressCallback

log = logging.getLogger(__name__)

#: Cyclic-GC thresholds while indexing (Python's default: 700, 10, 10). A backfill batch allocates and keeps
#: hundreds of thousands of small objects (decoded logs, rows), none of them in a reference cycle; at the default
#: the collector ran so often that it took ~30% of the backfill's CPU (measured: bench/indexer/profile.py).
GC_THRESHOLDS = (50_000, 20, 100)


@contextmanager
def indexing_gc() -> Iterator[None]:
    """Run the cyclic garbage collector less often while indexing; the previous thresholds come back after."""
    before = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


async def index_chains(
    specs: list[IndexedChain],
    *,
    engine: Engine,
    follow: bool,
    stop: asyncio.Event,
    on_progress: ProgressCallback | None = None,
    db_retry_seconds: float = 60.0,
) -> dict[str, BaseException | None]:
    """Backfill (and with ``follow``, keep following) every chain until ``stop``. Returns each chain's failure.

    Raises :class:`~indexer.store.lock.ChainLocked` before indexing anything if another process holds a chain.
    Transient database errors are retried for up to ``db_retry_seconds`` (then the chain stops).
    """
    # SQLite has one writer at a time: funnel every chain's writes through one thread instead of making them
    # queue on the file lock. PostgreSQL takes the chains in parallel.
    workers = 1 if engine.dialect.name == "sqlite" else max(1, len(specs))
    with ExitStack() as stack:
        stack.enter_context(indexing_gc())
        locks = []
        for spec in specs:
            lock = ChainLock(engine, spec.chain_id)
            retry_sync(lock.acquire, what=f"chain {spec.name}", seconds=db_retry_seconds)
            stack.callback(lock.release)  # never raises: the chains' outcomes stay what they were
            locks.append(lock)
        executor = stack.enter_context(ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dm3-db"))
        clients = [
            RpcClient(
                spec.config.rpc_url,
                chain=spec.name,
                timeout=spec.config.rpc_timeout,
                retry=RetryPolicy(attempts=spec.config.rpc_retries),
            )
            for spec in specs
        ]
        try:
            indexers = [
                ChainIndexer(
                    spec,
                    engine=engine,
                    lock=lock,
                    rpc=rpc,
                    executor=executor,
                    stop=stop,
                    on_progress=on_progress,
                    db_retry_seconds=db_retry_seconds,
                )
                for spec, lock, rpc in zip(specs, locks, clients, strict=True)
            ]
            results = await asyncio.gather(
                *(ix.run(follow=follow) for ix in indexers), return_exceptions=True
            )
        finally:
            await asyncio.gather(*(rpc.aclose() for rpc in clients), return_exceptions=True)
    outcome: dict[str, BaseException | None] = {}
    for spec, result in zip(specs, results, strict=True):
        if isinstance(result, BaseException):
            if isinstance(result, asyncio.CancelledError | KeyboardInterrupt):
                raise result
            outcome[spec.name] = result
        else:
            outcome[spec.name] = None
    return outcome
