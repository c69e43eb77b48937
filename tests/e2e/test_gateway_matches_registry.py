"""The gateway and the API answer exactly what ProfileRegistry's views answer, for every record kind.

Records are written on the L2 anvil, indexed by the real `dm3-indexer sync`, then read three ways: from the
contract's views (the truth), from the gateway over HTTP (its signed answers decoded), and through L1 ENS with
web3.py (Dm3Resolver checks the signature). Address records cover coin type 60, EVM chains with and without a
record (ENSIP-19's default-address fallback), the default itself, coin types outside the EVM range, and non-EVM
addresses short and long (over 31 bytes, stored apart by the contract).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from eth_abi import decode, encode
from eth_account import Account
from requests.exceptions import HTTPError
from web3 import Web3

from harness.ens import EnsDevnet, resolve_with_web3, run_ethers
from indexer.ens import DEFAULT_EVM_COIN_TYPE
from indexer.gateway.codec import (
    ADDR_COIN_SELECTOR,
    ADDR_SELECTOR,
    CONTENTHASH_SELECTOR,
    MULTICALL_SELECTOR,
    RESOLVE_SELECTOR,
    TEXT_SELECTOR,
    encode_dns_name,
    namehash,
)

CAROL = Account.from_key("0x" + "c4" * 32)  # a default EVM address and chain-specific ones, no coin-60 record
DAVE = Account.from_key("0x" + "d4" * 32)  # coin 60 and the default
ERIN = Account.from_key("0x" + "e4" * 32)  # no record at all
DEFAULT_ADDRESS = bytes.fromhex("de" * 20)
OPTIMISM_ADDRESS = bytes.fromhex("0e" * 20)
DAVE_DEFAULT = bytes.fromhex("dd" * 20)
BTC_P2WSH = bytes.fromhex("0020") + bytes(range(32))  # 34 bytes: longer than one storage word
LTC_P2PKH = bytes.fromhex("76a914") + bytes(range(20)) + bytes.fromhex("88ac")  # 25 bytes
DOGE_LONGEST = bytes(range(128))  # the contract's maximum
CONTENT = bytes.fromhex("e30101701220") + bytes(range(32))
TEXT_KEYS = ("url", "network.dm3.profile", "never-set")
COIN_TYPES = (
    60,
    DEFAULT_EVM_COIN_TYPE,
    DEFAULT_EVM_COIN_TYPE | 10,  # Optimism: carol has a record
    DEFAULT_EVM_COIN_TYPE | 8453,  # Base: no record, the default answers
    DEFAULT_EVM_COIN_TYPE | (2**31 - 1),  # the highest EVM chain id
    2**32 | DEFAULT_EVM_COIN_TYPE | 10,  # outside the EVM range: no fallback
    DEFAULT_EVM_COIN_TYPE - 1,
    0,  # BTC, 34 bytes
    2,  # LTC, 25 bytes
    3,  # DOGE, 128 bytes
    501,  # never set
    2**256 - 1,
)


def _text(node: bytes, key: str) -> bytes:
    return TEXT_SELECTOR + encode(["bytes32", "string"], [node, key])


def _addr(node: bytes) -> bytes:
    return ADDR_SELECTOR + encode(["bytes32"], [node])


def _addr_coin(node: bytes, coin_type: int) -> bytes:
    return ADDR_COIN_SELECTOR + encode(["bytes32", "uint256"], [node, coin_type])


def _contenthash(node: bytes) -> bytes:
    return CONTENTHASH_SELECTOR + encode(["bytes32"], [node])


def _queries(node: bytes) -> list[tuple[str, bytes]]:
    """Every resolver call to compare, with the ABI type of its answer."""
    return [
        *(("string", _text(node, key)) for key in TEXT_KEYS),
        ("address", _addr(node)),
        *(("bytes", _addr_coin(node, coin_type)) for coin_type in COIN_TYPES),
        ("bytes", _contenthash(node)),
    ]


@pytest.fixture(scope="module")
def names(devnet: EnsDevnet) -> dict[str, bytes]:
    """carol, dave and erin registered on L2 with their records, then indexed."""
    profiles, send = devnet.profiles.functions, devnet.l2.send
    nodes = {}
    for label, owner in (("carol", CAROL), ("dave", DAVE), ("erin", ERIN)):
        nodes[f"{label}.op.dm3.eth"] = devnet.register(label, owner)
    carol, dave = nodes["carol.op.dm3.eth"], nodes["dave.op.dm3.eth"]
    send(profiles.setText(carol, "url", "https://carol.example"), CAROL.address)
    send(profiles.setText(carol, "network.dm3.profile", "data:application/json,{}"), CAROL.address)
    for coin_type, address in (
        (DEFAULT_EVM_COIN_TYPE, DEFAULT_ADDRESS),
        (DEFAULT_EVM_COIN_TYPE | 10, OPTIMISM_ADDRESS),
        (0, BTC_P2WSH),
        (2, LTC_P2PKH),
        (3, DOGE_LONGEST),
    ):
        send(profiles.setAddrForCoin(carol, coin_type, address), CAROL.address)
    send(profiles.setContenthash(carol, CONTENT), CAROL.address)
    devnet.set_addr(dave, DAVE.address, DAVE)
    send(profiles.setAddrForCoin(dave, DEFAULT_EVM_COIN_TYPE, DAVE_DEFAULT), DAVE.address)
    devnet.index()
    return nodes


def _registry_answer(devnet: EnsDevnet, call: bytes) -> bytes:
    """What ProfileRegistry itself returns for a resolver call (ENS's `addr(bytes32,uint256)` selector included,
    which the contract serves from `__default__`)."""
    return bytes(devnet.l2.w3.eth.call({"to": devnet.profiles.address, "data": Web3.to_hex(call)}))


def _gateway_answer(devnet: EnsDevnet, name: str, call: bytes) -> bytes:
    """The gateway's signed answer to `resolve(name, call)`, as Dm3Resolver would ask for it, decoded."""
    request = RESOLVE_SELECTOR + encode(["bytes", "bytes"], [encode_dns_name(name), call])
    response = httpx.post(
        f"{devnet.gateway_url}/ccip",
        json={"sender": devnet.dm3_resolver.address, "data": "0x" + request.hex()},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    result, _expires, _signature = decode(
        ["bytes", "uint64", "bytes"], bytes.fromhex(response.json()["data"][2:])
    )
    return bytes(result)


@pytest.mark.parametrize("name", ["carol.op.dm3.eth", "dave.op.dm3.eth", "erin.op.dm3.eth"])
def test_gateway__every_record_kind_answers_what_the_registry_answers(
    devnet: EnsDevnet, names: dict[str, bytes], name: str
):
    node = names[name]
    for abi_type, call in _queries(node):
        expected = _registry_answer(devnet, call)
        assert _gateway_answer(devnet, name, call) == expected, (abi_type, call[:4].hex(), call[36:].hex())
        decode([abi_type], expected)  # the answers are well-formed ABI of the call's return type


def test_gateway__the_interesting_answers(devnet: EnsDevnet, names: dict[str, bytes]):
    """What the comparison above covers, spelt out: it fails if both sides were wrong the same way."""
    carol, dave = names["carol.op.dm3.eth"], names["dave.op.dm3.eth"]

    def ask(name: str, abi_type: str, call: bytes) -> Any:
        return decode([abi_type], _gateway_answer(devnet, name, call))[0]

    assert ask("carol.op.dm3.eth", "address", _addr(carol)) == "0x" + DEFAULT_ADDRESS.hex()
    assert ask("carol.op.dm3.eth", "bytes", _addr_coin(carol, 60)) == DEFAULT_ADDRESS
    assert ask("carol.op.dm3.eth", "bytes", _addr_coin(carol, DEFAULT_EVM_COIN_TYPE | 10)) == OPTIMISM_ADDRESS
    assert (
        ask("carol.op.dm3.eth", "bytes", _addr_coin(carol, DEFAULT_EVM_COIN_TYPE | 8453)) == DEFAULT_ADDRESS
    )
    assert ask("carol.op.dm3.eth", "bytes", _addr_coin(carol, 2**32 | DEFAULT_EVM_COIN_TYPE | 10)) == b""
    assert ask("carol.op.dm3.eth", "bytes", _addr_coin(carol, 0)) == BTC_P2WSH
    assert ask("carol.op.dm3.eth", "bytes", _addr_coin(carol, 3)) == DOGE_LONGEST
    assert ask("carol.op.dm3.eth", "bytes", _contenthash(carol)) == CONTENT
    assert ask("dave.op.dm3.eth", "address", _addr(dave)) == DAVE.address.lower()
    assert ask("dave.op.dm3.eth", "bytes", _addr_coin(dave, DEFAULT_EVM_COIN_TYPE | 10)) == DAVE_DEFAULT


def test_l1__one_multicall_through_dm3resolver_matches_the_registry(
    devnet: EnsDevnet, names: dict[str, bytes], l1_web3: Web3, loopback_gateways: None
):
    """The same queries through ENS on L1 (web3.py follows OffchainLookup; the resolver checks the signature)."""
    node = names["carol.op.dm3.eth"]
    calls = [call for _type, call in _queries(node)]
    multicall = MULTICALL_SELECTOR + encode(["bytes[]"], [calls])
    (answers,) = decode(
        ["bytes[]"], resolve_with_web3(l1_web3, devnet.dm3_resolver.address, "carol.op.dm3.eth", multicall)
    )
    assert [bytes(a) for a in answers] == [_registry_answer(devnet, call) for call in calls]


@pytest.mark.parametrize("name", ["carol.op.dm3.eth", "dave.op.dm3.eth", "erin.op.dm3.eth"])
def test_api_profile__addresses_are_the_registrys(devnet: EnsDevnet, names: dict[str, bytes], name: str):
    node = names[name]
    profile = httpx.get(f"{devnet.gateway_url}/v1/profiles/{name.upper()}", timeout=10).json()
    assert profile["name"] == name
    views = devnet.profiles.functions
    resolved = views.addr(node).call()
    owner = views.owner(node).call()
    assert profile["address"] == (resolved if int(resolved, 16) else owner).lower()
    assert len(profile["addresses"]) == {"carol": 5, "dave": 2, "erin": 0}[name.split(".")[0]]
    for coin_type, address in profile["addresses"].items():
        assert bytes.fromhex(address[2:]) == views.addrForCoin(node, int(coin_type)).call()
    content = views.contenthash(node).call()
    assert profile["contenthash"] == ("0x" + content.hex() if content else None)


def test_ethers__a_name_in_any_case_resolves_like_its_normal_form(devnet: EnsDevnet, names: dict[str, bytes]):
    """ethers normalises before it encodes and hashes, so `Carol.OP.dm3.eth` reaches the gateway normalised."""
    results = run_ethers(
        devnet,
        {
            "queries": [
                {"name": "Carol.OP.dm3.eth", "address": True},
                {"name": "carol.op.dm3.eth", "text": "url"},
            ]
        },
    )["results"]
    assert [r["value"] for r in results] == [
        Web3.to_checksum_address(DEFAULT_ADDRESS),
        "https://carol.example",
    ]


def test_web3__a_name_not_in_normal_form_gets_no_answer(
    devnet: EnsDevnet, names: dict[str, bytes], l1_web3: Web3, loopback_gateways: None
):
    """A client that skips normalisation sends `Carol.op.dm3.eth` and its hash: the gateway refuses it (422), so
    no signed answer, rather than an answer about another node."""
    name = "Carol.op.dm3.eth"
    with pytest.raises(HTTPError, match="422"):  # EIP-3668: a 4xx ends the lookup
        resolve_with_web3(l1_web3, devnet.dm3_resolver.address, name, _text(namehash(name), "url"))
    request = RESOLVE_SELECTOR + encode(
        ["bytes", "bytes"], [encode_dns_name(name), _text(namehash(name), "url")]
    )
    response = httpx.post(
        f"{devnet.gateway_url}/ccip",
        json={"sender": devnet.dm3_resolver.address, "data": "0x" + request.hex()},
        timeout=10,
    )
    assert response.status_code == 422
    assert "normal form" in response.json()["message"]
