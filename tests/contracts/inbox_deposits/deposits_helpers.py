"""Constants and EIP-712 helpers shared by the InboxDeposits tests."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data

COOLDOWN = 7 * 86_400
UNIT = 10**18
FUNDS = 1_000_000 * UNIT
MAX_UINT256 = 2**256 - 1

BURN_TYPES = [
    {"name": "sender", "type": "address"},
    {"name": "recipient", "type": "address"},
    {"name": "amount", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
RELEASE_TYPES = [
    {"name": "sender", "type": "address"},
    {"name": "recipient", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
SET_MIN_DEPOSIT_TYPES = [
    {"name": "recipient", "type": "address"},
    {"name": "amount", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
DEPOSIT_TYPES = BURN_TYPES
REQUEST_WITHDRAWAL_TYPES = RELEASE_TYPES
WITHDRAW_TYPES = [
    {"name": "sender", "type": "address"},
    {"name": "recipient", "type": "address"},
    {"name": "receiver", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
# Every signed call of InboxDeposits: primary type -> struct fields (the contract's type strings).
SIGNED_TYPES = {
    "SetMinDeposit": SET_MIN_DEPOSIT_TYPES,
    "Deposit": DEPOSIT_TYPES,
    "Burn": BURN_TYPES,
    "Release": RELEASE_TYPES,
    "RequestWithdrawal": REQUEST_WITHDRAWAL_TYPES,
    "Withdraw": WITHDRAW_TYPES,
}
PERMIT_TYPES = [
    {"name": "owner", "type": "address"},
    {"name": "spender", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
DOMAIN_TYPES = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def typed_data(
    *, primary: str, types: list[dict[str, str]], domain: dict[str, Any], message: dict[str, Any]
) -> dict[str, Any]:
    """A full EIP-712 message for `encode_typed_data(full_message=...)`."""
    return {
        "types": {"EIP712Domain": DOMAIN_TYPES, primary: types},
        "primaryType": primary,
        "domain": domain,
        "message": message,
    }


def sign(private_key: str, data: dict[str, Any]) -> bytes:
    """The 65-byte (r, s, v) signature of a full EIP-712 message."""
    signed = Account.sign_message(encode_typed_data(full_message=data), private_key)
    return bytes(signed.signature)


def only_event(tx: Any, event_type: Any) -> Any:
    """The single log of `event_type` in the receipt `tx` (fails on none or several)."""
    logs = list(tx.decode_logs(event_type))
    assert len(logs) == 1, f"expected one {event_type.name}, got {len(logs)}"
    return logs[0]


def bond_of(deposits: Any, sender: Any, recipient: Any) -> tuple[int, int, bool]:
    """The pair's bond as (amount, unlock_time, accepted)."""
    bond = deposits.bonds(sender, recipient)
    return bond.amount, bond.unlock_time, bond.accepted


def block_timestamp(chain: Any, tx: Any) -> int:
    """The timestamp of the block that mined `tx`."""
    return chain.blocks[tx.block_number].timestamp
