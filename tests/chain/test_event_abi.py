"""The event fragments in indexer/chain/abi.py are exactly the compiled contracts' events (docs/events.md)."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode as abi_encode
from hypothesis import given
from hypothesis import strategies as st

from indexer.chain.abi import (
    EVENTS_BY_CONTRACT,
    SPECS,
    LogDecoder,
    decode_data,
    decode_data_reference,
    spec_by_name,
)
from indexer.store.types import Uint256


def test_abi__matches_compiled_events(compiled: dict[str, dict[str, Any]]) -> None:
    for kind, contract in (("registry", "ProfileRegistry"), ("deposits", "InboxDeposits")):
        compiled_events = {
            e["name"]: [(i["name"], i["type"], i["indexed"]) for i in e["inputs"]]
            for e in compiled[contract]["abi"]
            if e["type"] == "event" and e["name"] not in ("OwnershipTransferred", "OwnershipTransferStarted")
        }
        ours = {e["name"]: [tuple(i) for i in e["inputs"]] for e in EVENTS_BY_CONTRACT[kind]}  # type: ignore[index]
        assert ours == compiled_events, kind


def test_decoder__uint256_max_and_empty_bytes() -> None:
    spec = spec_by_name("deposits", "Deposited")
    address = "0x" + "ab" * 20
    word = lambda n: n.to_bytes(32, "big").hex()  # noqa: E731
    log = {
        "address": address,
        "topics": [spec.topic0, "0x" + "00" * 12 + "11" * 20, "0x" + "00" * 12 + "22" * 20],
        "data": "0x" + word(0x33) + word(2**256 - 1) + word(5),
        "blockNumber": "0x10",
        "blockHash": "0x" + "aa" * 32,
        "transactionHash": "0x" + "bb" * 32,
        "logIndex": "0x0",
    }
    decoded = LogDecoder({address: "deposits"}).decode(log)
    assert decoded.args == {
        "sender": "0x" + "11" * 20,
        "recipient": "0x" + "22" * 20,
        "payer": "0x" + "00" * 19 + "33",
        "amount": 2**256 - 1,
        "bond": 5,
    }


def test_uint256__sqlite_strings_sort_numerically() -> None:
    from sqlalchemy.dialects import sqlite

    t = Uint256()
    values = [0, 9, 10, 2**128, 2**256 - 1]
    stored = [t.process_bind_param(v, sqlite.dialect()) for v in values]
    assert sorted(stored) == stored
    assert [t.process_result_value(s, sqlite.dialect()) for s in stored] == values


_VALUES = {
    "uint256": st.integers(min_value=0, max_value=2**256 - 1),
    "address": st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()),
    "bool": st.booleans(),
    "bytes32": st.binary(min_size=32, max_size=32),
    "bytes": st.binary(max_size=200),
    "string": st.text(max_size=80),
}
_SPECS = [spec for specs in SPECS.values() for spec in specs.values() if spec.data_types]


@given(data=st.data())
def test_fast_decoder__equals_eth_abi(data: st.DataObject) -> None:
    spec = data.draw(st.sampled_from(_SPECS))
    values = [data.draw(_VALUES[kind]) for kind in spec.data_types]
    encoded = abi_encode(list(spec.data_types), values)
    assert decode_data(spec, encoded) == decode_data_reference(spec, encoded)


def test_fast_decoder__falls_back_on_non_canonical_data() -> None:
    spec = spec_by_name("registry", "Transfer")  # data: owner (address)
    dirty = b"\x01" + b"\x00" * 11 + b"\x22" * 20
    with pytest.raises(ValueError, match="padding"):
        decode_data(spec, dirty)


def test_decoder__text_that_is_not_utf8_or_holds_nul__decodes_instead_of_stopping() -> None:
    """Any account may write any bytes as a text key or value on its address name; a log like that used to raise
    UnicodeDecodeError (and PostgreSQL refuses NUL), stopping the chain's sync for every user."""
    spec = spec_by_name("registry", "TextChanged")
    address = "0x" + "ab" * 20
    data = abi_encode(["bytes", "bytes"], [b"\xff", b"a\x00b"])
    log = {
        "address": address,
        "topics": [spec.topic0, "0x" + "11" * 32, "0x" + "22" * 32],
        "data": "0x" + data.hex(),
        "blockNumber": "0x1",
        "blockHash": "0x" + "33" * 32,
        "transactionHash": "0x" + "44" * 32,
        "logIndex": "0x0",
    }
    args = LogDecoder({address: "registry"}).decode(log).args
    assert (args["key"], args["value"]) == ("\ufffd", "a\ufffdb")
