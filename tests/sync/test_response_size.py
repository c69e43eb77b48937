"""eth_getLogs ranges are bounded by the bytes of the answer, not only by block count: on a dense chain (4,000-byte
text records, several per block) a range is split by bytes, an answer past the limit is dropped unread, a chunk
stops at the byte target, and the index is still complete and in order."""

from __future__ import annotations

import asyncio

import pytest
from ens.utils import normal_name_to_hash

from harness.devnet import Devnet
from harness.indexer import fresh_engine, sync_ok
from indexer.chain.abi import topics_for
from indexer.chain.rpc import RpcClient, RpcResponseTooLarge
from indexer.store.writer import count_rows
from indexer.sync.fetch import AdaptiveRange, LogFetcher

BLOCKS = 6
TEXTS_PER_BLOCK = 4  # ~8.7 kB of JSON each: ~35 kB a block


@pytest.fixture
def dense(devnet: Devnet) -> Devnet:
    """BLOCKS blocks, each with TEXTS_PER_BLOCK 4,000-byte text records and a registration."""
    anvil = devnet.anvil
    parent = devnet.spec().parent_name
    anvil.rpc("evm_setAutomine", [False])
    try:
        for b in range(BLOCKS):
            for i in range(TEXTS_PER_BLOCK):
                sender = devnet.accounts[i]
                node = normal_name_to_hash(f"{sender[2:]}.addr.{parent}")
                tx = devnet.tx_request(
                    devnet.registry, sender, "setText", node, "k", f"{b}:{i}:" + "p" * 4_000
                )
                anvil.rpc("eth_sendTransaction", [{**tx, "gas": hex(5_000_000)}])
            sender = devnet.accounts[-1]
            tx = devnet.tx_request(
                devnet.registry, sender, "register", f"dense{b}", devnet.w3.to_checksum_address(sender)
            )
            anvil.rpc("eth_sendTransaction", [tx])
            anvil.rpc("evm_mine")
    finally:
        anvil.rpc("evm_setAutomine", [True])
    return devnet


def _fetcher(net: Devnet, rpc: RpcClient, block_range: AdaptiveRange) -> LogFetcher:
    contracts = dict(net.spec().contracts().items())
    return LogFetcher(rpc, contracts=contracts, block_range=block_range)  # type: ignore[arg-type]


def test_get_logs__answer_past_max_bytes__dropped_as_too_large(dense: Devnet) -> None:
    async def run() -> tuple[int, int]:
        async with RpcClient(dense.anvil.url) as rpc:
            head = await rpc.block_number()
            query = {"from_block": 0, "to_block": head, "addresses": [dense.registry.address], "topics": []}
            logs, size = await rpc.get_logs_sized(**query)  # type: ignore[arg-type]
            with pytest.raises(RpcResponseTooLarge):
                await rpc.get_logs_sized(**query, max_bytes=size - 1)  # type: ignore[arg-type]
            return len(logs), size

    count, size = asyncio.run(run())
    assert count >= BLOCKS * (TEXTS_PER_BLOCK + 2)
    assert size > BLOCKS * TEXTS_PER_BLOCK * 8_000


def test_logs__dense_blocks__span_split_by_bytes_and_chunk_stops_at_the_target(dense: Devnet) -> None:
    async def run() -> tuple[list[tuple[int, int]], list[int], int, int]:
        async with RpcClient(dense.anvil.url) as rpc:
            head = await rpc.block_number()
            whole, _ = await rpc.get_logs_sized(
                from_block=0,
                to_block=head,
                addresses=sorted(dense.spec().contracts()),
                topics=[topics_for(sorted(set(dense.spec().contracts().values())))],  # type: ignore[arg-type]
            )
            # Ranges of 64 blocks would take the whole dense chain (~210 kB) in one answer: 20 kB is the target.
            block_range = AdaptiveRange(initial=64, maximum=64, target_bytes=20_000)
            fetcher = _fetcher(dense, rpc, block_range)
            got: list[tuple[int, int]] = []
            ends: list[int] = []
            start = 0
            while start <= head:
                logs, end = await fetcher.logs(start, head)
                got += [(entry.block_number, entry.log_index) for entry in logs]
                ends.append(end)
                start = end + 1
            return got, ends, block_range.size, len(whole)

    got, ends, size, expected = asyncio.run(run())
    assert len(ends) > 2  # the chunks stopped at the byte target instead of taking the rest of the range
    assert size <= 2  # ~35 kB a block against a 20 kB target
    assert len(got) == expected == len(set(got))  # nothing lost, nothing twice...
    assert got == sorted(got)  # ...and in order


def test_sync__tiny_byte_target__complete_index(dense: Devnet, sqlite_url: str) -> None:
    engine = fresh_engine(sqlite_url)
    sync_ok(engine, [dense.spec(logs_target_bytes=10_000, initial_block_range=64, concurrency=3)])
    reference = fresh_engine(sqlite_url.replace("dm3.db", "reference.db"))
    sync_ok(reference, [dense.spec()])
    chain = dense.anvil.chain_id
    assert count_rows(engine, "events", chain) == count_rows(reference, "events", chain) >= BLOCKS * 5
    assert count_rows(engine, "text_records", chain) == count_rows(reference, "text_records", chain)
