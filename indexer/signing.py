"""EIP-712 typed data of every signed write of ProfileRegistry and InboxDeposits, in one place.

The contracts document each struct in their NatSpec; this table restates them for the relayer, the client and the
tests. Hashing and signing are eth-account's (`encode_typed_data`), never hand-rolled. A test compares every entry
with the contract's own type hashes, so the table cannot drift from the contracts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account._utils.encode_typed_data.encoding_and_hashing import hash_domain, hash_struct
from eth_account.messages import SignableMessage, encode_typed_data

EIP712_VERSION = "1"
DOMAIN_NAMES = {"ProfileRegistry": "dm3 ProfileRegistry", "InboxDeposits": "dm3 InboxDeposits"}
DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


@dataclass(frozen=True)
class SignedFunction:
    """One signed write: its contract, its function, its EIP-712 struct and which field names the signer."""

    contract: str
    function: str
    primary_type: str
    fields: tuple[tuple[str, str], ...]
    signer_field: str

    @property
    def type_string(self) -> str:
        return f"{self.primary_type}({','.join(f'{kind} {name}' for name, kind in self.fields)})"


def _fields(*pairs: str) -> tuple[tuple[str, str], ...]:
    """`("address signer", "bytes32 node")` -> `(("signer", "address"), ("node", "bytes32"))`, plus nonce and deadline."""
    parsed = tuple((name, kind) for kind, name in (pair.split() for pair in pairs))
    return (*parsed, ("nonce", "uint256"), ("deadline", "uint256"))


_REGISTRY = "ProfileRegistry"
_DEPOSITS = "InboxDeposits"
SIGNED_FUNCTIONS: dict[str, SignedFunction] = {
    f.function: f
    for f in (
        SignedFunction(
            _REGISTRY,
            "registerWithSig",
            "Register",
            _fields("address signer", "string label", "address owner"),
            "signer",
        ),
        SignedFunction(
            _REGISTRY,
            "setOwnerWithSig",
            "SetOwner",
            _fields("address signer", "bytes32 node", "address owner"),
            "signer",
        ),
        SignedFunction(
            _REGISTRY,
            "setApprovalForAllWithSig",
            "SetApprovalForAll",
            _fields("address signer", "address operator", "bool approved"),
            "signer",
        ),
        SignedFunction(
            _REGISTRY,
            "setTextWithSig",
            "SetText",
            _fields("address signer", "bytes32 node", "string key", "string value"),
            "signer",
        ),
        SignedFunction(
            _REGISTRY,
            "setAddrWithSig",
            "SetAddr",
            _fields("address signer", "bytes32 node", "address a"),
            "signer",
        ),
        SignedFunction(
            _REGISTRY,
            "setAddrForCoinWithSig",
            "SetAddrForCoin",
            _fields("address signer", "bytes32 node", "uint256 coinType", "bytes a"),
            "signer",
        ),
        SignedFunction(
            _REGISTRY,
            "setContenthashWithSig",
            "SetContenthash",
            _fields("address signer", "bytes32 node", "bytes hash"),
            "signer",
        ),
        SignedFunction(
            _REGISTRY,
            "setPrimaryNameWithSig",
            "SetPrimaryName",
            _fields("address signer", "string name"),
            "signer",
        ),
        SignedFunction(
            _DEPOSITS,
            "set_min_deposit_with_sig",
            "SetMinDeposit",
            _fields("address recipient", "uint256 amount"),
            "recipient",
        ),
        SignedFunction(
            _DEPOSITS,
            "deposit_with_sig",
            "Deposit",
            _fields("address sender", "address recipient", "uint256 amount"),
            "sender",
        ),
        SignedFunction(
            _DEPOSITS,
            "burn_with_sig",
            "Burn",
            _fields("address sender", "address recipient", "uint256 amount"),
            "recipient",
        ),
        SignedFunction(
            _DEPOSITS,
            "release_with_sig",
            "Release",
            _fields("address sender", "address recipient"),
            "recipient",
        ),
        SignedFunction(
            _DEPOSITS,
            "request_withdrawal_with_sig",
            "RequestWithdrawal",
            _fields("address sender", "address recipient"),
            "sender",
        ),
        SignedFunction(
            _DEPOSITS,
            "withdraw_with_sig",
            "Withdraw",
            _fields("address sender", "address recipient", "address receiver"),
            "sender",
        ),
    )
}


def typed_data(
    function: str, message: dict[str, Any], *, chain_id: int, verifying_contract: str
) -> dict[str, Any]:
    """The full EIP-712 message of a signed write of `function` (e.g. "setTextWithSig") in its contract's domain."""
    spec = SIGNED_FUNCTIONS[function]
    missing = {name for name, _ in spec.fields} - set(message)
    if missing:
        raise ValueError(f"{function}: message lacks {', '.join(sorted(missing))}")
    return {
        "types": {
            "EIP712Domain": DOMAIN_FIELDS,
            spec.primary_type: [{"name": name, "type": kind} for name, kind in spec.fields],
        },
        "primaryType": spec.primary_type,
        "domain": {
            "name": DOMAIN_NAMES[spec.contract],
            "version": EIP712_VERSION,
            "chainId": chain_id,
            "verifyingContract": verifying_contract,
        },
        "message": {name: message[name] for name, _ in spec.fields},
    }


def sign(
    function: str,
    message: dict[str, Any],
    private_key: str | bytes,
    *,
    chain_id: int,
    verifying_contract: str,
) -> bytes:
    """The 65-byte signature of a signed write by `private_key` (tests, demos and key-holding services)."""
    data = typed_data(function, message, chain_id=chain_id, verifying_contract=verifying_contract)
    return bytes(Account.sign_message(encode_typed_data(full_message=data), private_key).signature)


def recover(
    function: str, message: dict[str, Any], signature: bytes, *, chain_id: int, verifying_contract: str
) -> str:
    """The address that made `signature` over the signed write (EOA signatures only; ERC-1271 is checked on-chain)."""
    signable = signable_message(function, message, chain_id=chain_id, verifying_contract=verifying_contract)
    return str(Account.recover_message(signable, signature=signature))


def signable_message(
    function: str, message: dict[str, Any], *, chain_id: int, verifying_contract: str
) -> SignableMessage:
    """`encode_typed_data(full_message=typed_data(...))`, the same bytes (a test compares them for every function),
    with the domain separator hashed once per contract and chain instead of once per message.

    The relayer recovers a signer for every request it accepts; hashing the domain is half of eth-account's
    work for a message. Both halves are still eth-account's own functions (`hash_domain`, `hash_struct`).
    """
    spec = SIGNED_FUNCTIONS[function]
    missing = {name for name, _ in spec.fields} - set(message)
    if missing:
        raise ValueError(f"{function}: message lacks {', '.join(sorted(missing))}")
    domain = domain_separator(spec.contract, chain_id=chain_id, verifying_contract=verifying_contract)
    struct = hash_struct(spec.primary_type, _struct_types(function), message)
    return SignableMessage(b"\x01", domain, struct)


@functools.lru_cache(maxsize=1024)
def domain_separator(contract: str, *, chain_id: int, verifying_contract: str) -> bytes:
    """The EIP-712 domain separator of `contract` ("ProfileRegistry" | "InboxDeposits") at an address."""
    return bytes(
        hash_domain(
            {
                "name": DOMAIN_NAMES[contract],
                "version": EIP712_VERSION,
                "chainId": chain_id,
                "verifyingContract": verifying_contract,
            }
        )
    )


@functools.cache
def _struct_types(function: str) -> dict[str, list[dict[str, str]]]:
    spec = SIGNED_FUNCTIONS[function]
    return {spec.primary_type: [{"name": name, "type": kind} for name, kind in spec.fields]}
