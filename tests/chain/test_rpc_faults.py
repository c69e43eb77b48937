"""RPC faults through a fault-injecting proxy: the final database equals a fault-free run."""

from __future__ import annotations

from typing import Any

import pytest

from harness.devnet import Devnet
from harness.fault_proxy import FaultProxy, Faults
from harness.indexer import dump, fresh_engine, run_scenario, sync_ok
from indexer.chain.rpc import (
    RpcBlockUnavailable,
    RpcRangeTooLarge,
    RpcTimeout,
    RpcTransientError,
    classify_error,
)


def _index_through(
    devnet: Devnet, url: str, faults: Faults, **spec: Any
) -> tuple[dict[str, Any], FaultProxy]:
    proxy = FaultProxy(devnet.anvil.url, faults)
    try:
        engine = fresh_engine(url)
        head = devnet.anvil.block_number()
        for _ in range(10):  # a lagging node may report an older head: `sync` stops there; sync again
            sync_ok(engine, [devnet.spec(rpc_url=proxy.url, **spec)])
            result = dump(engine, devnet.anvil.chain_id)
            if result["checkpoint"][0] == head:
                break
        return result, proxy
    finally:
        proxy.stop()


def test_faults__429_500_timeouts_ranges_lag__same_result_as_fault_free(
    devnet: Devnet, tmp_path: Any
) -> None:
    run_scenario(devnet, seed=51, steps=60)
    spec = {
        "initial_block_range": 16,
        "max_block_range": 64,
        "concurrency": 3,
        "rpc_timeout": 0.4,
        "reorg_window": 16,  # most blocks below the window: range queries, where the range faults apply
    }
    clean = fresh_engine(f"sqlite:///{tmp_path}/clean.db")
    sync_ok(clean, [devnet.spec(**spec)])
    expected = dump(clean, devnet.anvil.chain_id)

    faults = Faults(
        http_429=0.12, http_500=0.08, slow=0.04, slow_seconds=0.8, range_limit=5, lagging=0.25, lag=4, seed=7
    )
    got, proxy = _index_through(devnet, f"sqlite:///{tmp_path}/faulty.db", faults, **spec)

    assert got == expected
    for kind in ("429", "500", "slow", "lagging", "range_alchemy", "range_infura", "range_generic"):
        assert proxy.counts[kind] > 0, (kind, proxy.counts)  # every fault really happened


def test_faults__lagging_node_only__same_result(devnet: Devnet, tmp_path: Any) -> None:
    run_scenario(devnet, seed=52, steps=40)
    clean = fresh_engine(f"sqlite:///{tmp_path}/clean.db")
    sync_ok(clean, [devnet.spec()])
    got, proxy = _index_through(
        devnet, f"sqlite:///{tmp_path}/lag.db", Faults(lagging=0.5, lag=6, seed=3), initial_block_range=8
    )
    assert got == dump(clean, devnet.anvil.chain_id)
    assert proxy.counts["lagging"] > 0


@pytest.mark.parametrize(
    ("error", "kind", "suggested"),
    [
        (
            {
                "code": -32602,
                "message": "Log response size exceeded. this block range should work: [0x10, 0x1f]",
            },
            RpcRangeTooLarge,
            (16, 31),
        ),
        (
            {
                "code": -32005,
                "message": "query returned more than 10000 results. Try with this block range [0x2A, 0x3b].",
            },
            RpcRangeTooLarge,
            (42, 59),
        ),
        (
            {
                "code": -32005,
                "message": "query returned more than 10000 results",
                "data": {"from": "0x1", "to": "0x9", "limit": 10000},
            },
            RpcRangeTooLarge,
            (1, 9),
        ),
        ({"code": -32000, "message": "block range is too large"}, RpcRangeTooLarge, None),
        ({"code": -32000, "message": "exceed maximum block range: 5000"}, RpcRangeTooLarge, None),
        ({"code": -32000, "message": "Response size exceeded"}, RpcRangeTooLarge, None),
        (
            {"code": -32005, "message": "daily request count exceeded, request rate limited"},
            RpcTransientError,
            None,
        ),
        ({"code": 429, "message": "Too Many Requests"}, RpcTransientError, None),
        ({"code": -32000, "message": "request timed out"}, RpcTimeout, None),
        (
            {"code": -32000, "message": "block height is 3088 but requested was 3091"},
            RpcBlockUnavailable,
            None,
        ),
        ({"code": -32000, "message": "header not found"}, RpcBlockUnavailable, None),
        ({"code": -32000, "message": "unknown block"}, RpcBlockUnavailable, None),
        ({"code": -32602, "message": "Block out of range"}, RpcBlockUnavailable, None),
    ],
)
def test_classify_error__provider_messages(error: dict[str, Any], kind: type, suggested: Any) -> None:
    exc = classify_error(error)
    assert type(exc) is kind
    if isinstance(exc, RpcRangeTooLarge):
        assert exc.suggested_range == suggested
