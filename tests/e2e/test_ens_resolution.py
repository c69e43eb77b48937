"""ENS resolution end to end: a profile written on L2 is read through L1 ENS by real clients.

ethers v6 (indexer/devnet/resolve.mjs) and web3.py find `op.dm3.eth`'s resolver by the ENSIP-10 walk from
`alice.op.dm3.eth`, call `resolve(dnsName, data)`, follow the OffchainLookup to our gateway (served by
`python -m indexer.api` from what `dm3-indexer sync` indexed) and have the L1 resolver check the signed answer.
"""

from __future__ import annotations

import pytest
from eth_abi import encode
from web3 import Web3
from web3.exceptions import ContractLogicError, MultipleFailedRequests

from harness.ens import (
    GATEWAY,
    EnsDevnet,
    Published,
    decode_one,
    find_resolver,
    resolve_with_web3,
    run_ethers,
)
from indexer.dm3.profile import PROFILE_KEY, ProfileRecord, check_profile_signature, parse_profile_record
from indexer.gateway.codec import ADDR_SELECTOR, MULTICALL_SELECTOR, TEXT_SELECTOR, namehash


def _text_call(name: str, key: str) -> bytes:
    return TEXT_SELECTOR + encode(["bytes32", "string"], [namehash(name), key])


def _addr_call(name: str) -> bytes:
    return ADDR_SELECTOR + encode(["bytes32"], [namehash(name)])


def _multicall(*calls: bytes) -> bytes:
    return MULTICALL_SELECTOR + encode(["bytes[]"], [list(calls)])


def _assert_dm3_profile_of(value: str, address: str) -> None:
    """The resolved record is a dm3 profile whose signature checks out for `address`."""
    record = parse_profile_record(value)
    assert isinstance(record, ProfileRecord), record
    assert record.kind == "data"
    assert record.signed_profile is not None
    assert check_profile_signature(record.signed_profile, address)


# --- ethers v6 ---------------------------------------------------------------------------------------------------


def test_ethers__resolves_profile_address_and_address_name(published: Published, devnet: EnsDevnet):
    alice, bob = published.alice_name, published.bob_name
    answer = run_ethers(
        devnet,
        {
            "queries": [
                {"name": alice, "text": PROFILE_KEY},
                {"name": alice, "address": True},
                {"name": alice, "text": "com.twitter"},
                {"name": bob, "address": True},
                {"name": bob, "text": "email"},
                {"name": "nobody.op.dm3.eth", "address": True},
            ]
        },
    )
    results = answer["results"]
    assert {r["resolver"] for r in results} == {devnet.dm3_resolver.address}
    profile, address, missing, bob_address, bob_email, nobody = (r["value"] for r in results)
    assert profile == published.alice_profile
    _assert_dm3_profile_of(profile, published.alice.address)
    assert address == published.alice.address
    assert missing == ""  # a missing text is a signed empty answer, not an error
    assert bob_address == published.bob.address
    assert bob_email == published.bob_email
    assert nobody is None  # ethers reads the zero address as "no address"


def test_ethers__multicall_in_one_lookup(published: Published, devnet: EnsDevnet):
    (result,) = run_ethers(
        devnet,
        {
            "queries": [
                {
                    "name": published.alice_name,
                    "multicall": [{"text": PROFILE_KEY}, {"address": True}, {"text": "url"}],
                }
            ]
        },
    )["results"]
    assert result["value"] == [published.alice_profile, published.alice.address, ""]


def test_ethers__reference_offchain_resolver_accepts_gateway_answers(
    published: Published, devnet: EnsDevnet, l1_snapshot: None
):
    """ENS's published OffchainResolver, set as `op.dm3.eth`'s resolver, verifies our gateway's answers."""
    devnet.set_resolver("op.dm3.eth", devnet.reference_resolver.address)
    results = run_ethers(
        devnet,
        {
            "queries": [
                {"name": published.alice_name, "text": PROFILE_KEY},
                {"name": published.alice_name, "address": True},
                {"name": published.bob_name, "text": "email"},
            ]
        },
    )["results"]
    assert {r["resolver"] for r in results} == {devnet.reference_resolver.address}
    assert [r["value"] for r in results] == [
        published.alice_profile,
        published.alice.address,
        published.bob_email,
    ]


def test_ethers__untrusted_gateway_key__gets_no_answer(
    published: Published, devnet: EnsDevnet, l1_snapshot: None
):
    """Once the resolver stops trusting the gateway's key, `resolveWithProof` reverts and ethers reads nothing."""
    devnet.l1.send(devnet.dm3_resolver.functions.remove_signers([GATEWAY.address]))
    (result,) = run_ethers(devnet, {"queries": [{"name": published.alice_name, "text": PROFILE_KEY}]})[
        "results"
    ]
    assert result == {"resolver": devnet.dm3_resolver.address, "value": None}


def test_ethers__sees_a_record_written_after_the_first_sync(published: Published, devnet: EnsDevnet):
    node = namehash(published.alice_name)
    devnet.set_text(node, "com.github", "alice-dm3", published.alice)
    query = {"queries": [{"name": published.alice_name, "text": "com.github"}]}
    assert run_ethers(devnet, query)["results"][0]["value"] == ""  # on L2, not indexed yet
    devnet.index()
    assert run_ethers(devnet, query)["results"][0]["value"] == "alice-dm3"


# --- web3.py -----------------------------------------------------------------------------------------------------


def test_web3__ensip10_walk_finds_the_parent_resolver(
    published: Published, devnet: EnsDevnet, l1_web3: Web3, ens_abi: list
):
    assert find_resolver(l1_web3, devnet.ens.address, ens_abi, published.alice_name) == (
        devnet.dm3_resolver.address,
        "op.dm3.eth",
    )
    assert find_resolver(l1_web3, devnet.ens.address, ens_abi, "alice.other.eth") is None


def test_web3__resolves_profile_address_and_address_name(
    published: Published, devnet: EnsDevnet, l1_web3: Web3, ens_abi: list, loopback_gateways: None
):
    resolver, _ = find_resolver(l1_web3, devnet.ens.address, ens_abi, published.alice_name)  # type: ignore[misc]
    alice, bob = published.alice_name, published.bob_name

    profile = decode_one(
        "string", resolve_with_web3(l1_web3, resolver, alice, _text_call(alice, PROFILE_KEY))
    )
    assert profile == published.alice_profile
    _assert_dm3_profile_of(profile, published.alice.address)
    address = decode_one("address", resolve_with_web3(l1_web3, resolver, alice, _addr_call(alice)))
    assert Web3.to_checksum_address(address) == published.alice.address
    assert decode_one("string", resolve_with_web3(l1_web3, resolver, alice, _text_call(alice, "nope"))) == ""
    bob_address = decode_one("address", resolve_with_web3(l1_web3, resolver, bob, _addr_call(bob)))
    assert Web3.to_checksum_address(bob_address) == published.bob.address


def test_web3__multicall_in_one_lookup(
    published: Published, devnet: EnsDevnet, l1_web3: Web3, ens_abi: list, loopback_gateways: None
):
    resolver, _ = find_resolver(l1_web3, devnet.ens.address, ens_abi, published.alice_name)  # type: ignore[misc]
    alice = published.alice_name
    raw = resolve_with_web3(
        l1_web3,
        resolver,
        alice,
        _multicall(_text_call(alice, PROFILE_KEY), _addr_call(alice), _text_call(alice, "url")),
    )
    profile, address, url = decode_one("bytes[]", raw)
    assert decode_one("string", profile) == published.alice_profile
    assert Web3.to_checksum_address(decode_one("address", address)) == published.alice.address
    assert decode_one("string", url) == ""


def test_web3__reference_offchain_resolver_accepts_gateway_answers(
    published: Published, devnet: EnsDevnet, l1_web3: Web3, loopback_gateways: None
):
    alice = published.alice_name
    raw = resolve_with_web3(l1_web3, devnet.reference_resolver.address, alice, _text_call(alice, PROFILE_KEY))
    assert decode_one("string", raw) == published.alice_profile


def test_web3__untrusted_gateway_key__reverts(
    published: Published, devnet: EnsDevnet, l1_web3: Web3, loopback_gateways: None, l1_snapshot: None
):
    devnet.l1.send(devnet.dm3_resolver.functions.remove_signers([GATEWAY.address]))
    alice = published.alice_name
    with pytest.raises(ContractLogicError, match="resolver: invalid signer"):
        resolve_with_web3(l1_web3, devnet.dm3_resolver.address, alice, _text_call(alice, PROFILE_KEY))


def test_web3__refuses_loopback_gateways_by_default(published: Published, devnet: EnsDevnet, l1_web3: Web3):
    """Why `loopback_gateways` exists: without it web3.py skips the 127.0.0.1 gateway URL and gives up."""
    alice = published.alice_name
    with pytest.raises(MultipleFailedRequests):
        resolve_with_web3(l1_web3, devnet.dm3_resolver.address, alice, _text_call(alice, PROFILE_KEY))
