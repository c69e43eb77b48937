"""One chain's indexer: backfill to a head snapshot, then follow the head, repairing reorgs on the way.

Invariant: the database holds every event of blocks ``start_block..indexed_block`` and nothing after; the next
batch always starts at ``indexed_block + 1`` (the writer checks it), so the backfill/realtime handoff and restarts
after a crash neither skip nor repeat a block.

Database faults: every database call is one transaction, retried on transient errors (``store/retry.py``). A
write refused by the chain's fence (:class:`~indexer.store.lock.LeaseLost`) stops all writing at once; the
indexer then takes the chain again (and resumes from the stored checkpoint) or, when another process holds it
now, stops the chain with :class:`~indexer.sync.errors.LostLease`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.engine import Engine

from indexer import metrics
from indexer.chain.abi import ContractKind
from indexer.chain.rpc import BlockHeader, RpcClient, RpcError, RpcTransientError
from indexer.redact import redact_url, redact_urls
from indexer.settings.indexer import IndexedChain
from indexer.store.lock import ChainLock, ChainLocked, LeaseLost
from indexer.store.projection import Row
from indexer.store.retry import DatabaseUnavailable, retry_async
from indexer.store.writer import Batch, ChainWriter, Tips
from indexer.sync.errors import LostLease, NodeChainMismatch, ReorgTooDeep, SyncError
from indexer.sync.fetch import AdaptiveRange, Chunk, LogFetcher, LogsUnavailable, NotYetAvailable
from indexer.sync.fetch_process import (
    CHILD_CONCURRENCY,
    FetchParams,
    FetchProcess,
    FetchProcessGone,
    parent_log_levels,
)
from indexer.sync.heads import BlockPace, HeadWatcher, derive_ws_url

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    chain: str
    chain_id: int
    status: str
    start_block: int
    indexed_block: int
    target_block: int
    head_block: int
    events: int  # applied by this process so far


ProgressCallback = Callable[[Progress], None]


class StopRequested(Exception):
    """Shutdown was requested while the database was failing: stop without waiting for it."""


class ChainIndexer:
    def __init__(
        self,
        spec: IndexedChain,
        *,
        engine: Engine,
        lock: ChainLock,
        rpc: RpcClient,
        executor: Executor,
        stop: asyncio.Event,
        on_progress: ProgressCallback | None = None,
        db_retry_seconds: float = 60.0,
    ) -> None:
        """``lock``: the chain's lock, held by the caller (the writer's fence)."""
        self.spec = spec
        self.cfg = spec.config
        self.rpc = rpc
        self.executor = executor
        self.stop = stop
        self.on_progress = on_progress
        self.lock = lock
        self.db_retry_seconds = db_retry_seconds
        self.writer = ChainWriter(
            engine, lock=lock, parent_name=spec.parent_name, window=self.cfg.reorg_window
        )
        contracts: dict[str, ContractKind] = {
            address: kind  # type: ignore[misc]
            for address, kind in spec.contracts().items()
        }
        self.range = AdaptiveRange(
            initial=self.cfg.initial_block_range,
            maximum=self.cfg.max_block_range,
            target_bytes=self.cfg.logs_target_bytes,
        )
        self.fetcher = LogFetcher(
            rpc, contracts=contracts, block_range=self.range, batch_size=self.cfg.rpc_batch_size
        )
        self.indexed = spec.start_block - 1
        self.indexed_hash: str | None = None
        self.tips = Tips()
        self.latest: BlockHeader | None = None  # the node's head as last polled
        self.status = "starting"
        self.events = 0
        self._target = 0
        self._last_log = 0.0
        self._following = False
        self.pace = BlockPace(minimum=self.cfg.poll_interval_min, maximum=self.cfg.poll_interval_max)
        ws_url = self.cfg.ws_url if self.cfg.ws_url is not None else derive_ws_url(self.cfg.rpc_url)
        self.heads = HeadWatcher(ws_url, chain=spec.name) if ws_url else None
        self._fetch_process: FetchProcess | None = None  # during a long backfill (fetch_process.py)
        self._wants_process: int | None = None  # a backfill target waiting for a free fetch process

    # --- lifecycle ---------------------------------------------------------------------------------------------

    async def prepare(self) -> None:
        """Check the node serves this chain; create or check the chain row; load the checkpoint."""
        node_chain_id = await self.rpc.chain_id()
        if node_chain_id != self.spec.chain_id:
            raise NodeChainMismatch(
                f"chain {self.spec.name}: {redact_url(self.cfg.rpc_url)} serves chain id {node_chain_id}, "
                f"configured {self.spec.chain_id}"
            )
        row = await self._db(
            self.writer.ensure_chain,
            name=self.spec.name,
            parent_name=self.spec.parent_name,
            registry_address=self.spec.registry.address if self.spec.registry else None,
            deposits_address=self.spec.deposits.address if self.spec.deposits else None,
        )
        if row.indexed_block is not None:
            self.indexed, self.indexed_hash = row.indexed_block, row.indexed_block_hash

    async def run(self, *, follow: bool) -> None:
        """Backfill to the current head; then, if ``follow``, keep following it until ``stop`` is set."""
        try:
            while True:
                try:
                    await self._run(follow=follow)
                    return
                except LeaseLost as exc:
                    if self.stop.is_set():
                        log.error("%s: %s; stopped writing", self.spec.name, exc)
                        return
                    await self._take_chain_again(exc)
        except StopRequested:
            log.info("%s: stopped while the database was failing", self.spec.name)
        except (SyncError, DatabaseUnavailable) as exc:
            log.error("%s", exc)
            self.status = "stopped"
            if not isinstance(exc, LostLease | DatabaseUnavailable):  # we may not, or cannot, write
                # The stored error is public (`/v1/status`, `/ready`, `dm3-indexer status`): no URL beyond its host.
                await self._record_stop(redact_urls(str(exc)))
            self._report(force=True)
            raise

    async def _take_chain_again(self, lost: LeaseLost) -> None:
        log.error("%s: %s; stopped writing, taking the chain again", self.spec.name, lost)
        try:
            await self._db(self.lock.reacquire)
        except ChainLocked as exc:
            raise LostLease(f"{lost}; now {exc}, so this process stops indexing it") from exc
        log.warning(
            "%s: holds the chain again (lease generation %s); resuming from the stored checkpoint",
            self.spec.name,
            self.lock.generation,
        )
        self.indexed, self.indexed_hash = self.spec.start_block - 1, None

    async def _record_stop(self, error: str) -> None:
        """Best effort: mark the chain stopped (one attempt; a failure here must not replace ``error``)."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self.executor, lambda: self.writer.set_status("stopped", error=error))
        except Exception as exc:
            log.warning("%s: could not record the stop (%s)", self.spec.name, exc.__class__.__name__)

    async def _run(self, *, follow: bool) -> None:
        await self.prepare()
        await self.backfill(persistent=follow)
        if follow and not self.stop.is_set():
            await self.follow()

    #: Backfill rounds a one-shot ``sync`` gives a node that keeps failing transiently (each round retries its
    #: chunks with backoff first); ``run`` retries for ever.
    sync_rounds = 4

    async def backfill(self, *, persistent: bool = False) -> None:
        """Sync to the head as it is now; before returning, check the checkpoint against the node once more.

        Chunks are fetched ahead of the one being applied, so a reorg during the last chunks can leave the
        checkpoint on the replaced branch although every chunk linked to the one before: the final check finds
        that, repairs it and syncs again. Transient node trouble (a block the node does not have yet, logs it
        keeps back) is retried with backoff: ``sync_rounds`` times, or for ever when ``persistent``.
        """
        try:
            await self._backfill(persistent=persistent)
        finally:
            self._wants_process = None
            if self._fetch_process is not None:
                await self._fetch_process.close()
                self._fetch_process = None
                self.range.target_bytes = self.cfg.logs_target_bytes

    async def _backfill(self, *, persistent: bool) -> None:
        failures = 0
        while not self.stop.is_set():
            try:
                self.tips = await self._poll_tips()
                await self._check_checkpoint()  # a restart may find the chain reorged under its checkpoint
                target = self._target_of(self.tips)
                self.status = "backfilling" if target > self.indexed else "live"
                self._target = max(self._target, target)
                self._start_fetch_process(target)
                await self._db(self.writer.set_status, self.status, tips=self.tips)
                self._report()  # where the run starts from: rates and ETAs are measured from here
                await self.sync_to(target)
                if self.stop.is_set():
                    return
                self.tips = await self._poll_tips()
                if await self._check_checkpoint(strict=True):
                    continue  # the last chunks were on a replaced branch: repaired, sync again
                break
            except (RpcError, NotYetAvailable) as exc:
                failures += 1
                permanent = isinstance(exc, RpcError) and not isinstance(exc, RpcTransientError)
                if self.stop.is_set() or (not persistent and (permanent or failures >= self.sync_rounds)):
                    raise
                delay = min(2.0 ** (failures - 1), 10.0)
                log.warning("%s: backfill interrupted (%s); retrying in %.1fs", self.spec.name, exc, delay)
                await self._stalled(exc)
                await self._sleep(delay)
        if not self.stop.is_set():
            self.status = "live"
            await self._db(self.writer.set_status, "live", tips=self.tips)
            self._report(force=True)

    async def follow(self) -> None:
        """Catch up with the head each time a new head is announced (websocket) or the poll interval passes."""
        if self.heads is not None:
            self.heads.start()
        self._following = True
        try:
            await self._follow()
        finally:
            self._following = False
            if self.heads is not None:
                await self.heads.stop()

    async def _follow(self) -> None:
        while not self.stop.is_set():
            announced: list[BlockHeader] = []
            if self.heads is not None:
                self.heads.new_head.clear()  # a head announced from here on wakes the next round
                announced = self.heads.take()
            if announced and self._quiet(announced):
                # Nothing of ours in these blocks: apply them with the next block that may hold our logs, or
                # once `quiet_apply_interval` has passed since the last round, whichever comes first.
                await self._wait_for_head(self.cfg.quiet_apply_interval - (time.monotonic() - self._round_at))
                continue
            self._round_at = time.monotonic()
            try:
                self.tips = await self._poll_tips(announced[-1] if announced else None)
                if self._target_of(self.tips) <= self.indexed:
                    # No new block to build on our checkpoint: ask the node whether it still holds it (a
                    # same-height reorg, a shorter branch). With new blocks the pipeline checks that the first
                    # one builds on it, which costs no extra call.
                    await self._check_checkpoint()
                target = self._target_of(self.tips)
                if target > self.indexed:
                    await self.sync_to(target)
                if self.status != "live":  # a stall is over
                    self.status = "live"
                    await self._db(self.writer.set_status, "live", tips=self.tips)
                elif target <= self.indexed:
                    await self._db(self.writer.set_tips, self.tips)
                self._report()
            except NotYetAvailable as exc:
                log.info("%s: %s; waiting", self.spec.name, exc)
                await self._stalled(exc)
            except RpcError as exc:  # retries exhausted: keep the chain alive, try again next poll
                log.warning("%s: RPC failed (%s); retrying in %.1fs", self.spec.name, exc, self.poll_interval)
            await self._wait_for_head()

    def _quiet(self, announced: list[BlockHeader]) -> bool:
        """May the round for these announced headers wait? Only while live, without confirmations, less than
        ``quiet_apply_interval`` after the last round, and when they extend the last head seen one by one (no
        reorg, no header missed) and their blooms rule out our logs. Then they become the head seen."""
        if (
            self.status != "live"
            or self.cfg.confirmations
            or self.latest is None
            or time.monotonic() - self._round_at >= self.cfg.quiet_apply_interval
        ):
            return False
        previous = self.latest
        for header in announced:
            if header.parent_hash != previous.hash or self.fetcher.may_hold_ours(header):
                return False
            previous = header
        self.latest = previous
        for header in announced:
            self.pace.observe(header.number, header.timestamp)
        return True

    _round_at = float("-inf")

    async def _stalled(self, exc: Exception) -> None:
        """Record that the chain cannot advance past a block whose logs the node keeps back (status + reason)."""
        if isinstance(exc, LogsUnavailable):
            self.status = "stalled"
            await self._db(
                self.writer.set_status,
                "stalled",
                error=redact_urls(f"not advancing past block {self.indexed}: {exc}; retrying"),
                tips=self.tips,
            )
            self._report(force=True)

    @property
    def poll_interval(self) -> float:
        """The configured poll interval, else half the observed block time (clamped)."""
        if self.cfg.poll_interval is not None:
            return self.cfg.poll_interval
        return self.pace.interval

    async def _wait_for_head(self, at_most: float | None = None) -> None:
        """Until a new head is announced, ``stop`` is set, or the poll interval (``at_most``, when shorter)
        passes. With a live subscription polling is only a safety net against a lost notification (every
        ``ws_poll_interval``)."""
        timeout = self.poll_interval
        if self.heads is None:
            await self._sleep(timeout)
            return
        if self.heads.live:
            timeout = max(timeout, self.cfg.ws_poll_interval)
        if at_most is not None:
            timeout = max(0.0, min(timeout, at_most))
        waiters = [asyncio.create_task(self.stop.wait()), asyncio.create_task(self.heads.new_head.wait())]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    # --- syncing -----------------------------------------------------------------------------------------------

    async def sync_to(self, target: int) -> None:
        """Apply every block up to ``target``: fetch ahead in parallel, apply strictly in order."""
        self._target = max(self._target, target)
        while self.indexed < target and not self.stop.is_set():
            reorged = await self._pipeline(target)
            if not reorged:
                return

    async def _pipeline(self, target: int) -> bool:
        """One pass of fetch-ahead/apply. Returns True when a reorg was repaired (caller restarts the pass)."""
        pending: deque[tuple[int, int, asyncio.Task[Chunk]]] = deque()
        prepared: dict[asyncio.Task[Chunk], list[tuple[Row, Row | None]]] = {}

        def prepare(task: asyncio.Task[Chunk]) -> None:
            """Build the next chunk's ``events``/``changes`` rows on the event loop while the chunk before is
            being written (the writer's SQLite time leaves the interpreter free); only the next one, so no more
            than one chunk's rows wait in memory."""
            if not task.cancelled() and task.exception() is None:
                prepared[task] = self.writer.log_rows(task.result().logs)

        next_from = self.indexed + 1
        window_floor = self._window_floor()
        try:
            while (next_from <= target or pending) and not self.stop.is_set():
                while len(pending) < self._in_flight() and next_from <= target:
                    to = min(target, next_from + self.range.size - 1)
                    fetch = self._chunk(next_from, to, window_floor=window_floor, known=self._known())
                    pending.append((next_from, to, asyncio.create_task(fetch)))
                    next_from = to + 1
                _, planned_to, task = pending.popleft()
                chunk = await task
                rows = prepared.pop(task, None)
                if chunk.to_block < planned_to:  # its logs reached the byte target first: the rest comes next
                    rest = chunk.to_block + 1
                    task = asyncio.create_task(self._chunk(rest, planned_to, window_floor=window_floor))
                    pending.appendleft((rest, planned_to, task))
                if self.indexed_hash is not None and chunk.first.parent_hash != self.indexed_hash:
                    log.warning(
                        "%s: block %d does not build on indexed block %d (%s): reorg",
                        self.spec.name,
                        chunk.from_block,
                        self.indexed,
                        self.indexed_hash,
                    )
                    await self._repair_reorg()
                    return True
                if pending:
                    pending[0][2].add_done_callback(prepare)  # runs once this chunk's write has started
                await self._apply(chunk, rows)
        finally:
            for _, _, task in pending:
                task.cancel()
            await asyncio.gather(*(t for _, _, t in pending), return_exceptions=True)
        return False

    def _in_flight(self) -> int:
        """Chunks fetched ahead: one while the fetch process starts (its start needs the CPU more than a second
        chunk fetched here would help, and the ranges learn their size from that one); with the fetch process,
        as many as it fetches at once and one more, decoded, waiting its turn (more would only wait here, in
        memory); else ``concurrency``."""
        remote = self._fetch_process
        if remote is not None and not remote.gone:
            return 1 if not remote.ready else min(self.cfg.concurrency, CHILD_CONCURRENCY + 1)
        return self.cfg.concurrency

    async def _chunk(
        self,
        from_block: int,
        to_block: int,
        *,
        window_floor: int,
        known: dict[int, BlockHeader] | None = None,
    ) -> Chunk:
        """:meth:`LogFetcher.chunk`, by the fetch process once it is ready and when the range lies below the
        window; here while it starts (~0.5 s) and once it is gone."""
        if self._wants_process is not None and FetchProcess.available():
            self._start_fetch_process(self._wants_process)
        remote = self._fetch_process
        if remote is not None and remote.ready and from_block < window_floor:
            try:
                chunk = await remote.chunk(
                    from_block, to_block, window_floor=window_floor, range_size=self.range.size
                )
            except FetchProcessGone:
                pass
            else:
                if remote.range_size is not None:
                    self.range.size = remote.range_size
                return chunk
        return await self.fetcher.chunk(from_block, to_block, window_floor=window_floor, known=known)

    def _start_fetch_process(self, target: int) -> None:
        """Start the fetch process (fetch_process.py) when the backfill has enough blocks to go below the window
        (the configured minimum) and the RPC client can be rebuilt there; once per backfill."""
        least = self.cfg.fetch_process_min_blocks
        self._wants_process = None
        if least is None or self._fetch_process is not None or self.rpc.custom_transport:
            return
        below_window = min(target, self._window_floor() - 1) - self.indexed
        if below_window <= 0 or below_window < least:
            return
        if not FetchProcess.available():  # another chain's backfill has it: asked again at each chunk
            self._wants_process = target
            return
        self._fetch_process = FetchProcess(
            FetchParams(
                rpc_url=self.cfg.rpc_url,
                chain=self.rpc.chain,
                timeout=self.rpc.timeout,
                retry=self.rpc.retry,
                contracts=self.fetcher.contracts,
                initial_range=self.cfg.initial_block_range,
                max_range=self.cfg.max_block_range,
                # Half the byte target: its answers (up to 4x the target, parsed) and the chunks waiting here
                # for the writer together stay within what one process's fetching held before.
                target_bytes=max(10_000, self.cfg.logs_target_bytes // 2),
                batch_size=self.cfg.rpc_batch_size,
                log_levels=parent_log_levels(),
            )
        )
        self._fetch_process.start()
        # What this process still fetches (while the child starts, once it is gone, inside the window) is read in
        # smaller answers: the child's answers and their chunks already take the memory the byte target allows.
        self.range.target_bytes = max(10_000, self.cfg.logs_target_bytes // 4)
        log.info(
            "%s: %d blocks to backfill; fetching them in a separate process", self.spec.name, below_window
        )

    async def _apply(self, chunk: Chunk, rows: Sequence[tuple[Row, Row | None]] | None = None) -> None:
        batch = Batch(
            from_block=chunk.from_block,
            to_block=chunk.to_block,
            to_hash=chunk.last.hash,
            logs=chunk.logs,
            to_timestamp=chunk.last.timestamp,
            headers=chunk.window_headers,
            undo_from=self._window_floor(),
            tips=self.tips,
            status=self.status,
            rows=rows,
        )
        started = time.perf_counter()
        applied = await self._db(self.writer.apply, batch)
        metrics.BATCH_SECONDS.labels(chain=self.spec.name).observe(time.perf_counter() - started)
        self.indexed, self.indexed_hash = chunk.to_block, chunk.last.hash
        self.events += applied
        for event, count in Counter(entry.event for entry in chunk.logs).items():
            metrics.EVENTS.labels(chain=self.spec.name, event=event).inc(count)
        self._report()

    def _known(self) -> dict[int, BlockHeader]:
        """Headers the chunks need not ask for again: following, the head just polled or announced (it is often
        the whole chunk). A backfill asks for every header it links, as its final checkpoint check expects."""
        if not self._following or self.latest is None:
            return {}
        return {self.latest.number: self.latest}

    def _window_floor(self) -> int:
        head = self.tips.head if self.tips.head is not None else self.indexed
        return head - self.cfg.reorg_window

    def _target_of(self, tips: Tips) -> int:
        head = tips.head if tips.head is not None else self.indexed
        return head - self.cfg.confirmations

    # --- reorgs ------------------------------------------------------------------------------------------------

    async def _check_checkpoint(self, *, strict: bool = False) -> bool:
        """Is our checkpoint still on the node's chain? Repairs it when not; returns True when it repaired.

        With the node's head at or above the checkpoint, the node's hash at the checkpoint's height must be ours
        (this also catches same-height reorgs, which add no new block). With the head below the checkpoint, the
        node either lags (its head is one of our blocks) or switched to a shorter branch (its head is not): the
        node's hash at its own head height is compared with the one we stored for that height. When the node
        cannot say (no such block right now, or its head is below the blocks we remember), the check passes
        for now, or, when ``strict`` (before ``sync`` exits), raises :class:`NotYetAvailable` to be retried.
        """
        if self.indexed_hash is None or self.latest is None:
            return False
        if self.latest.number >= self.indexed:
            header = (
                self.latest
                if self.latest.number == self.indexed
                else (await self.rpc.get_blocks([self.indexed]))[0]
            )
            if header is None and strict:
                raise NotYetAvailable(f"node does not serve our checkpoint block {self.indexed} right now")
            if header is None or header.hash == self.indexed_hash:
                return False  # canonical, or a lagging node: look again next poll
            log.warning("%s: indexed block %d changed hash: reorg", self.spec.name, self.indexed)
        else:
            stored = await self._db(self.writer.stored_hashes, self.latest.number, self.latest.number)
            ours = stored.get(self.latest.number)
            if ours is None and strict:
                raise NotYetAvailable(
                    f"node's head {self.latest.number} is below the blocks remembered before {self.indexed}"
                )
            if ours is None or ours == self.latest.hash:
                return False  # a node lagging behind us (or too far behind to tell): wait for it
            log.warning(
                "%s: the node's head %d is not our block %d: reorg to a shorter branch",
                self.spec.name,
                self.latest.number,
                self.latest.number,
            )
        await self._repair_reorg()
        return True

    async def _repair_reorg(self) -> None:
        window = self.cfg.reorg_window
        low = max(self.spec.start_block - 1, self.indexed - window)
        stored = await self._db(self.writer.stored_hashes, low, self.indexed)
        numbers = sorted(stored, reverse=True)
        canonical: dict[int, BlockHeader | None] = {}
        if numbers:
            found = await self.rpc.get_blocks(numbers, batch_size=self.cfg.rpc_batch_size)
            canonical = dict(zip(numbers, found, strict=True))
        fork: int | None = None
        fork_hash: str | None = None
        fork_timestamp: int | None = None
        for number in numbers:  # newest first
            header = canonical.get(number)
            if header is not None and header.hash == stored[number]:
                fork, fork_hash, fork_timestamp = number, header.hash, header.timestamp
                break
        if fork is None:
            if self.indexed - window < self.spec.start_block:
                fork, fork_hash = self.spec.start_block - 1, None  # the whole history is inside the window
            else:
                raise ReorgTooDeep(chain=self.spec.name, indexed_block=self.indexed, window=window)
        depth = await self._db(
            self.writer.rollback, fork_block=fork, fork_hash=fork_hash or "", fork_timestamp=fork_timestamp
        )
        log.warning("%s: reorg of depth %d repaired; resuming from block %d", self.spec.name, depth, fork + 1)
        metrics.REORGS.labels(chain=self.spec.name).inc()
        metrics.REORG_DEPTH.labels(chain=self.spec.name).observe(depth)
        self.indexed, self.indexed_hash = fork, fork_hash

    # --- helpers -----------------------------------------------------------------------------------------------

    async def _poll_tips(self, announced: BlockHeader | None = None) -> Tips:
        """The node's head, safe and finalized blocks. A head ``announced`` by the subscription past the last one
        is taken as it is, without a call, and safe/finalized kept, for up to ``poll_interval_max`` seconds:
        following a quiet chain then costs no request per block beyond the notification."""
        now = time.monotonic()
        if (
            announced is not None
            and self.latest is not None
            and announced.number > self.latest.number
            and now - self._tips_polled_at < self.cfg.poll_interval_max
        ):
            latest, safe, finalized = announced, self.tips.safe, self.tips.finalized
        else:
            latest_header, safe_header, finalized_header = await self._tip_headers()
            if latest_header is None:
                raise NotYetAvailable("node returned no latest block")
            latest = latest_header
            safe = safe_header.number if safe_header else None
            finalized = finalized_header.number if finalized_header else None
            self._tips_polled_at = now
        self.latest = latest
        self.pace.observe(latest.number, latest.timestamp)
        tips = Tips(
            head=latest.number,
            safe=safe,
            finalized=finalized,
            seen_at=datetime.now(UTC),
            block_time=self.pace.block_time,
        )
        name = self.spec.name
        metrics.HEAD_BLOCK.labels(chain=name).set(latest.number)
        if safe is not None:
            metrics.SAFE_BLOCK.labels(chain=name).set(safe)
        if finalized is not None:
            metrics.FINALIZED_BLOCK.labels(chain=name).set(finalized)
        return tips

    _tips_polled_at = float("-inf")

    _tags_supported = True

    async def _tip_headers(self) -> tuple[BlockHeader | None, BlockHeader | None, BlockHeader | None]:
        if self._tags_supported:
            try:
                latest, safe, finalized = await self.rpc.get_blocks(["latest", "safe", "finalized"])
                return latest, safe, finalized
            except RpcError as exc:
                if type(exc) is not RpcError:
                    raise
                log.info(
                    "%s: node does not serve safe/finalized tags (%s); tracking latest only",
                    self.spec.name,
                    exc,
                )
                self._tags_supported = False
        return await self.rpc.get_block("latest"), None, None

    async def _db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` (one transaction) on the database thread, retried on transient errors; once
        shutdown is requested a failing call is not tried again (:class:`StopRequested`)."""
        loop = asyncio.get_running_loop()
        attempts = 0

        async def attempt() -> T:
            nonlocal attempts
            attempts += 1
            if attempts > 1 and self.stop.is_set():
                raise StopRequested
            return await loop.run_in_executor(self.executor, lambda: fn(*args, **kwargs))

        return await retry_async(
            attempt, what=f"chain {self.spec.name}", seconds=self.db_retry_seconds, sleep=self._sleep
        )

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)

    def _report(self, *, force: bool = False) -> None:
        name = self.spec.name
        metrics.INDEXED_BLOCK.labels(chain=name).set(self.indexed)
        if self.tips.head is not None:
            metrics.LAG_BLOCKS.labels(chain=name).set(max(0, self.tips.head - self.indexed))
        progress = Progress(
            chain=name,
            chain_id=self.spec.chain_id,
            status=self.status,
            start_block=self.spec.start_block,
            indexed_block=self.indexed,
            target_block=max(self._target, self.indexed),
            head_block=self.tips.head if self.tips.head is not None else self.indexed,
            events=self.events,
        )
        if self.on_progress is not None:
            self.on_progress(progress)
        now = time.monotonic()
        if force or now - self._last_log >= 5:
            self._last_log = now
            log.info(
                "chain=%s status=%s indexed=%d target=%d head=%d events=%d",
                name,
                progress.status,
                progress.indexed_block,
                progress.target_block,
                progress.head_block,
                progress.events,
            )
