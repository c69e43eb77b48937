"""Fixtures for Dm3Resolver: deployments (ours and ENS's reference OffchainResolver) and raw call helpers.

Raw `eth_call`s go through web3 with CCIP-read disabled, so the tests see the exact revert bytes instead of web3
trying to follow the OffchainLookup or ape trying to decode the custom error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ape.contracts import ContractContainer
from eth_abi import decode, encode
from eth_utils import to_checksum_address
from ethpm_types import ContractType
from web3.exceptions import ContractCustomError, ContractLogicError

from .resolver_helpers import (
    OFFCHAIN_LOOKUP_SELECTOR,
    OFFCHAIN_LOOKUP_TYPES,
    URLS,
    Gateway,
    OffchainLookup,
    callback_calldata,
    error_string,
    make_gateway,
    resolve_request,
)

REFERENCE_ARTIFACT = (
    Path(__file__).resolve().parents[3]
    / "node_modules/@ensdomains/offchain-resolver-contracts/artifacts/contracts/OffchainResolver.sol"
    / "OffchainResolver.json"
)

EthCall = Callable[..., tuple[bool, bytes]]


@pytest.fixture(scope="session")
def gateway() -> Gateway:
    """The signer both deployed resolvers trust."""
    return make_gateway("dm3 resolver test signer 1")


@pytest.fixture(scope="session")
def second_gateway() -> Gateway:
    """A key no resolver trusts at deployment."""
    return make_gateway("dm3 resolver test signer 2")


@pytest.fixture(scope="module")
def resolver(project: Any, owner: Any, gateway: Gateway) -> Any:
    return project.Dm3Resolver.deploy(URLS, [gateway.address], owner, sender=owner)


@pytest.fixture(scope="module")
def other_resolver(project: Any, owner: Any, gateway: Gateway) -> Any:
    """A second Dm3Resolver trusting the same signer: answers signed for it must not verify on `resolver`."""
    return project.Dm3Resolver.deploy(URLS, [gateway.address], owner, sender=owner)


@pytest.fixture(scope="module")
def reference_resolver(owner: Any, gateway: Gateway) -> Any:
    """ENS's reference OffchainResolver, deployed from the compiled artifact the npm package ships."""
    artifact = json.loads(REFERENCE_ARTIFACT.read_text())
    contract_type = ContractType.model_validate(
        {
            "contractName": artifact["contractName"],
            "abi": artifact["abi"],
            "deploymentBytecode": {"bytecode": artifact["bytecode"]},
            "runtimeBytecode": {"bytecode": artifact["deployedBytecode"]},
        }
    )
    return owner.deploy(ContractContainer(contract_type), URLS[0], [gateway.address])


@pytest.fixture(scope="session")
def web3(chain: Any) -> Any:
    return chain.provider.web3


def _revert_data(error: Exception) -> bytes:
    data = getattr(error, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if data is None:
        return b""
    assert isinstance(data, str), f"unexpected revert data in {error!r}"
    return bytes.fromhex(data.removeprefix("0x"))


@pytest.fixture(scope="session")
def eth_call(web3: Any) -> EthCall:
    """Raw `eth_call`: (True, return data) or (False, revert data), never decoded by ape or web3."""

    def call(to: str, data: bytes, *, block: int | str = "latest") -> tuple[bool, bytes]:
        tx = {"to": to_checksum_address(to), "data": "0x" + data.hex()}
        try:
            return True, bytes(web3.eth.call(tx, block_identifier=block, ccip_read_enabled=False))
        except (ContractCustomError, ContractLogicError) as error:
            return False, _revert_data(error)

    return call


@pytest.fixture(scope="session")
def lookup(eth_call: EthCall) -> Callable[[Any, bytes, bytes], OffchainLookup]:
    """Calls `resolve(name, data)` and decodes the OffchainLookup revert field by field."""

    def run(resolver: Any, name: bytes, data: bytes) -> OffchainLookup:
        ok, revert = eth_call(resolver.address, resolve_request(name, data))
        assert not ok, "resolve must always revert"
        assert revert[:4] == OFFCHAIN_LOOKUP_SELECTOR, revert[:4].hex()
        sender, urls, call_data, callback, extra = decode(OFFCHAIN_LOOKUP_TYPES, revert[4:])
        # Canonical ABI encoding: re-encoding the decoded fields gives back the same bytes.
        assert encode(OFFCHAIN_LOOKUP_TYPES, [sender, urls, call_data, callback, extra]) == revert[4:]
        return OffchainLookup(
            sender=to_checksum_address(sender),
            urls=list(urls),
            call_data=call_data,
            callback_function=callback,
            extra_data=extra,
        )

    return run


@pytest.fixture(scope="session")
def verify(eth_call: EthCall) -> Callable[..., tuple[bool, bytes | str]]:
    """Calls `resolveWithProof` raw: (True, decoded `bytes` result) or (False, revert reason; "" if none)."""

    def run(
        resolver: Any, response: bytes, extra_data: bytes, *, block: int | str = "latest"
    ) -> tuple[bool, bytes | str]:
        ok, out = eth_call(resolver.address, callback_calldata(response, extra_data), block=block)
        if ok:
            return True, decode(["bytes"], out)[0]
        return False, error_string(out) if out else ""

    return run


@pytest.fixture
def now(web3: Any) -> int:
    """Timestamp of the latest block: what `block.timestamp` is in an `eth_call` at "latest"."""
    return int(web3.eth.get_block("latest")["timestamp"])
