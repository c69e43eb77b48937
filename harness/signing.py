"""EIP-712 signatures for the tests: every signed write from the product's one table (`indexer.signing`, which a
test checks against the contracts' own type hashes) and EIP-2612 permits, hashed and signed by eth-account.

A test that needs a wrong domain (another chain, contract, name or version) passes a whole `domain`; the struct
always comes from the table, so a test cannot sign a struct the contracts do not have.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data

from indexer.signing import (
    DOMAIN_FIELDS,
    DOMAIN_NAMES,
    EIP712_VERSION,
    SIGNED_FUNCTIONS,
    SignedFunction,
    typed_data,
)

# primary type ("SetText", "Burn", ...) -> its signed write; the names are unique across the contracts.
BY_PRIMARY_TYPE: dict[str, SignedFunction] = {spec.primary_type: spec for spec in SIGNED_FUNCTIONS.values()}
PERMIT_FIELDS = (
    ("owner", "address"),
    ("spender", "address"),
    ("value", "uint256"),
    ("nonce", "uint256"),
    ("deadline", "uint256"),
)


def domain(contract: str, *, chain_id: int, verifying_contract: Any) -> dict[str, Any]:
    """The EIP-712 domain of `contract` ("ProfileRegistry" or "InboxDeposits") deployed at `verifying_contract`."""
    return {
        "name": DOMAIN_NAMES[contract],
        "version": EIP712_VERSION,
        "chainId": chain_id,
        "verifyingContract": str(verifying_contract),
    }


def sign_typed_data(private_key: str | bytes, data: dict[str, Any]) -> bytes:
    """The 65-byte (r, s, v) signature of a full EIP-712 message."""
    return bytes(Account.sign_message(encode_typed_data(full_message=data), private_key).signature)


def sign_write(
    private_key: str | bytes, primary_type: str, message: dict[str, Any], *, domain: dict[str, Any]
) -> bytes:
    """The signature of the signed write whose struct is `primary_type`, in `domain` (see `domain()`). Values
    with an `address` (ape accounts and contracts) are signed as that address."""
    spec = BY_PRIMARY_TYPE[primary_type]
    plain = {
        key: str(value.address) if hasattr(value, "address") else value for key, value in message.items()
    }
    data = typed_data(
        spec.function, plain, chain_id=domain["chainId"], verifying_contract=domain["verifyingContract"]
    )
    data["domain"] = domain
    return sign_typed_data(private_key, data)


def sign_permit(
    private_key: str | bytes,
    *,
    token: Any,
    name: str,
    chain_id: int,
    owner: Any,
    spender: Any,
    value: int,
    nonce: int,
    deadline: int,
    version: str = "1",
) -> tuple[int, bytes, bytes]:
    """An EIP-2612 permit for `token` (domain `name`, `version`), as the (v, r, s) that `permit` takes."""
    data = {
        "types": {
            "EIP712Domain": DOMAIN_FIELDS,
            "Permit": [{"name": field, "type": kind} for field, kind in PERMIT_FIELDS],
        },
        "primaryType": "Permit",
        "domain": {
            "name": name,
            "version": version,
            "chainId": chain_id,
            "verifyingContract": str(token.address),
        },
        "message": {
            "owner": str(owner),
            "spender": str(spender),
            "value": value,
            "nonce": nonce,
            "deadline": deadline,
        },
    }
    signature = sign_typed_data(private_key, data)
    return signature[64], signature[:32], signature[32:64]
