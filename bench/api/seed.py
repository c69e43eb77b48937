"""A realistic indexed database for the API benchmark: two chains, thousands of recipients, bonds and names.

Rows go in through SQLAlchemy Core in bulk (the indexer's own writer would need a chain to read from); the schema is
the real one (Alembic migrations).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import insert

from indexer.ens import node_hex
from indexer.store import models
from indexer.store.db import create_db_engine
from indexer.store.migrate import upgrade

CHAINS = [(10, "op.dm3.eth"), (8453, "base.dm3.eth")]
HEAD = 5_000_000


@dataclass
class Seeded:
    """What the load generators ask about: pairs that have a bond, pairs that do not, and names."""

    bonded: list[tuple[str, str]] = field(default_factory=list)
    unbonded: list[tuple[str, str]] = field(default_factory=list)
    names: list[tuple[str, str]] = field(default_factory=list)  # (sender name, recipient address)
    rows: dict[str, int] = field(default_factory=dict)


def _address(rng: random.Random) -> str:
    return "0x" + rng.randbytes(20).hex()


def seed_database(
    path: Path, *, recipients: int = 2_000, bonds_per_chain: int = 10_000, names: int = 1_000, seed: int = 1
) -> Seeded:
    """Create `path` (a SQLite file) and fill it; returns the keys the benchmark queries."""
    rng = random.Random(seed)
    path.unlink(missing_ok=True)
    engine = create_db_engine(f"sqlite:///{path}", role="writer")
    upgrade(engine)
    inboxes = [_address(rng) for _ in range(recipients)]
    senders = [_address(rng) for _ in range(recipients * 2)]
    out = Seeded()
    rows: dict[str, list[dict[str, object]]] = {
        t: [] for t in ("chains", "mins", "bonds", "history", "names", "addrs")
    }
    for chain_id, parent in CHAINS:
        rows["chains"].append(
            {
                "chain_id": chain_id,
                "name": parent.split(".")[0],
                "parent_name": parent,
                "parent_node": node_hex(parent),
                "head_block": HEAD,
                "indexed_block": HEAD,
                "indexed_block_hash": "0x" + rng.randbytes(32).hex(),
                "safe_block": HEAD - 10,
                "finalized_block": HEAD - 100,
                "status": "live",
                "reorg_count": 0,
            }
        )
        for recipient in inboxes:
            if rng.random() < 0.8:  # most inboxes set a price; the rest are open
                amount = rng.choice([0, 10**18, 5 * 10**18, 10**17])
                rows["mins"].append(
                    {
                        "chain_id": chain_id,
                        "recipient": recipient,
                        "amount": amount,
                        "block_number": rng.randrange(HEAD),
                    }
                )
        pairs: set[tuple[str, str]] = set()
        while len(pairs) < bonds_per_chain:
            pairs.add((rng.choice(senders), rng.choice(inboxes)))
        for i, (sender, recipient) in enumerate(sorted(pairs)):
            amount = rng.choice([10**18, 2 * 10**18, 10**17, rng.randrange(1, 10**22)])
            block = rng.randrange(HEAD - 1_000, HEAD + 1)
            unlock = rng.randrange(1, 2**32) if rng.random() < 0.05 else None
            rows["bonds"].append(
                {
                    "chain_id": chain_id,
                    "sender": sender,
                    "recipient": recipient,
                    "amount": amount,
                    "accepted": rng.random() < 0.1,
                    "unlock_time": unlock,
                    "block_number": block,
                }
            )
            rows["history"].append(
                {
                    "chain_id": chain_id,
                    "tx_hash": "0x" + rng.randbytes(32).hex(),
                    "log_index": i % 50,
                    "block_number": block,
                    "sender": sender,
                    "recipient": recipient,
                    "kind": "deposit",
                    "amount": amount,
                    "bond_after": amount,
                    "counterparty": sender,
                }
            )
        out.bonded += sorted(pairs)[:: max(1, bonds_per_chain // 2_000)]
    for i in range(names):
        chain_id, parent = CHAINS[i % len(CHAINS)]
        label = f"user{i}"
        node = node_hex(f"{label}.{parent}")
        owner = rng.choice(senders)
        rows["names"].append(
            {
                "chain_id": chain_id,
                "node": node,
                "label": label,
                "parent_node": node_hex(parent),
                "name": f"{label}.{parent}",
                "owner": owner,
                "block_number": rng.randrange(HEAD),
            }
        )
        if i % 2:
            rows["addrs"].append(
                {"chain_id": chain_id, "node": node, "coin_type": 60, "address": owner, "block_number": 1}
            )
        out.names.append((f"{label}.{parent}", rng.choice(inboxes)))
    out.unbonded = [(rng.choice(senders), rng.choice(inboxes)) for _ in range(1_000)]
    tables = {
        "chains": models.Chain,
        "mins": models.MinDeposit,
        "bonds": models.Bond,
        "history": models.BondHistory,
        "names": models.Name,
        "addrs": models.AddrRecord,
    }
    with engine.begin() as conn:
        for key, model in tables.items():
            if rows[key]:
                conn.execute(insert(model.__table__), rows[key])  # type: ignore[attr-defined]
    engine.dispose()
    out.rows = {key: len(value) for key, value in rows.items()}
    return out


def batch_body(seeded: Seeded, rng: random.Random, size: int) -> bytes:
    """A `POST /v1/eligibility` body of `size` pairs: 60% with a bond, 30% strangers, 10% by name, shuffled."""
    pairs = (
        rng.sample(seeded.bonded, size * 6 // 10)
        + rng.sample(seeded.unbonded, size * 3 // 10)
        + rng.sample(seeded.names, size - size * 9 // 10)
    )
    rng.shuffle(pairs)
    return json.dumps({"pairs": [{"sender": s, "recipient": r} for s, r in pairs]}).encode()
