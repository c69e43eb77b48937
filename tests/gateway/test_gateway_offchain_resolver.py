"""Cross-check: ENS's published OffchainResolver (npm @ensdomains/offchain-resolver-contracts 0.2.1, deployed on
anvil) accepts our gateway's signed answers for its own OffchainLookup callData, and rejects a tampered one."""

from __future__ import annotations

import json
from pathlib import Path

import ape
import pytest
from ape.exceptions import ContractLogicError
from eth_abi import decode, encode
from eth_utils import keccak
from ethpm_types import ContractType

from harness.api import GATEWAY_ACCOUNT, OP_CHAIN_ID
from indexer.gateway.codec import ADDR_COIN_SELECTOR, TEXT_SELECTOR, encode_dns_name, namehash
from indexer.gateway.signer import GatewaySigner
from indexer.store.models import TextRecord

ARTIFACT = (
    Path(__file__).resolve().parents[2]
    / "node_modules/@ensdomains/offchain-resolver-contracts/artifacts/contracts/OffchainResolver.sol"
    / "OffchainResolver.json"
)
OFFCHAIN_LOOKUP = keccak(text="OffchainLookup(address,string[],bytes,bytes4,bytes)")[:4]
NAME = "alice.op.dm3.eth"
NODE = namehash(NAME)


@pytest.fixture(scope="module")
def offchain_resolver(accounts):
    artifact = json.loads(ARTIFACT.read_text())
    contract_type = ContractType.model_validate(
        {
            "contractName": "OffchainResolver",
            "abi": artifact["abi"],
            "deploymentBytecode": {"bytecode": artifact["bytecode"]},
        }
    )
    container = ape.contracts.ContractContainer(contract_type)
    return container.deploy(
        "http://127.0.0.1/ccip/{sender}/{data}.json", [GATEWAY_ACCOUNT.address], sender=accounts[0]
    )


def _lookup_call_data(resolver, inner: bytes) -> bytes:
    """callData from the resolver's own `OffchainLookup(sender, urls, callData, callbackFunction, extraData)`."""
    with pytest.raises(ContractLogicError) as raised:
        resolver.resolve(encode_dns_name(NAME), inner)
    message = str(raised.value.revert_message)
    assert message.startswith(f"custom error 0x{OFFCHAIN_LOOKUP.hex()}: "), message
    sender, _urls, call_data, _callback, extra_data = decode(
        ["address", "string[]", "bytes", "bytes4", "bytes"], bytes.fromhex(message.split(": ", 1)[1])
    )
    assert sender.lower() == resolver.address.lower()
    assert extra_data == call_data
    return call_data


def test_offchain_resolver_accepts_gateway_answers(client, seed, chains, offchain_resolver, chain):
    seed(
        TextRecord(
            chain_id=OP_CHAIN_ID,
            node="0x" + NODE.hex(),
            key="url",
            value="https://alice.example",
            block_number=1,
        )
    )
    sender = offchain_resolver.address
    for inner, abi_type, expected in (
        (TEXT_SELECTOR + encode(["bytes32", "string"], [NODE, "url"]), "string", "https://alice.example"),
        (ADDR_COIN_SELECTOR + encode(["bytes32", "uint256"], [NODE, 0x80000000 | 10]), "bytes", b""),
    ):
        call_data = _lookup_call_data(offchain_resolver, inner)
        assert call_data == bytes.fromhex("9061b923") + encode(
            ["bytes", "bytes"], [encode_dns_name(NAME), inner]
        )
        response = client.get(f"/ccip/{sender}/0x{call_data.hex()}.json")
        assert response.status_code == 200, response.text
        answer = bytes.fromhex(response.json()["data"][2:])
        result = offchain_resolver.resolveWithProof(answer, call_data)
        assert decode([abi_type], bytes(result)) == (expected,)


def test_offchain_resolver_rejects_other_signers_and_targets(offchain_resolver, chain):
    import time

    from eth_account import Account

    call_data = bytes.fromhex("9061b923") + encode(["bytes", "bytes"], [encode_dns_name(NAME), b"\x00" * 4])
    now = int(time.time())
    stranger = GatewaySigner(Account.from_key("0x" + "77" * 32), ttl_seconds=300)
    signed = stranger.sign(
        sender=bytes.fromhex(offchain_resolver.address[2:]), request=call_data, result=b"", now=now
    )
    with ape.reverts("SignatureVerifier: Invalid sigature"):
        offchain_resolver.resolveWithProof(signed.data, call_data)
    ours = GatewaySigner(GATEWAY_ACCOUNT, ttl_seconds=300)
    wrong_target = ours.sign(sender=b"\x11" * 20, request=call_data, result=b"", now=now)
    with ape.reverts("SignatureVerifier: Invalid sigature"):
        offchain_resolver.resolveWithProof(wrong_target.data, call_data)
    good = ours.sign(
        sender=bytes.fromhex(offchain_resolver.address[2:]), request=call_data, result=b"", now=now
    )
    assert bytes(offchain_resolver.resolveWithProof(good.data, call_data)) == b""
