"""Fetching one block range: logs of both contracts in one eth_getLogs filter, split adaptively, plus headers."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_bloom import BloomFilter

from indexer.chain.abi import ContractKind, DecodedLog, LogDecoder, topics_for
from indexer.chain.rpc import (
    BlockHeader,
    RpcBlockUnavailable,
    RpcClient,
    RpcError,
    RpcMethodUnsupported,
    RpcRangeTooLarge,
    RpcTimeout,
)
from indexer.sync.errors import InconsistentNode

log = logging.getLogger(__name__)


class AdaptiveRange:
    """The eth_getLogs block span, sized by what the answers weigh, not only by how many blocks they cover.

    One answer should hold about ``target_logs`` logs and ``target_bytes`` bytes of JSON (whichever comes first:
    300-byte text records make each log ~1 kB, so 5,000 of them are already 5 MB). An answer over either target
    shrinks the span in proportion; a quick, light one (under half of both) doubles it, up to ``maximum``. Spans
    shrink on range errors and timeouts too. An answer that still comes back over ``max_bytes`` (four times the
    target: the density jumped) is abandoned while it streams in and its range split, so no answer larger than
    that is ever held.
    """

    def __init__(
        self, *, initial: int, maximum: int, target_logs: int = 5_000, target_bytes: int = 4_000_000
    ) -> None:
        self.size = max(1, min(initial, maximum))
        self.maximum = maximum
        self.target_logs = target_logs
        self.target_bytes = target_bytes

    @property
    def max_bytes(self) -> int:
        """The largest answer read whole; a larger one is dropped unread and its range split."""
        return 4 * self.target_bytes

    def succeeded(self, span: int, logs: int, size: int = 0) -> None:
        """Record an answer of ``logs`` logs and ``size`` bytes for a span of ``span`` blocks."""
        load = max(logs / self.target_logs, size / self.target_bytes)
        if load > 1:
            self.size = max(1, min(self.size, int(span / load)))
        elif span >= self.size and load < 0.5:
            self.size = min(self.maximum, self.size * 2)

    def too_large(self, span: int, suggested: int | None = None) -> int:
        """Record a refusal of ``span`` blocks; returns the span to try next."""
        if suggested is not None and 0 < suggested < span:
            self.size = suggested
        else:
            self.size = max(1, min(self.size, span // 2))
        return self.size


class NotYetAvailable(Exception):
    """The node has no header for a block it should have (a lagging node behind a load balancer): wait."""


class LogsUnavailable(NotYetAvailable):
    """A block's bloom filter names our contracts, but no route returned its logs: the block is not accepted."""


@dataclass
class Chunk:
    from_block: int
    to_block: int
    logs: list[DecodedLog]
    first: BlockHeader  # header of from_block (its parent links the chunk to the checkpoint)
    last: BlockHeader  # header of to_block (the new checkpoint hash)
    window_headers: list[BlockHeader]  # headers of the blocks inside the reorg window, ascending


class LogFetcher:
    def __init__(
        self,
        rpc: RpcClient,
        *,
        contracts: dict[str, ContractKind],
        block_range: AdaptiveRange,
        batch_size: int = 100,
    ) -> None:
        self.rpc = rpc
        self.contracts = dict(contracts)
        self.decoder = LogDecoder(contracts)
        self.addresses = sorted(contracts)
        self.topics: list[Any] = [topics_for(sorted(set(contracts.values())))]
        self.range = block_range
        self.batch_size = batch_size
        self._address_bytes = [bytes.fromhex(a[2:]) for a in self.addresses]
        self._topic_bytes = [bytes.fromhex(t[2:]) for t in self.topics[0]]
        self._address_set = {a.lower() for a in self.addresses}
        self._receipts_supported = True
        self.skipped_blocks = 0  # blocks whose bloom ruled out our contracts: no eth_getLogs was sent

    async def logs(self, from_block: int, to_block: int) -> tuple[list[DecodedLog], int]:
        """Logs from ``from_block`` on, sorted, and the last block they cover: ``to_block``, or an earlier block
        once the answers gathered reach the range's targets (the caller fetches the rest as a later chunk, so
        one chunk never holds more than about one answer's worth of logs). Splits spans as the node demands.
        """
        out: list[dict[str, Any]] = []
        held = 0  # bytes of JSON behind `out`
        start = from_block
        while start <= to_block and held < self.range.target_bytes and len(out) < self.range.target_logs:
            end = min(to_block, start + self.range.size - 1)
            try:
                raw, size = await self.rpc.get_logs_sized(
                    from_block=start,
                    to_block=end,
                    addresses=self.addresses,
                    topics=self.topics,
                    max_bytes=self.range.max_bytes,
                )
            except RpcRangeTooLarge as exc:
                span = end - start + 1
                if span == 1:
                    raise RpcError(f"eth_getLogs refuses even a single block ({start}): {exc}") from exc
                suggested = None
                if (
                    exc.suggested_range
                    and exc.suggested_range[0] == start
                    and exc.suggested_range[1] >= start
                ):
                    suggested = exc.suggested_range[1] - start + 1
                self.range.too_large(span, suggested)
                log.debug("range %d..%d too large (%s); now %d blocks", start, end, exc, self.range.size)
                continue
            except RpcTimeout as exc:
                span = end - start + 1
                if span == 1:
                    raise
                self.range.too_large(span)
                log.debug("range %d..%d timed out (%s); now %d blocks", start, end, exc, self.range.size)
                continue
            self.range.succeeded(end - start + 1, len(raw), size)
            out.extend(raw)
            held += size
            start = end + 1
        decoded = [self.decoder.decode(entry) for entry in out if not entry.get("removed")]
        decoded.sort(key=lambda d: (d.block_number, d.log_index))
        return decoded, start - 1

    async def headers(
        self, numbers: Sequence[int], known: dict[int, BlockHeader] | None = None
    ) -> list[BlockHeader]:
        """Headers of ``numbers``, in order; those in ``known`` are not asked for again."""
        known = known or {}
        ask = [n for n in numbers if n not in known]
        found = dict(zip(ask, await self.rpc.get_blocks(ask, batch_size=self.batch_size), strict=True))
        missing = [n for n in ask if found[n] is None]
        if missing:
            raise NotYetAvailable(f"node has no block {missing[0]} yet")
        return [known[n] if n in known else found[n] for n in numbers]  # type: ignore[misc]

    async def logs_at(self, headers: Sequence[BlockHeader]) -> list[DecodedLog]:
        """The logs of exactly these blocks, each asked for by its hash (EIP-234). Sorted."""
        out: list[DecodedLog] = []
        step = max(
            1, min(self.batch_size, self.range.size)
        )  # blocks per batch: about one byte target's worth
        for start in range(0, len(headers), step):
            part = headers[start : start + step]
            answers = await self.rpc.get_logs_at(
                [h.hash for h in part], addresses=self.addresses, topics=self.topics
            )
            out.extend(self.decoder.decode(e) for answer in answers for e in answer if not e.get("removed"))
        out.sort(key=lambda d: (d.block_number, d.log_index))
        return out

    async def chunk(
        self,
        from_block: int,
        to_block: int,
        *,
        window_floor: int,
        attempts: int = 8,
        known: dict[int, BlockHeader] | None = None,
    ) -> Chunk:
        """Logs and headers of [from_block, to_block], cross-checked inside the reorg window.

        Inside the window (following the head) the headers come first, and logs are asked for only of blocks
        whose bloom filter names one of our contracts, each by its block hash, so a node that does not have that
        block errors instead of answering with nothing. Consecutive headers must link and every log must carry
        its header's hash (else a reorg happened between our calls). A block whose bloom names our contracts but
        that returned no logs is asked again through its receipts (:meth:`_resolve_bloom_hits`); a block still
        unresolved after the retries is never accepted: :class:`LogsUnavailable` stops the chain before it.

        ``known`` headers (the head just polled) are used on the first attempt instead of asking again.

        The chunk may end before ``to_block``: below the window once its logs reach the byte target (see
        :meth:`logs`), inside it after as many blocks as the byte-sized range holds. The caller fetches the rest.
        """
        problem = ""
        failure: type[Exception] = InconsistentNode
        planned_to = to_block
        for attempt in range(attempts):
            # By hash (inside the window) no answer can be split: the span itself stays within the byte-sized range.
            to_block = (
                planned_to if from_block < window_floor else min(planned_to, from_block + self.range.size - 1)
            )
            if attempt:
                await asyncio.sleep(min(2.0, 0.1 * 2**attempt))
            wanted = sorted({from_block, to_block, *range(max(from_block, window_floor), to_block + 1)})
            try:
                if from_block >= window_floor:
                    headers = {
                        h.number: h for h in await self.headers(wanted, known if not attempt else None)
                    }
                    hits = [headers[n] for n in wanted if self._bloom_hit(headers[n])]
                    problem = self._unlinked([headers[n] for n in wanted])
                    if problem:
                        failure = InconsistentNode
                        log.info("blocks %d..%d: %s; refetching", from_block, to_block, problem)
                        continue
                    logs = await self.logs_at(hits)
                    self.skipped_blocks += to_block - from_block + 1 - len(hits)
                    by_hash = True
                else:
                    logs, to_block = await self.logs(from_block, planned_to)
                    wanted = sorted(
                        {from_block, to_block, *range(max(from_block, window_floor), to_block + 1)}
                    )
                    headers = {h.number: h for h in await self.headers(wanted)}
                    by_hash = False
                window = [headers[n] for n in wanted if n >= window_floor]
                problem = self._inconsistency(logs, headers, window)
                failure = InconsistentNode
                if not problem:
                    logs, problem = await self._resolve_bloom_hits(logs, window, by_hash=by_hash)
                    failure = LogsUnavailable
            except (NotYetAvailable, RpcBlockUnavailable) as exc:
                problem, failure = str(exc), NotYetAvailable
                continue
            if not problem:
                return Chunk(from_block, to_block, logs, headers[from_block], headers[to_block], window)
            log.info("blocks %d..%d: %s; refetching", from_block, to_block, problem)
        raise failure(f"blocks {from_block}..{to_block}: {problem}")

    async def _resolve_bloom_hits(
        self, logs: list[DecodedLog], window: list[BlockHeader], *, by_hash: bool
    ) -> tuple[list[DecodedLog], str]:
        """``logs`` completed for blocks whose bloom names our contracts but that came back without logs.

        Such a block is asked again by its hash (when ``logs`` came from a range query), then through its
        receipts: receipts whose logs rebuild the header's bloom filter exactly are the block's whole output, so
        they settle it (our logs among them, or a bloom false positive when there are none). A node without
        ``eth_getBlockReceipts`` leaves the block-hash answer as the last word (EIP-234: a node that lacks the
        block must error, not answer []). Returns the logs and "" or, when a block stays unresolved, a problem.
        """
        with_logs = {entry.block_number for entry in logs}
        silent = [h for h in window if h.number not in with_logs and self._bloom_hit(h)]
        if not silent:
            return logs, ""
        if not by_hash:
            logs = sorted([*logs, *await self.logs_at(silent)], key=lambda d: (d.block_number, d.log_index))
            with_logs = {entry.block_number for entry in logs}
            silent = [h for h in silent if h.number not in with_logs]
        found: list[DecodedLog] = []
        for header in silent:
            if not self._receipts_supported or len(header.logs_bloom) != 256:
                continue  # nothing to cross-check against: the block-hash answer stands
            try:
                receipts = await self.rpc.get_block_receipts(header.hash)
            except RpcMethodUnsupported as exc:
                log.warning(
                    "node does not serve eth_getBlockReceipts (%s); trusting eth_getLogs by hash", exc
                )
                self._receipts_supported = False
                continue
            ours, problem = self._logs_of_receipts(header, receipts)
            if problem:
                return logs, problem
            if not ours:
                log.debug(
                    "block %d: bloom false positive (its receipts hold none of our logs)", header.number
                )
            found.extend(ours)
        if found:
            log.warning(
                "eth_getLogs missed %d logs that the receipts of blocks %s hold; taking them from the receipts",
                len(found),
                sorted({entry.block_number for entry in found}),
            )
        return sorted([*logs, *found], key=lambda d: (d.block_number, d.log_index)), ""

    def _logs_of_receipts(
        self, header: BlockHeader, receipts: list[dict[str, Any]] | None
    ) -> tuple[list[DecodedLog], str]:
        """Our logs among ``receipts`` of ``header``'s block, or a problem when they are not the block's."""
        if receipts is None:
            return [], f"node has no receipts of block {header.number} ({header.hash})"
        entries = [entry for receipt in receipts for entry in receipt.get("logs") or []]
        bloom = BloomFilter()
        for entry in entries:
            bloom.add(bytes.fromhex(entry["address"][2:]))
            bloom.extend(bytes.fromhex(topic[2:]) for topic in entry["topics"])
        if int(bloom).to_bytes(256, "big") != header.logs_bloom or any(
            str(entry.get("blockHash", "")).lower() != header.hash for entry in entries
        ):
            return [], (
                f"bloom of block {header.number} lists our contracts but neither eth_getLogs nor its receipts "
                f"returned the block's logs (a node behind a load balancer lagging or missing them)"
            )
        topics = {t.lower() for t in self.topics[0]}
        ours = [
            self.decoder.decode(entry)
            for entry in entries
            if entry["address"].lower() in self._address_set
            and entry["topics"]
            and entry["topics"][0].lower() in topics
        ]
        return ours, ""

    @staticmethod
    def _unlinked(headers: list[BlockHeader]) -> str:
        for earlier, later in itertools.pairwise(headers):
            if later.number == earlier.number + 1 and later.parent_hash != earlier.hash:
                return f"block {later.number} does not link to {earlier.number} (reorg in flight)"
        return ""

    def _inconsistency(
        self, logs: list[DecodedLog], headers: dict[int, BlockHeader], window: list[BlockHeader]
    ) -> str:
        problem = self._unlinked(window)
        if problem:
            return problem
        for entry in logs:
            header = headers.get(entry.block_number)
            if header is not None and header.hash != entry.block_hash:
                return f"log of block {entry.block_number} has another block hash (reorg in flight)"
        return ""

    def may_hold_ours(self, header: BlockHeader) -> bool:
        """False when the block's bloom filter rules out logs of our contracts (True without a bloom)."""
        return self._bloom_hit(header)

    def _bloom_hit(self, header: BlockHeader) -> bool:
        return any(header.may_contain(a) for a in self._address_bytes) and any(
            header.may_contain(t) for t in self._topic_bytes
        )
