"""After indexing a seeded random scenario, every indexed row equals the contracts' views."""

from __future__ import annotations

import pytest

from harness.devnet import Devnet
from harness.indexer import assert_matches_views, fresh_engine, run_scenario, sync_ok
from indexer.store.models import Event
from indexer.store.writer import count_rows

ALL_KINDS = {
    "NameRegistered",
    "Transfer",
    "ApprovalForAll",
    "TextChanged",
    "AddrChanged",
    "AddressChanged",
    "ContenthashChanged",
    "PrimaryNameChanged",
    "MinDepositSet",
    "Deposited",
    "Burned",
    "Released",
    "WithdrawalRequested",
    "Withdrawn",
}


def event_kinds(engine) -> set[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return {
            row[0]
            for row in conn.execute(Event.__table__.select().with_only_columns(Event.__table__.c.event))
        }


@pytest.mark.parametrize("seed", [1, 2])
def test_random_scenario__sqlite__rows_equal_views(devnet: Devnet, sqlite_url: str, seed: int) -> None:
    touched = run_scenario(devnet, seed=seed, steps=120)
    assert touched.succeeded > 60  # the scenario must actually do things
    engine = fresh_engine(sqlite_url)
    # Small ranges and several requests in flight: many batches, applied strictly in order.
    sync_ok(engine, [devnet.spec(initial_block_range=7, max_block_range=20, concurrency=3)])
    assert count_rows(engine, "events", devnet.anvil.chain_id) >= touched.succeeded
    assert_matches_views(devnet, engine, touched)
    assert event_kinds(engine) >= ALL_KINDS, ALL_KINDS - event_kinds(engine)

    # Continue the scenario and index again from the checkpoint: the result still equals the views.
    run_scenario(devnet, seed=seed + 100, steps=40, touched=touched)
    sync_ok(engine, [devnet.spec()])
    assert_matches_views(devnet, engine, touched)


def test_random_scenario__postgresql__rows_equal_views(devnet: Devnet, pg_url: str) -> None:
    touched = run_scenario(devnet, seed=3, steps=120)
    engine = fresh_engine(pg_url)
    sync_ok(engine, [devnet.spec(initial_block_range=9, max_block_range=30, concurrency=3)])
    assert_matches_views(devnet, engine, touched)
    engine.dispose()


def test_oracle__detects_a_wrong_row(devnet: Devnet, sqlite_url: str) -> None:
    """The differential oracle must fail on a corrupted row (else the tests above prove nothing)."""
    from sqlalchemy import update

    from indexer.store.models import Bond

    touched = run_scenario(devnet, seed=4, steps=60)
    engine = fresh_engine(sqlite_url)
    sync_ok(engine, [devnet.spec()])
    kinds = event_kinds(engine)
    assert {"NameRegistered", "Transfer", "TextChanged", "Deposited", "MinDepositSet"} <= kinds, kinds
    with engine.begin() as conn:
        changed = conn.execute(update(Bond.__table__).values(amount=7, accepted=False)).rowcount
    assert changed > 0
    with pytest.raises(AssertionError):
        assert_matches_views(devnet, engine, touched)
