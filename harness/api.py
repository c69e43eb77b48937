"""Constants and row builders shared by the API tests."""

from __future__ import annotations

from datetime import UTC, datetime

from eth_account import Account

from indexer.gateway.codec import namehash
from indexer.store.models import Chain

# Test-only gateway key, never funded anywhere.
GATEWAY_KEY = "0x" + "5a" * 32
GATEWAY_ACCOUNT = Account.from_key(GATEWAY_KEY)
RESOLVER = "0x" + "11" * 20
OP_CHAIN_ID = 10
BASE_CHAIN_ID = 8453


def chain_row(chain_id: int, parent_name: str, **fields: object) -> Chain:
    values: dict[str, object] = {
        "chain_id": chain_id,
        "name": f"chain-{chain_id}",
        "parent_name": parent_name,
        "parent_node": "0x" + namehash(parent_name).hex(),
        "head_block": 100,
        "indexed_block": 100,
        "indexed_block_hash": "0x" + f"{chain_id:064x}",
        "safe_block": 90,
        "finalized_block": 80,
        "status": "live",
        "head_seen_at": datetime.now(UTC),
        "block_time": 2.0,
    }
    values.update(fields)
    return Chain(**values)  # type: ignore[arg-type]
