"""ENS names and address records, one copy of each rule for the indexer, the API, the gateway and the client:
ENSIP-15 normalisation, the namehash of a normalised name, and ENSIP-19's default-address fallback."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from eth_hash.auto import keccak

from indexer.errors import Dm3Error

ETH_COIN_TYPE = 60
# ENSIP-11/19: EVM chains use 0x80000000 | chainId; 0x80000000 itself (chain id 0) is every EVM chain's default.
DEFAULT_EVM_COIN_TYPE = 0x8000_0000
# Longer input is refused before normalisation (which can shorten it: ignored characters, U+FE0F), so a huge
# string costs nothing; every name that can be registered or resolved is far shorter.
MAX_NAME_INPUT_CHARS = 1024

Record = TypeVar("Record")


class InvalidEnsName(Dm3Error, ValueError):
    """A name ENSIP-15 refuses; `reason` is the normaliser's explanation (it never repeats the bad characters,
    so the reason is safe to show whatever the input held, lone surrogates included)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def normalize_name(name: str) -> str:
    """The ENSIP-15 normal form of `name` (what ENS clients hash), or InvalidEnsName with the reason.

    The empty name (the root) is its own normal form; callers that need a name with labels check for it."""
    if len(name) > MAX_NAME_INPUT_CHARS:
        raise InvalidEnsName(f"longer than {MAX_NAME_INPUT_CHARS} characters")
    # Imported on first use: the normaliser's tables take ~90 MB, which a process that never normalises a name
    # beyond the plain ones `is_normalized` settles itself (the indexer: its chains' parent names) never pays.
    from ens_normalize import DisallowedSequence, ens_normalize

    try:
        return ens_normalize(name)
    except DisallowedSequence as error:  # CurableSequence (with a position) is a subclass
        position = getattr(error, "index", None)
        where = f" (at character {position})" if position is not None else ""
        raise InvalidEnsName(f"{error.general_info}{where}") from error


_PLAIN_LABEL = re.compile(r"[a-z0-9-]+")


def is_plain(name: str) -> bool:
    """Whether every label of `name` is lowercase ASCII letters, digits and hyphens, without hyphens as its 3rd and
    4th characters: such a name is its own ENSIP-15 normal form (`is_normalized`; the tests check it against the
    normaliser), settled without loading the normaliser or running it."""
    return all(_PLAIN_LABEL.fullmatch(label) and label[2:4] != "--" for label in name.split("."))


def is_normalized(name: str) -> bool:
    """Whether `name` is already in ENSIP-15 normal form (what a conforming client sends to a resolver).

    Labels of lowercase ASCII letters, digits and hyphens are their own normal form unless their 3rd and 4th
    characters are hyphens (ENSIP-15's label-extension rule); such names are settled without loading the
    normaliser (tests/api/test_names.py checks this against it), every other name goes through it."""
    if is_plain(name):
        return True
    try:
        return normalize_name(name) == name
    except InvalidEnsName:
        return False


def namehash(name: str) -> bytes:
    """EIP-137 namehash of a name in ENSIP-15 normal form (normalise first: the hash takes labels as given).

    web3's `ens.utils.normal_name_to_hash` computes the same hash but normalises every label again with web3's own
    normaliser, which takes 2-22 ms per name (an address name's 40-hex label is the slow case); this fold over
    keccak is the whole algorithm, and tests/api/test_names.py checks it against web3's on ASCII, address, unicode
    and emoji names."""
    node = b"\x00" * 32
    if name:
        for label in reversed(name.split(".")):
            node = keccak(node + keccak(label.encode()))
    return node


def node_hex(name: str) -> str:
    """`namehash(name)` as 0x hex, the form the store keeps nodes in."""
    return "0x" + namehash(name).hex()


def evm_chain(coin_type: int) -> int:
    """ENSIP-19 `chainFromCoinType`: 1 for coin type 60, the chain id of 0x80000000 | chain id (0 for the default
    coin type itself), 0 for a coin type that is not an EVM chain's. `ProfileRegistry._evm_chain` in Python."""
    if coin_type == ETH_COIN_TYPE:
        return 1
    chain_id = coin_type ^ DEFAULT_EVM_COIN_TYPE
    return chain_id if chain_id < DEFAULT_EVM_COIN_TYPE else 0


def address_for_coin(coin_type: int, record: Callable[[int], Record | None]) -> Record | None:
    """What `addr(node, coinType)` answers, given `record(coin_type)` reading a node's stored address records
    (None = no record): the record, or for an EVM chain's coin type without one (60 included) the default EVM
    address (coin type 0x80000000). `ProfileRegistry._address_for_coin` in Python; `addr(node)` is coin type 60."""
    value = record(coin_type)
    if value is None and evm_chain(coin_type) != 0:
        return record(DEFAULT_EVM_COIN_TYPE)
    return value
