"""The relayer's calldata rule (indexer.relayer.calls) against the compiled contracts' ABIs."""

from __future__ import annotations

from typing import Any

import pytest

from indexer import signing
from indexer.relayer import calls


def _type(item: dict[str, Any]) -> str:
    kind = str(item["type"])
    if kind.startswith("tuple"):
        return f"({','.join(_type(c) for c in item['components'])}){kind[5:]}"
    return kind


def _abi_signature(abi: list[dict[str, Any]], name: str) -> str:
    (fn,) = [item for item in abi if item.get("type") == "function" and item.get("name") == name]
    return f"{name}({','.join(_type(i) for i in fn['inputs'])})"


@pytest.mark.parametrize("function", sorted(signing.SIGNED_FUNCTIONS))
def test_abi_signature_matches_the_contract(compiled: dict[str, dict[str, Any]], function: str) -> None:
    contract = signing.SIGNED_FUNCTIONS[function].contract
    assert calls.abi_signature(function) == _abi_signature(compiled[contract]["abi"], function)


def test_batcher_selector_matches(compiled: dict[str, dict[str, Any]]) -> None:
    assert _abi_signature(compiled["RelayBatcher"]["abi"], "relay") == "relay((address,bytes)[])"


@pytest.mark.parametrize(
    ("data", "message", "reason"),
    [
        ({"data": "0x08c379a0" + "00" * 31 + "20" + "00" * 31 + "03" + "616263" + "00" * 29}, "", "abc"),
        (None, "execution reverted: registry: invalid signature", "registry: invalid signature"),
        ("0x08c379a0ff", "execution reverted", "reverted without a reason"),
        ("0xzz", "", "reverted without a reason"),
    ],
)
def test_revert_reason(data: Any, message: str, reason: str) -> None:
    assert calls.revert_reason(data, message) == reason


def _sample(kind: str, n: int) -> Any:
    return {
        "address": f"0x{n:040x}",
        "uint256": 2**255 + n,
        "bool": n % 2 == 0,
        "bytes32": bytes([n]) * 32,
        "bytes": bytes(range(n % 7 + 1)),
        "string": f"name-{n}.op.dm3.eth ☃",
    }[kind]


@pytest.mark.parametrize("function", sorted(signing.SIGNED_FUNCTIONS))
@pytest.mark.parametrize(
    ("chain_id", "contract"), [(10, "0x" + "ab" * 20), (8453, "0x00000000000000000000000000000000000000C0")]
)
def test_signable_message__the_bytes_of_encode_typed_data(
    function: str, chain_id: int, contract: str
) -> None:
    """The relayer's hashing with a cached domain separator is eth-account's full hashing, byte for byte."""
    from eth_account.messages import encode_typed_data
    from eth_utils import to_checksum_address

    spec = signing.SIGNED_FUNCTIONS[function]
    message = {name: _sample(kind, n + 1) for n, (name, kind) in enumerate(spec.fields)}
    message = {
        k: to_checksum_address(v) if isinstance(v, str) and len(v) == 42 else v for k, v in message.items()
    }
    full = encode_typed_data(
        full_message=signing.typed_data(function, message, chain_id=chain_id, verifying_contract=contract)
    )
    for _ in range(2):  # the second time from the cache
        assert (
            signing.signable_message(function, message, chain_id=chain_id, verifying_contract=contract)
            == full
        )
    other = signing.signable_message(function, message, chain_id=chain_id + 1, verifying_contract=contract)
    assert other.header != full.header and other.body == full.body


def test_batch_outcomes__a_revert_is_returned_the_other_answers_kept(anvil: Any) -> None:
    """The accept path's one round trip: a call the node refuses comes back as its error, in its place."""
    import asyncio

    from indexer.chain.rpc import RpcClient, RpcError

    async def run() -> list[Any]:
        async with RpcClient(anvil.url, chain="test") as rpc:
            # a call to a precompile with bad input reverts; eth_chainId answers
            bad = {"to": "0x0000000000000000000000000000000000000008", "data": "0x01"}
            return await rpc.batch_outcomes([("eth_chainId", []), ("eth_estimateGas", [bad, "latest"])])

    chain, failed = asyncio.run(run())
    assert int(chain, 16) == anvil.chain_id
    assert isinstance(failed, RpcError)
