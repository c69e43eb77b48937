"""Where InboxDeposits and ProfileRegistry keep each fact: storage slots computed from the contracts' Vyper 0.4.3
storage layout (`vyper -f layout contracts/X.vy`; `tests/proofs/test_slots.py` checks the constants below against
it and every slot against `eth_getStorageAt` after real writes).

Vyper's rules:
- a storage variable has the slot the layout gives it;
- `HashMap[K, V]` at slot `s`: the value of key `k` lives at `keccak256(s ‖ word(k))`, where `word(k)` is the key
  as one 32-byte ABI word (address, uint256, bytes32), or `keccak256(k)` for a `String`/`Bytes` key; nested maps
  apply the rule again from the inner slot (so `_bonds[sender][recipient]` is
  `keccak256(keccak256(5 ‖ sender) ‖ recipient)`);
- a `String[N]`/`Bytes[N]` at slot `s` takes `1 + ceil(N / 32)` consecutive slots: its length at `s`, its bytes
  left-aligned from `s + 1` on. Only the first `ceil(length / 32)` data slots belong to the value: a shorter write
  leaves older bytes behind it, never read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from eth_utils import keccak, to_bytes

WORD = 32
_MOD = 2**256

# --- layout (vyper -f layout; checked by the tests) --------------------------------------------------------------

#: InboxDeposits: `min_deposit: HashMap[address, uint256]`, `_bonds: HashMap[address, HashMap[address, uint256]]`
#: (by sender, then recipient).
DEPOSITS_MIN_DEPOSIT = 4
DEPOSITS_BONDS = 5
#: ProfileRegistry: `_texts: HashMap[bytes32, HashMap[String[256], String[4096]]]`, `_addresses: HashMap[bytes32,
#: HashMap[uint256, uint256]]` (packed), `_long_addresses: HashMap[bytes32, HashMap[uint256, Bytes[128]]]`,
#: `_contenthashes: HashMap[bytes32, Bytes[512]]`.
REGISTRY_TEXTS = 3
REGISTRY_ADDRESSES = 4
REGISTRY_LONG_ADDRESSES = 5
REGISTRY_CONTENTHASHES = 6

#: The declared maxima of the records' types (the longest value a record can hold).
MAX_TEXT_KEY = 256
MAX_TEXT = 4096
MAX_LONG_ADDRESS = 128
MAX_CONTENTHASH = 512

# --- packing (the contracts' constants) --------------------------------------------------------------------------

#: InboxDeposits' packed bond: amount in bits 0-127, unlock time in bits 128-191, the accepted flag at bit 192.
_AMOUNT_MASK = 2**128 - 1
_UNLOCK_SHIFT = 128
_UNLOCK_MASK = 2**64 - 1
_ACCEPTED = 1 << 192
#: ProfileRegistry's packed address word: the bytes left-aligned, their length in the lowest byte; 255 marks an
#: address of 32 bytes or more, kept in `_long_addresses`.
LONG_ADDRESS = 255


# --- slots -------------------------------------------------------------------------------------------------------


def word(value: int | bytes | str) -> bytes:
    """A value-type key as Vyper hashes it: one 32-byte word (an int, 32 bytes, or a 0x address/bytes32)."""
    if isinstance(value, int):
        if not 0 <= value < _MOD:
            raise ValueError(f"not a uint256: {value}")
        return value.to_bytes(WORD, "big")
    raw = to_bytes(hexstr=value) if isinstance(value, str) else bytes(value)
    if len(raw) == 20:  # an address: right-aligned, as abi-encoded
        return raw.rjust(WORD, b"\x00")
    if len(raw) != WORD:
        raise ValueError(f"a key must be an address, 32 bytes or an int, got {len(raw)} bytes")
    return raw


def mapping_slot(slot: int, key: int | bytes | str) -> int:
    """The slot of `map[key]` for a map at `slot` with a value-type key."""
    return int.from_bytes(keccak(slot.to_bytes(WORD, "big") + word(key)), "big")


def bytestring_key_slot(slot: int, key: str | bytes) -> int:
    """The slot of `map[key]` for a map at `slot` with a `String`/`Bytes` key (Vyper hashes the key first)."""
    raw = key.encode() if isinstance(key, str) else key
    return int.from_bytes(keccak(slot.to_bytes(WORD, "big") + keccak(raw)), "big")


def bond_slot(*, sender: str, recipient: str) -> int:
    """`InboxDeposits._bonds[sender][recipient]`."""
    return mapping_slot(mapping_slot(DEPOSITS_BONDS, sender), recipient)


def min_deposit_slot(recipient: str) -> int:
    """`InboxDeposits.min_deposit[recipient]`."""
    return mapping_slot(DEPOSITS_MIN_DEPOSIT, recipient)


def text_slot(node: bytes | str, key: str) -> int:
    """The length slot of `ProfileRegistry._texts[node][key]` (a `String[4096]`)."""
    return bytestring_key_slot(mapping_slot(REGISTRY_TEXTS, node), key)


def address_slot(node: bytes | str, coin_type: int) -> int:
    """`ProfileRegistry._addresses[node][coin_type]`: the packed word (or the long-address marker)."""
    return mapping_slot(mapping_slot(REGISTRY_ADDRESSES, node), coin_type)


def long_address_slot(node: bytes | str, coin_type: int) -> int:
    """The length slot of `ProfileRegistry._long_addresses[node][coin_type]` (a `Bytes[128]`)."""
    return mapping_slot(mapping_slot(REGISTRY_LONG_ADDRESSES, node), coin_type)


def contenthash_slot(node: bytes | str) -> int:
    """The length slot of `ProfileRegistry._contenthashes[node]` (a `Bytes[512]`)."""
    return mapping_slot(REGISTRY_CONTENTHASHES, node)


def data_slots(length_slot: int, length: int) -> list[int]:
    """The data slots of a `String`/`Bytes` of `length` bytes whose length lives at `length_slot`."""
    return [(length_slot + 1 + i) % _MOD for i in range(-(-length // WORD))]


def bytestring_slots(length_slot: int, length: int) -> list[int]:
    """Every slot a `String`/`Bytes` value of `length` bytes occupies: its length slot, then its data slots."""
    return [length_slot, *data_slots(length_slot, length)]


# --- values ------------------------------------------------------------------------------------------------------


def decode_bytestring(words: Sequence[int], *, max_length: int) -> bytes:
    """The bytes of a `String`/`Bytes` from its slots' values, length first. Refuses a length above the type's
    maximum or a word list that does not match the length (a proof of the wrong slots)."""
    if not words:
        raise ValueError("no length word")
    length = words[0]
    if length > max_length:
        raise ValueError(f"length {length} exceeds the type's maximum {max_length}")
    if len(words) != 1 + -(-length // WORD):
        raise ValueError(
            f"a value of {length} bytes takes {-(-length // WORD)} data slots, got {len(words) - 1}"
        )
    return b"".join(w.to_bytes(WORD, "big") for w in words[1:])[:length]


class BondWord(NamedTuple):
    """`InboxDeposits._bonds` unpacked: what `bonds(sender, recipient)` returns."""

    amount: int
    unlock_time: int
    accepted: bool


def unpack_bond(value: int) -> BondWord:
    return BondWord(
        amount=value & _AMOUNT_MASK,
        unlock_time=(value >> _UNLOCK_SHIFT) & _UNLOCK_MASK,
        accepted=bool(value & _ACCEPTED),
    )


def unpack_address(value: int) -> bytes | None:
    """The address bytes of a packed `_addresses` word; None for the long-address marker (read
    `_long_addresses`)."""
    length = value & 0xFF
    if length == LONG_ADDRESS:
        return None
    return value.to_bytes(WORD, "big")[:length]
