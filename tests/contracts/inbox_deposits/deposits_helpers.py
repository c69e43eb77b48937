"""Constants and receipt helpers shared by the InboxDeposits tests (signing: `harness.signing`)."""

from __future__ import annotations

from typing import Any

COOLDOWN = 7 * 86_400
UNIT = 10**18
FUNDS = 1_000_000 * UNIT
MAX_UINT256 = 2**256 - 1


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
