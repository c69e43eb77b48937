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
