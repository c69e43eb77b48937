"""`resolve(name, data)`: always reverts with EIP-3668 OffchainLookup, byte-exact in ENS's reference format."""

from __future__ import annotations

from typing import Any

import ape
from eth_abi import encode
from hypothesis import given
from hypothesis import strategies as st

from .resolver_helpers import (
    CALLBACK_SELECTOR,
    MAX_DATA_LENGTH,
    MAX_NAME_LENGTH,
    OFFCHAIN_LOOKUP_SELECTOR,
    OFFCHAIN_LOOKUP_TYPES,
    URLS,
    addr_call,
    dns_encode,
    multicall,
    namehash,
    resolve_request,
    text_call,
)

NAME = "alice.op.dm3.eth"


def test_resolve__text__reverts_with_offchain_lookup(resolver: Any, lookup: Any) -> None:
    name, data = dns_encode(NAME), text_call(namehash(NAME), "network.dm3.profile")

    found = lookup(resolver, name, data)

    assert found.sender == resolver.address
    assert found.urls == URLS
    assert found.call_data == resolve_request(name, data)
    assert found.call_data[:4] == bytes.fromhex("9061b923")
    assert found.callback_function == CALLBACK_SELECTOR == bytes.fromhex("f4d4d2f8")
    assert found.extra_data == found.call_data


def test_resolve__revert_data__is_the_exact_eip3668_encoding(resolver: Any, eth_call: Any) -> None:
    name, data = dns_encode(NAME), addr_call(namehash(NAME))
    request = resolve_request(name, data)

    ok, revert = eth_call(resolver.address, request)

    assert not ok
    expected = OFFCHAIN_LOOKUP_SELECTOR + encode(
        OFFCHAIN_LOOKUP_TYPES, [resolver.address, URLS, request, CALLBACK_SELECTOR, request]
    )
    assert bytes.fromhex("556f1830") == OFFCHAIN_LOOKUP_SELECTOR
    assert revert == expected


def test_resolve__same_request_as_ens_reference_resolver(
    resolver: Any, reference_resolver: Any, lookup: Any
) -> None:
    name, data = dns_encode(NAME), text_call(namehash(NAME), "avatar")

    ours = lookup(resolver, name, data)
    theirs = lookup(reference_resolver, name, data)

    assert theirs.sender == reference_resolver.address
    assert ours.call_data == theirs.call_data
    assert ours.callback_function == theirs.callback_function
    assert ours.extra_data == theirs.extra_data


def test_resolve__multicall_data__forwarded_in_one_lookup(resolver: Any, lookup: Any) -> None:
    node = namehash(NAME)
    data = multicall([text_call(node, "network.dm3.profile"), text_call(node, "avatar"), addr_call(node)])

    found = lookup(resolver, dns_encode(NAME), data)

    assert found.call_data == resolve_request(dns_encode(NAME), data)
    assert found.extra_data == found.call_data


def test_resolve__after_set_urls__lookup_carries_new_urls(resolver: Any, owner: Any, lookup: Any) -> None:
    new_urls = ["https://only.example/{sender}/{data}.json"]
    resolver.set_urls(new_urls, sender=owner)

    found = lookup(resolver, dns_encode(NAME), addr_call(namehash(NAME)))

    assert found.urls == new_urls


def test_resolve__inputs_at_caps__reverts_with_offchain_lookup(resolver: Any, lookup: Any) -> None:
    name = b"\x3f" + b"a" * (MAX_NAME_LENGTH - 1)
    data = b"\x59\xd1\xd4\x3c" + b"\x07" * (MAX_DATA_LENGTH - 4)

    found = lookup(resolver, name, data)

    assert found.call_data == resolve_request(name, data)


def test_resolve__name_over_cap__reverts_without_lookup(resolver: Any, eth_call: Any) -> None:
    ok, revert = eth_call(resolver.address, resolve_request(b"a" * (MAX_NAME_LENGTH + 1), b"\x00" * 4))

    assert not ok
    assert revert == b""


def test_resolve__data_over_cap__reverts_without_lookup(resolver: Any, eth_call: Any) -> None:
    ok, revert = eth_call(
        resolver.address, resolve_request(dns_encode(NAME), b"\x00" * (MAX_DATA_LENGTH + 1))
    )

    assert not ok
    assert revert == b""


def test_resolve__through_ape__raises(resolver: Any) -> None:
    """A plain (non CCIP-read) client sees a revert, never an answer."""
    with ape.reverts():
        resolver.resolve(dns_encode(NAME), addr_call(namehash(NAME)))


@given(
    name=st.binary(min_size=0, max_size=MAX_NAME_LENGTH),
    data=st.binary(min_size=0, max_size=MAX_DATA_LENGTH),
)
def test_resolve__any_input_within_caps__request_is_resolve_calldata(
    resolver: Any, lookup: Any, name: bytes, data: bytes
) -> None:
    found = lookup(resolver, name, data)

    assert found.call_data == resolve_request(name, data)
    assert found.extra_data == found.call_data
    assert found.sender == resolver.address
