"""Checking `eth_getProof` answers: Merkle-Patricia proofs through py-trie (`HexaryTrie.get_from_proof`), block
headers and trie values through rlp. No network here (`indexer.proofs.rpc` fetches); every function takes what a
node or an untrusted party sent and either returns the proven value or raises :class:`ProofError`.

The chain of trust: a block hash the verifier trusts (from its own node) -> the header whose keccak256 is that
hash (`Header.from_rpc` recomputes it) -> its state root -> the account proof of the contract (its storage root)
-> each storage proof (the value of one slot). A proof of absence proves zero: a slot never written and an account
that does not exist both read 0 from the EVM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import rlp
from eth_utils import keccak, to_bytes, to_canonical_address, to_checksum_address
from rlp.exceptions import RLPException
from rlp.sedes import big_endian_int
from trie import HexaryTrie
from trie.exceptions import BadTrieProof, InvalidNode, ValidationError

from indexer.errors import Dm3Error

#: The root of the empty trie: the storage root of an account without storage (and of an absent one).
EMPTY_TRIE_ROOT = keccak(rlp.encode(b""))
#: keccak256 of empty code: the code hash of an account without code.
EMPTY_CODE_HASH = keccak(b"")

# The header's fields in RLP order (the yellow paper's, then every fork's additions). A node answers the ones
# its chain's fork has; the optional ones are appended while present.
_HEADER_FIELDS: tuple[tuple[str, str], ...] = (
    ("parentHash", "bytes"),
    ("sha3Uncles", "bytes"),
    ("miner", "bytes"),
    ("stateRoot", "bytes"),
    ("transactionsRoot", "bytes"),
    ("receiptsRoot", "bytes"),
    ("logsBloom", "bytes"),
    ("difficulty", "int"),
    ("number", "int"),
    ("gasLimit", "int"),
    ("gasUsed", "int"),
    ("timestamp", "int"),
    ("extraData", "bytes"),
    ("mixHash", "bytes"),
    ("nonce", "bytes"),
)
_OPTIONAL_HEADER_FIELDS: tuple[tuple[str, str], ...] = (
    ("baseFeePerGas", "int"),  # London
    ("withdrawalsRoot", "bytes"),  # Shanghai
    ("blobGasUsed", "int"),  # Cancun
    ("excessBlobGas", "int"),
    ("parentBeaconBlockRoot", "bytes"),
    ("requestsHash", "bytes"),  # Prague
)
_TRIE_ERRORS = (BadTrieProof, InvalidNode, ValidationError, RLPException, ValueError, TypeError, IndexError)


class ProofError(Dm3Error):
    """A proof or header does not verify: what was proven, and why it fails."""


class HeaderMismatch(ProofError):
    """The header's fields do not hash to the block hash (or are not the block that was asked for)."""


class InvalidProof(ProofError):
    """A Merkle-Patricia proof that does not lead from its root to its key (tampered, truncated, foreign)."""


@dataclass(frozen=True, slots=True)
class Header:
    """A block header as proven: its number, hash, state root and the RLP that hashes to the hash."""

    number: int
    hash: bytes
    state_root: bytes
    rlp: bytes

    @classmethod
    def from_rpc(cls, raw: Mapping[str, Any]) -> Header:
        """The header of an `eth_getBlockByNumber`/`ByHash` answer, re-encoded and checked against its hash."""
        try:
            values: list[bytes] = [_header_field(raw[name], kind) for name, kind in _HEADER_FIELDS]
            for name, kind in _OPTIONAL_HEADER_FIELDS:
                if raw.get(name) is None:
                    break
                values.append(_header_field(raw[name], kind))
            encoded = rlp.encode(values)
            claimed = to_bytes(hexstr=raw["hash"])
            number = int(raw["number"], 16)
        except (KeyError, TypeError, ValueError) as exc:
            raise HeaderMismatch(f"not a block header ({type(exc).__name__}: {exc})") from None
        if keccak(encoded) != claimed:
            raise HeaderMismatch(
                f"the header fields of block {number} do not hash to its hash 0x{claimed.hex()} "
                "(a header field this verifier does not know, or a lying node)"
            )
        return cls(number=number, hash=claimed, state_root=to_bytes(hexstr=raw["stateRoot"]), rlp=encoded)


def _header_field(value: str, kind: str) -> bytes:
    if kind == "int":
        return bytes(big_endian_int.serialize(int(value, 16)))
    return to_bytes(hexstr=value)


@dataclass(frozen=True, slots=True)
class Account:
    """An account as the state trie holds it."""

    nonce: int
    balance: int
    storage_root: bytes
    code_hash: bytes


#: What an absent account reads as: no nonce, no balance, empty storage and code.
ABSENT_ACCOUNT = Account(nonce=0, balance=0, storage_root=EMPTY_TRIE_ROOT, code_hash=EMPTY_CODE_HASH)


@dataclass(frozen=True, slots=True)
class StorageProof:
    slot: int
    value: int
    proof: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class AccountProof:
    """An `eth_getProof` answer: the account's claimed fields and proof, and the storage proofs of some slots."""

    address: str
    account: Account
    account_proof: tuple[bytes, ...]
    storage: tuple[StorageProof, ...]

    @classmethod
    def from_rpc(cls, raw: Mapping[str, Any]) -> AccountProof:
        """Parse (not verify) an `eth_getProof` answer, or the API's `proof` object of the same shape."""
        try:
            return cls(
                address=to_checksum_address(raw["address"]),
                account=Account(
                    nonce=int(raw["nonce"], 16),
                    balance=int(raw["balance"], 16),
                    storage_root=_hash32(raw["storageHash"]),
                    code_hash=_hash32(raw["codeHash"]),
                ),
                account_proof=tuple(to_bytes(hexstr=node) for node in raw["accountProof"]),
                storage=tuple(
                    StorageProof(
                        slot=int(item["key"], 16),
                        value=int(item["value"], 16),
                        proof=tuple(to_bytes(hexstr=node) for node in item["proof"]),
                    )
                    for item in raw["storageProof"]
                ),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidProof(f"not an eth_getProof answer ({type(exc).__name__}: {exc})") from None

    def to_json(self) -> dict[str, Any]:
        """The `eth_getProof` JSON shape (hex quantities, 0x data)."""
        return {
            "address": self.address,
            "nonce": hex(self.account.nonce),
            "balance": hex(self.account.balance),
            "storageHash": "0x" + self.account.storage_root.hex(),
            "codeHash": "0x" + self.account.code_hash.hex(),
            "accountProof": ["0x" + node.hex() for node in self.account_proof],
            "storageProof": [
                {"key": hex(p.slot), "value": hex(p.value), "proof": ["0x" + node.hex() for node in p.proof]}
                for p in self.storage
            ],
        }


def _hash32(value: str) -> bytes:
    raw = to_bytes(hexstr=value)
    if len(raw) != 32:
        raise ValueError(f"a hash is 32 bytes, got {len(raw)}")
    return raw


def _proven(root: bytes, key: bytes, proof: Sequence[bytes], *, what: str) -> bytes:
    """The value at `key` of the trie with `root`, from `proof` (RLP-encoded nodes, root first); b"" = absent."""
    try:
        nodes = [rlp.decode(node) for node in proof]
        return bytes(HexaryTrie.get_from_proof(root, key, nodes))
    except _TRIE_ERRORS as exc:
        raise InvalidProof(f"{what}: the proof does not verify against root 0x{root.hex()} ({exc})") from None


def verify_account(state_root: bytes, address: str, account_proof: Sequence[bytes]) -> Account:
    """The account at `address` in the state with `state_root` (`ABSENT_ACCOUNT` when the proof proves absence)."""
    what = f"account {to_checksum_address(address)}"
    raw = _proven(state_root, keccak(to_canonical_address(address)), account_proof, what=what)
    if raw == b"":
        return ABSENT_ACCOUNT
    try:
        nonce, balance, storage_root, code_hash = rlp.decode(raw)
        return Account(
            nonce=big_endian_int.deserialize(nonce),
            balance=big_endian_int.deserialize(balance),
            storage_root=bytes(storage_root),
            code_hash=bytes(code_hash),
        )
    except (RLPException, ValueError, TypeError) as exc:
        raise InvalidProof(f"{what}: the proven value is not an account ({exc})") from None


def verify_slot(storage_root: bytes, slot: int, proof: Sequence[bytes]) -> int:
    """The value of `slot` in the storage trie with `storage_root` (0 when the proof proves absence)."""
    what = f"slot {hex(slot)}"
    raw = _proven(storage_root, keccak(slot.to_bytes(32, "big")), proof, what=what)
    if raw == b"":
        return 0
    try:
        value = rlp.decode(raw)
        # A stored word, RLP-encoded as a big-endian integer. geth drops a slot set to 0 from the trie; anvil keeps
        # it as a leaf holding the empty string: both read 0 (the leaf is as authenticated as any other).
        if not isinstance(value, bytes) or len(value) > 32:
            raise ValueError("not a 32-byte word")
        return int.from_bytes(value, "big")
    except (RLPException, ValueError) as exc:
        raise InvalidProof(f"{what}: the proven value is not a storage word ({exc})") from None


def verify_storage(state_root: bytes, proof: AccountProof, slots: Sequence[int]) -> dict[int, int]:
    """The values of exactly `slots` of `proof.address` at the state with `state_root`.

    Every claim is checked: the account proof against the state root (and the claimed account fields against the
    proven ones), then for each asked slot a storage proof of that slot against the proven storage root, whose
    proven value must equal the claimed value. A slot without a storage proof is an error (never read as 0).
    """
    account = verify_account(state_root, proof.address, proof.account_proof)
    if account != proof.account:
        raise InvalidProof(
            f"account {proof.address}: the claimed fields differ from the proven ones "
            f"(storage root 0x{proof.account.storage_root.hex()} claimed, 0x{account.storage_root.hex()} proven)"
        )
    by_slot = {p.slot: p for p in proof.storage}
    values: dict[int, int] = {}
    for slot in slots:
        item = by_slot.get(slot)
        if item is None:
            raise InvalidProof(f"slot {hex(slot)} of {proof.address}: no storage proof")
        value = verify_slot(account.storage_root, slot, item.proof)
        if value != item.value:
            raise InvalidProof(
                f"slot {hex(slot)} of {proof.address}: the value {hex(item.value)} is claimed, {hex(value)} proven"
            )
        values[slot] = value
    return values
