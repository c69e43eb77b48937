"""Fetching one block range: logs of both contracts in one eth_getLogs filter, split adaptively, plus headers."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from indexer.chain.abi import ContractKind, DecodedLog, LogDecoder, topics_for
from indexer.chain.rpc import BlockHeader, RpcClient, RpcError, RpcRangeTooLarge, RpcTimeout
from indexer.sync.errors import InconsistentNode

log = logging.getLogger(__name__)


class AdaptiveRange:
    """The eth_getLogs block span: doubles after quick, small answers, shrinks on range errors and timeouts."""

    def __init__(self, *, initial: int, maximum: int, target_logs: int = 5_000) -> None:
        self.size = max(1, min(initial, maximum))
        self.maximum = maximum
        self.target_logs = target_logs

    def succeeded(self, span: int, logs: int) -> None:
        if span >= self.size and logs < self.target_logs // 2:
            self.size = min(self.maximum, self.size * 2)
        elif logs > self.target_logs:
            self.size = max(1, self.size // 2)

    def too_large(self, span: int, suggested: int | None = None) -> int:
        """Record a refusal of ``span`` blocks; returns the span to try next."""
        if suggested is not None and 0 < suggested < span:
            self.size = suggested
        else:
            self.size = max(1, min(self.size, span // 2))
        return self.size


class NotYetAvailable(Exception):
    """The node has no header for a block it should have (a lagging node behind a load balancer): wait."""


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
        self.decoder = LogDecoder(contracts)
        self.addresses = sorted(contracts)
        self.topics: list[Any] = [topics_for(sorted(set(contracts.values())))]
        self.range = block_range
        self.batch_size = batch_size
        self._address_bytes = [bytes.fromhex(a[2:]) for a in self.addresses]
        self._topic_bytes = [bytes.fromhex(t[2:]) for t in self.topics[0]]

    async def logs(self, from_block: int, to_block: int) -> list[DecodedLog]:
        """All logs in [from_block, to_block], splitting the span as the node demands. Sorted."""
        out: list[dict[str, Any]] = []
        start = from_block
        while start <= to_block:
            end = min(to_block, start + self.range.size - 1)
            try:
                raw = await self.rpc.get_logs(
                    from_block=start, to_block=end, addresses=self.addresses, topics=self.topics
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
            self.range.succeeded(end - start + 1, len(raw))
            out.extend(raw)
            start = end + 1
        decoded = [self.decoder.decode(entry) for entry in out if not entry.get("removed")]
        decoded.sort(key=lambda d: (d.block_number, d.log_index))
        return decoded

    async def headers(self, numbers: Sequence[int]) -> list[BlockHeader]:
        found = await self.rpc.get_blocks(list(numbers), batch_size=self.batch_size)
        missing = [n for n, h in zip(numbers, found, strict=True) if h is None]
        if missing:
            raise NotYetAvailable(f"node has no block {missing[0]} yet")
        return [h for h in found if h is not None]

    async def chunk(self, from_block: int, to_block: int, *, window_floor: int, attempts: int = 8) -> Chunk:
        """Logs and headers of [from_block, to_block], cross-checked inside the reorg window.

        Inside the window, every log must carry its header's hash and consecutive headers must link (else a
        reorg happened between our calls), and a block whose bloom filter says our contracts logged something
        must have returned logs (else a lagging node behind a load balancer answered with an empty range).
        """
        problem = ""
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(min(2.0, 0.1 * 2**attempt))
            try:
                logs = await self.logs(from_block, to_block)
                wanted = sorted({from_block, to_block, *range(max(from_block, window_floor), to_block + 1)})
                headers = {h.number: h for h in await self.headers(wanted)}
            except NotYetAvailable as exc:
                problem = str(exc)
                continue
            window = [headers[n] for n in wanted if n >= window_floor]
            problem = self._inconsistency(logs, headers, window)
            if not problem or (problem.startswith("bloom") and attempt == attempts - 1):
                if problem:  # a bloom false positive is possible: accept after the retries
                    log.warning("blocks %d..%d: %s; accepting", from_block, to_block, problem)
                return Chunk(from_block, to_block, logs, headers[from_block], headers[to_block], window)
            log.info("blocks %d..%d: %s; refetching", from_block, to_block, problem)
        if problem.startswith("node has no block"):
            raise NotYetAvailable(problem)
        raise InconsistentNode(f"blocks {from_block}..{to_block}: {problem}")

    def _inconsistency(
        self, logs: list[DecodedLog], headers: dict[int, BlockHeader], window: list[BlockHeader]
    ) -> str:
        for earlier, later in itertools.pairwise(window):
            if later.number == earlier.number + 1 and later.parent_hash != earlier.hash:
                return f"block {later.number} does not link to {earlier.number} (reorg in flight)"
        with_logs = set()
        for entry in logs:
            header = headers.get(entry.block_number)
            if header is not None and header.hash != entry.block_hash:
                return f"log of block {entry.block_number} has another block hash (reorg in flight)"
            with_logs.add(entry.block_number)
        for header in window:
            if header.number not in with_logs and self._bloom_hit(header):
                return f"bloom of block {header.number} lists our contracts but no logs came back"
        return ""

    def _bloom_hit(self, header: BlockHeader) -> bool:
        return any(header.may_contain(a) for a in self._address_bytes) and any(
            header.may_contain(t) for t in self._topic_bytes
        )
