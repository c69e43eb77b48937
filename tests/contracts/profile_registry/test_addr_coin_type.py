"""`setAddrForCoin(node, coinType, a)` / `addrForCoin(node, coinType)` and ENS's `addr(bytes32,uint256)`.

ENSIP-9/11 addresses per coin type, with the ENSIP-19 default EVM address fallback.
"""

from __future__ import annotations

import ape
import pytest
from ape.exceptions import ContractLogicError
from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector
from web3.exceptions import ContractLogicError as Web3ContractLogicError

from .registry_helpers import COIN_TYPE_DEFAULT, COIN_TYPE_ETH

ZERO = "0x0000000000000000000000000000000000000000"
BTC = 0
OP = COIN_TYPE_DEFAULT | 10
BASE = COIN_TYPE_DEFAULT | 8453
BTC_SCRIPT = bytes.fromhex("76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac")
ENS_ADDR_BY_COIN = function_signature_to_4byte_selector("addr(bytes32,uint256)")


def _ens_addr(chain, registry, node: bytes, coin_type: int) -> bytes:
    """Calls ENS's overloaded `addr(bytes32,uint256)` selector, as an ENS client would."""
    data = ENS_ADDR_BY_COIN + encode(["bytes32", "uint256"], [node, coin_type])
    result = chain.provider.web3.eth.call({"to": registry.address, "data": data})
    return decode(["bytes"], result)[0]


@pytest.mark.parametrize(
    "address",
    [b"", b"\x01", b"\x00", BTC_SCRIPT, b"\xab" * 31, b"\xab" * 32, b"\xcd" * 33, bytes(range(128))],
    ids=["empty", "1 byte", "zero byte", "25 bytes", "31 bytes", "32 bytes", "33 bytes", "128 bytes"],
)
def test_set_addr_for_coin__non_evm__any_length_round_trips(registry, alice, alice_name, address):
    tx = registry.setAddrForCoin(alice_name, BTC, address, sender=alice)

    assert registry.addrForCoin(alice_name, BTC) == address
    assert tx.events == [registry.AddressChanged(node=alice_name, coinType=BTC, newAddress=address)]


def test_set_addr_for_coin__long_then_short_then_long__keeps_the_last(registry, alice, alice_name):
    for address in [b"\x01" * 100, b"\x02" * 5, b"\x03" * 64, b"", b"\x04" * 40]:
        registry.setAddrForCoin(alice_name, BTC, address, sender=alice)

        assert registry.addrForCoin(alice_name, BTC) == address


def test_set_addr_for_coin__over_the_cap__reverts(registry, alice, alice_name):
    with ape.reverts():
        registry.setAddrForCoin(alice_name, BTC, b"\x01" * 129, sender=alice)


@pytest.mark.parametrize(
    "coin_type", [COIN_TYPE_ETH, COIN_TYPE_DEFAULT, OP, BASE, COIN_TYPE_DEFAULT | 0x7FFFFFFF]
)
@pytest.mark.parametrize("length", [1, 19, 21, 32, 40])
def test_set_addr_for_coin__evm_coin_type_without_20_bytes__reverts(
    registry, alice, alice_name, coin_type, length
):
    with ape.reverts("registry: evm address must be 20 bytes"):
        registry.setAddrForCoin(alice_name, coin_type, b"\x01" * length, sender=alice)


@pytest.mark.parametrize(
    "coin_type", [BTC, 61, COIN_TYPE_DEFAULT - 1, 2**32 | COIN_TYPE_DEFAULT | 10, 2**256 - 1]
)
def test_set_addr_for_coin__not_an_evm_coin_type__any_length(registry, alice, alice_name, coin_type):
    registry.setAddrForCoin(alice_name, coin_type, b"\x01" * 19, sender=alice)

    assert registry.addrForCoin(alice_name, coin_type) == b"\x01" * 19


def test_set_addr_for_coin__coin_60__is_addr_and_emits_addr_changed(registry, alice, bob, alice_name):
    raw = bytes.fromhex(bob.address[2:])

    tx = registry.setAddrForCoin(alice_name, COIN_TYPE_ETH, raw, sender=alice)

    assert registry.addr(alice_name) == bob
    assert tx.events == [
        registry.AddressChanged(node=alice_name, coinType=COIN_TYPE_ETH, newAddress=raw),
        registry.AddrChanged(node=alice_name, a=bob),
    ]


def test_set_addr_for_coin__coin_60_empty__deletes_and_emits_zero_addr(registry, alice, bob, alice_name):
    registry.setAddr(alice_name, bob, sender=alice)

    tx = registry.setAddrForCoin(alice_name, COIN_TYPE_ETH, b"", sender=alice)

    assert registry.addr(alice_name) == ZERO
    assert registry.addrForCoin(alice_name, COIN_TYPE_ETH) == b""
    assert tx.events == [
        registry.AddressChanged(node=alice_name, coinType=COIN_TYPE_ETH, newAddress=b""),
        registry.AddrChanged(node=alice_name, a=ZERO),
    ]


def test_addr_for_coin__evm_chains_fall_back_to_the_default(registry, alice, bob, carol, alice_name):
    default = bytes.fromhex(carol.address[2:])
    registry.setAddrForCoin(alice_name, COIN_TYPE_DEFAULT, default, sender=alice)
    registry.setAddrForCoin(alice_name, BASE, bytes.fromhex(bob.address[2:]), sender=alice)

    assert registry.addrForCoin(alice_name, OP) == default
    assert registry.addrForCoin(alice_name, COIN_TYPE_ETH) == default
    assert registry.addrForCoin(alice_name, BASE) == bytes.fromhex(bob.address[2:])
    assert registry.addrForCoin(alice_name, COIN_TYPE_DEFAULT) == default


def test_addr_for_coin__non_evm_coins_do_not_fall_back(registry, alice, carol, alice_name):
    registry.setAddrForCoin(alice_name, COIN_TYPE_DEFAULT, bytes.fromhex(carol.address[2:]), sender=alice)

    assert registry.addrForCoin(alice_name, BTC) == b""
    assert registry.addrForCoin(alice_name, 2**32 | OP) == b""


def test_addr_for_coin__deleted_record__falls_back_again(registry, alice, bob, carol, alice_name):
    registry.setAddrForCoin(alice_name, COIN_TYPE_DEFAULT, bytes.fromhex(carol.address[2:]), sender=alice)
    registry.setAddrForCoin(alice_name, OP, bytes.fromhex(bob.address[2:]), sender=alice)

    registry.setAddrForCoin(alice_name, OP, b"", sender=alice)

    assert registry.addrForCoin(alice_name, OP) == bytes.fromhex(carol.address[2:])


def test_addr_for_coin__unset__is_empty(registry, alice_name):
    assert registry.addrForCoin(alice_name, OP) == b""


def test_set_addr_for_coin__by_stranger__reverts(registry, bob, alice_name):
    with ape.reverts("registry: not authorised"):
        registry.setAddrForCoin(alice_name, BTC, BTC_SCRIPT, sender=bob)


def test_ens_addr_selector__answers_like_addr_for_coin(chain, registry, alice, carol, alice_name):
    registry.setAddrForCoin(alice_name, BTC, b"\x01" * 100, sender=alice)
    registry.setAddrForCoin(alice_name, COIN_TYPE_DEFAULT, bytes.fromhex(carol.address[2:]), sender=alice)

    assert _ens_addr(chain, registry, alice_name, BTC) == b"\x01" * 100
    assert _ens_addr(chain, registry, alice_name, OP) == bytes.fromhex(carol.address[2:])
    assert _ens_addr(chain, registry, alice_name, 61) == b""


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xde\xad\xbe\xef",
        ENS_ADDR_BY_COIN,
        ENS_ADDR_BY_COIN + bytes(63),
        b"\xde\xad\xbe\xef" + bytes(64),
    ],
    ids=["empty", "unknown selector", "no arguments", "short arguments", "unknown selector with arguments"],
)
def test_fallback__anything_else__reverts(chain, registry, data):
    with pytest.raises(Web3ContractLogicError, match="registry: unknown function"):
        chain.provider.web3.eth.call({"to": registry.address, "data": data})


def test_fallback__ether__is_refused(registry, alice):
    with pytest.raises(ContractLogicError):
        alice.transfer(registry, 1)
