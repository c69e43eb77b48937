"""The `changes` table: one apply row per feed event with the indexed rows, rollback rows on a reorg (newest
first, referencing the undone apply), ids strictly increasing, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from harness.devnet import Devnet, cs
from harness.indexer import fresh_engine, sync_ok
from indexer.store import models


def _changes(engine: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        table = models.Change.__table__  # type: ignore[attr-defined]
        return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_changes__apply_rollback_reapply(devnet: Devnet, backend: str, request: Any) -> None:
    engine = fresh_engine(request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url"))
    dep, reg = devnet.deposits, devnet.registry
    a, b, c = devnet.accounts[7], devnet.accounts[8], devnet.accounts[9]
    spec = devnet.spec(reorg_window=8)
    assert devnet.send(reg, a, "setApprovalForAll", cs(b), True)  # not a feed event: no change row
    assert devnet.send(dep, b, "set_min_deposit", 10**18)
    sync_ok(engine, [spec])
    base = _changes(engine)
    assert [(r["action"], r["kind"], r["recipient"]) for r in base[-1:]] == [("apply", "min_deposit", b)]
    assert all(r["event"] != "ApprovalForAll" for r in base)

    assert devnet.send(dep, a, "deposit", cs(b), 2 * 10**18)
    assert devnet.send(dep, b, "burn", cs(a), 10**18)
    sync_ok(engine, [spec])
    applied = _changes(engine)[len(base) :]
    assert [(r["action"], r["event"], r["sender"], r["recipient"]) for r in applied] == [
        ("apply", "Deposited", a, b),
        ("apply", "Burned", a, b),
    ]
    assert applied[1]["args"]["bond"] == str(10**18)

    # Both blocks are replaced by one holding a deposit to another recipient.
    devnet.anvil.rpc("anvil_reorg", [2, [[devnet.tx_request(dep, a, "deposit", cs(c), 5), 0]]])
    sync_ok(engine, [spec])
    rows = _changes(engine)
    after = rows[len(base) + 2 :]
    assert [(r["action"], r["event"], r["ref_id"]) for r in after] == [
        ("rollback", "Burned", applied[1]["id"]),  # newest first, like an undo log
        ("rollback", "Deposited", applied[0]["id"]),
        ("apply", "Deposited", None),
    ]
    assert after[0]["block_hash"] == applied[1]["block_hash"] and after[2]["recipient"] == c
    ids = [r["id"] for r in rows]
    assert ids == sorted(set(ids))

    # A second reorg rolls back only what is still applied (not the already-undone rows again).
    devnet.anvil.rpc("anvil_reorg", [2, []])  # the replacement deposit's block and the empty one after it
    sync_ok(engine, [spec])
    last = _changes(engine)[len(rows) :]
    assert [(r["action"], r["event"], r["ref_id"]) for r in last] == [
        ("rollback", "Deposited", after[2]["id"])
    ]
