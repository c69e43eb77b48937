"""modules/ens_names.vy through EnsNamesMock: namehash and hex labels against ENS's Python implementation, labels
against ENSIP-15 normalisation, coin types against ENSIP-19."""

from __future__ import annotations

import ape
import pytest
from ens.utils import normal_name_to_hash, normalize_name
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.fixture(scope="module")
def names(project, accounts):
    return project.EnsNamesMock.deploy(sender=accounts[0])


@pytest.mark.parametrize("name", ["eth", "dm3.eth", "op.dm3.eth", "a-b.c0.x", "9" * 63 + ".eth"])
def test_namehash__equals_ens(names, name):
    assert names.namehash(name) == normal_name_to_hash(name)


@given(account=st.binary(min_size=20, max_size=20))
@settings(max_examples=25, deadline=None)
def test_hex_label__lowercase_hex(names, account):
    address = "0x" + account.hex()
    assert names.hex_label(address) == account.hex().encode()


LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=63)


@given(label=LABEL)
@settings(max_examples=40, deadline=None)
def test_check_label__accepted_labels_are_their_own_ensip15_normalisation(names, label):
    try:
        names.check_label(label.encode())
    except ape.exceptions.ContractLogicError:
        return
    assert normalize_name(label) == label


@pytest.mark.parametrize(
    "label, reason",
    [
        (b"", "names: empty label"),
        (b"a" * 64, "names: label too long"),
        (b"-a", "names: hyphen at label edge"),
        (b"a-", "names: hyphen at label edge"),
        (b"ab--c", "names: hyphens at label positions 3-4"),
        (b"A", "names: invalid character"),
        (b"a.b", "names: invalid character"),
        (b"\xff", "names: invalid character"),
        (b"a\x00", "names: invalid character"),
    ],
)
def test_check_label__refusals(names, label, reason):
    with ape.reverts(reason):
        names.check_label(label)


@pytest.mark.parametrize("name", ["", "a..eth", ".eth", "eth.", "Eth"])
def test_namehash__malformed_name__reverts(names, name):
    with ape.reverts():
        names.namehash(name)


@pytest.mark.parametrize(
    "coin_type, chain",
    [
        (60, 1),
        (0x80000000, 0),
        (0x80000000 | 10, 10),
        (0x80000000 | 8453, 8453),
        (0, 0),
        (501, 0),
        (2**256 - 1, 0),
    ],
)
def test_evm_chain__ensip19(names, coin_type, chain):
    assert names.evm_chain(coin_type) == chain
