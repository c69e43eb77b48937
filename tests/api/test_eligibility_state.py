"""The in-memory eligibility state (indexer.api.state) on its own: updates from change rows (rollbacks included) for
minimums, bonds, names and address records, reloads when the feed goes back or jumps, a database that fails and
comes back, and what the app serves meanwhile.

Rows are written here as the indexer's writer writes them: the state row and its change row in one transaction.
`test_changes_stream` checks the state against the real indexer through reorgs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, delete

from harness.api import BASE_CHAIN_ID, OP_CHAIN_ID, chain_row
from indexer.api.main import create_app
from indexer.api.state import EligibilityState, read_all
from indexer.ens import DEFAULT_EVM_COIN_TYPE, node_hex
from indexer.store.db import create_db_engine
from indexer.store.models import AddrRecord, Bond, Chain, Change, MinDeposit, Name

S = "0x" + "a1" * 20
R = "0x" + "b2" * 20
T = "0x" + "c3" * 20


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture
def state_reader(db_url: str, writer: Engine) -> Iterator[Engine]:
    engine = create_db_engine(db_url, role="reader")
    yield engine
    engine.dispose()


def change(
    chain_id: int, event: str, kind: str, *, sender: str | None, recipient: str | None, **fields: Any
) -> Change:
    values: dict[str, Any] = {
        "action": "apply",
        "block_number": 100,
        "block_hash": "0x" + "11" * 32,
        "tx_hash": "0x" + "22" * 32,
        "log_index": 0,
        **fields,
    }
    return Change(chain_id=chain_id, event=event, kind=kind, sender=sender, recipient=recipient, **values)


_log_index = iter(range(1, 10_000))


def commit(
    writer: Engine, *rows: SQLModel, gone: tuple[type[SQLModel], dict[str, Any]] | None = None
) -> None:
    """One transaction, as the writer makes one: state rows (merged or deleted) and their change rows."""
    with Session(writer) as session:
        if gone is not None:
            model, key = gone
            session.exec(delete(model).where(*(getattr(model, k) == v for k, v in key.items())))  # type: ignore[call-overload]
        for row in rows:
            if isinstance(row, Change):
                row.log_index = next(_log_index)
                session.add(row)
            else:
                session.merge(row)
        session.commit()


def update(state: EligibilityState) -> None:
    anyio.run(state.update)


def assert_exact(state: EligibilityState, state_reader: Engine) -> None:
    snapshot, database = state.snapshot(), read_all(state_reader)
    assert snapshot is not None
    assert (
        snapshot == database
    )  # chains, parent names, minimums, bonds, names, records, last id (not the memo)


@pytest.fixture
def seeded_state(seed: Callable[..., None], state_reader: Engine) -> EligibilityState:
    seed(
        chain_row(OP_CHAIN_ID, "op.dm3.eth", safe_block=60, finalized_block=40),
        chain_row(BASE_CHAIN_ID, "base.dm3.eth"),
        MinDeposit(chain_id=OP_CHAIN_ID, recipient=R, amount=100, block_number=50),
        Bond(chain_id=OP_CHAIN_ID, sender=S, recipient=R, amount=150, block_number=55),
    )
    state = EligibilityState(state_reader, refresh_interval=0.01, max_age=60)
    assert state.snapshot() is None and state.age is None
    update(state)
    assert state.loads == 1
    return state


def test_state__follows_new_rows_changed_rows_deleted_rows_and_rollbacks(seeded_state, writer, state_reader):
    state = seeded_state
    assert_exact(state, state_reader)
    # a new bond, a changed minimum, a price on a second chain, the chain advancing
    commit(
        writer,
        Bond(chain_id=OP_CHAIN_ID, sender=T, recipient=R, amount=7, block_number=101),
        change(OP_CHAIN_ID, "Deposited", "deposit", sender=T, recipient=R),
        MinDeposit(chain_id=OP_CHAIN_ID, recipient=R, amount=5, block_number=101),
        change(OP_CHAIN_ID, "MinDepositSet", "min_deposit", sender=None, recipient=R),
        MinDeposit(chain_id=BASE_CHAIN_ID, recipient=R, amount=0, block_number=101),
        change(BASE_CHAIN_ID, "MinDepositSet", "min_deposit", sender=None, recipient=R),
    )
    with Session(writer) as session:
        chain = session.get(Chain, OP_CHAIN_ID)
        assert chain is not None
        chain.indexed_block, chain.indexed_block_hash, chain.safe_block = 120, "0x" + "ab" * 32, 110
        session.commit()
    update(state)
    assert_exact(state, state_reader)
    snapshot = state.snapshot()
    assert snapshot is not None
    assert snapshot.facts.bonds[(OP_CHAIN_ID, T, R)].amount == 7
    assert (
        snapshot.chains[0].indexed_block == 120
        and '"block_number":120' in snapshot.envelopes[OP_CHAIN_ID]["latest"]
    )
    # a reorg undoes the deposit (its rollback row) and the minimum goes back; a withdrawal request, accepted
    applied = read_all(state_reader).last_change
    commit(
        writer,
        change(
            OP_CHAIN_ID, "Deposited", "deposit", sender=T, recipient=R, action="rollback", ref_id=applied - 2
        ),
        MinDeposit(chain_id=OP_CHAIN_ID, recipient=R, amount=100, block_number=50),
        change(OP_CHAIN_ID, "MinDepositSet", "min_deposit", sender=None, recipient=R, action="rollback"),
        Bond(
            chain_id=OP_CHAIN_ID,
            sender=S,
            recipient=R,
            amount=150,
            accepted=True,
            unlock_time=2**40,
            block_number=121,
        ),
        change(OP_CHAIN_ID, "Released", "release", sender=S, recipient=R),
        gone=(Bond, {"chain_id": OP_CHAIN_ID, "sender": T, "recipient": R}),
    )
    update(state)
    assert_exact(state, state_reader)
    snapshot = state.snapshot()
    assert snapshot is not None and (OP_CHAIN_ID, T, R) not in snapshot.facts.bonds
    assert snapshot.facts.bonds[(OP_CHAIN_ID, S, R)].unlock_time == 2**40
    # registry changes name no deposit rows: nothing to re-read, the id still advances
    commit(
        writer, change(OP_CHAIN_ID, "TextChanged", "text", sender=None, recipient=None, node="0x" + "00" * 32)
    )
    update(state)
    assert_exact(state, state_reader)
    assert (state.loads, state.refreshes) == (1, 3)


def name_row(label: str, owner: str, *, chain_id: int = OP_CHAIN_ID, parent: str = "op.dm3.eth") -> Name:
    return Name(
        chain_id=chain_id,
        node=node_hex(f"{label}.{parent}"),
        label=label,
        parent_node=node_hex(parent),
        name=f"{label}.{parent}",
        owner=owner,
        block_number=101,
    )


def addr_row(label: str, coin_type: int, address: str, *, chain_id: int = OP_CHAIN_ID) -> AddrRecord:
    node = node_hex(f"{label}.op.dm3.eth")
    return AddrRecord(chain_id=chain_id, node=node, coin_type=coin_type, address=address, block_number=101)


def registry_change(event: str, kind: str, label: str, **fields: Any) -> Change:
    node = node_hex(f"{label}.op.dm3.eth")
    return change(OP_CHAIN_ID, event, kind, sender=None, recipient=None, node=node, **fields)


def test_state__follows_names_and_address_records(seeded_state, writer, state_reader):
    """Registrations, transfers and address records (coin 60, the ENSIP-19 default, others ignored) arrive by
    their change rows, named by `node`; a rollback row re-reads what it names; nothing else reloads."""
    state = seeded_state
    alice = node_hex("alice.op.dm3.eth")
    commit(
        writer,
        name_row("alice", S),
        registry_change("NameRegistered", "name_registered", "alice"),
        name_row("bob", T),
        registry_change("NameRegistered", "name_registered", "bob"),
    )
    update(state)
    assert_exact(state, state_reader)
    snapshot = state.snapshot()
    assert snapshot is not None and snapshot.names.owners[(OP_CHAIN_ID, alice)] == S
    commit(
        writer,
        addr_row("alice", 60, R),
        addr_row("alice", DEFAULT_EVM_COIN_TYPE, T),
        addr_row("alice", 0, "0x" + "ee" * 25),  # a bitcoin record: not what addr(node) reads
        registry_change("AddressChanged", "address", "alice"),
        name_row("bob", R),
        registry_change("Transfer", "transfer", "bob"),
    )
    update(state)
    assert_exact(state, state_reader)
    snapshot = state.snapshot()
    assert snapshot is not None
    assert snapshot.names.addresses == {
        (OP_CHAIN_ID, alice, 60): R,
        (OP_CHAIN_ID, alice, DEFAULT_EVM_COIN_TYPE): T,
    }
    # the record of coin 60 goes (a reorg, its rollback row), and alice's registration with it
    commit(
        writer,
        registry_change("AddressChanged", "address", "alice", action="rollback"),
        registry_change("NameRegistered", "name_registered", "alice", action="rollback"),
        gone=(AddrRecord, {"chain_id": OP_CHAIN_ID, "node": alice, "coin_type": 60}),
    )
    commit(writer, gone=(Name, {"chain_id": OP_CHAIN_ID, "node": alice}))
    update(state)
    assert_exact(state, state_reader)
    snapshot = state.snapshot()
    assert snapshot is not None and (OP_CHAIN_ID, alice) not in snapshot.names.owners
    assert (state.loads, state.refreshes) == (1, 3)


def test_state__a_refresh_that_changes_nothing_keeps_the_snapshot_and_its_answers(
    seeded_state, writer, state_reader
):
    state = seeded_state
    snapshot = state.snapshot()
    assert snapshot is not None
    snapshot.memo.put("question", "answer")
    update(state)  # nothing new
    commit(
        writer, change(OP_CHAIN_ID, "TextChanged", "text", sender=None, recipient=None, node="0x" + "00" * 32)
    )
    update(state)  # a change no answer reads: the last id moves, the answers stay
    kept = state.snapshot()
    assert kept is not None and kept.memo is snapshot.memo and kept.memo.get("question") == "answer"
    assert kept.last_change == snapshot.last_change + 1
    commit(
        writer,
        MinDeposit(chain_id=OP_CHAIN_ID, recipient=R, amount=5, block_number=101),
        change(OP_CHAIN_ID, "MinDepositSet", "min_deposit", sender=None, recipient=R),
    )
    update(state)
    changed = state.snapshot()
    assert changed is not None and changed.memo is not snapshot.memo and changed.memo.get("question") is None
    assert_exact(state, state_reader)


def test_state__loads_again_when_the_feed_goes_back_jumps_or_the_chains_change(
    seeded_state, writer, state_reader
):
    state = seeded_state
    state.max_delta = 2
    rows = [Bond(chain_id=OP_CHAIN_ID, sender=T, recipient=R, amount=n, block_number=101) for n in (1, 2, 3)]
    commit(
        writer,
        *(
            r
            for row in rows
            for r in (row, change(OP_CHAIN_ID, "Deposited", "deposit", sender=T, recipient=R))
        ),
    )
    update(state)  # three changes, more than max_delta
    assert_exact(state, state_reader)
    assert (state.loads, state.refreshes) == (2, 0)
    with Session(writer) as session:  # a restored database: the feed is behind the copy
        session.exec(delete(Change).where(Change.id > 1))  # type: ignore[call-overload]
        session.exec(delete(Bond))  # type: ignore[call-overload]
        session.commit()
    update(state)
    assert_exact(state, state_reader)
    assert state.loads == 3
    commit(writer, chain_row(7, "seven.dm3.eth"))  # a chain appears
    update(state)
    assert_exact(state, state_reader)
    assert state.loads == 4


def test_state__database_failing_then_back(seeded_state, writer, state_reader, db_url):
    """While its reads fail the copy ages out (None: callers read the database), then catches up by delta."""
    state = seeded_state
    state.max_age = 0.2
    with writer.begin() as conn:
        conn.execute(text("ALTER TABLE changes RENAME TO changes_away"))
    commit(writer, Bond(chain_id=OP_CHAIN_ID, sender=T, recipient=R, amount=9, block_number=101))
    with pytest.raises(Exception, match="changes"):
        update(state)
    assert state.snapshot() is not None  # younger than max_age: still served
    time.sleep(0.25)
    assert state.snapshot() is None
    with writer.begin() as conn:
        conn.execute(text("ALTER TABLE changes_away RENAME TO changes"))
    commit(writer, change(OP_CHAIN_ID, "Deposited", "deposit", sender=T, recipient=R))
    if db_url.startswith(
        "postgresql"
    ):  # and the state_reader's pooled connection dies (only ours: the server is shared)
        with state_reader.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with writer.begin() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    state.max_age = 60  # a slow read on a busy machine must not age the copy out before the check
    update(state)
    assert_exact(state, state_reader)
    assert state.loads == 1


def test_app__serves_the_state_while_fresh_and_the_database_once_it_is_not(api_settings, seed, writer):
    seed(
        chain_row(OP_CHAIN_ID, "op.dm3.eth"),
        MinDeposit(chain_id=OP_CHAIN_ID, recipient=R, amount=100, block_number=50),
        Bond(chain_id=OP_CHAIN_ID, sender=S, recipient=R, amount=150, block_number=55),
    )
    settings = api_settings.model_copy(
        update={"memory_state": True, "state_refresh_interval": 0.01, "state_max_age": 0.3}
    )
    app = create_app(settings)
    state: EligibilityState = app.state.eligibility_state

    def reason(client: TestClient) -> str:
        return str(client.get("/v1/eligibility", params={"sender": S, "recipient": R}).json()["reason"])

    with TestClient(app) as client:
        deadline = time.monotonic() + 10
        while state.snapshot() is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        commit(
            writer,
            MinDeposit(chain_id=OP_CHAIN_ID, recipient=R, amount=1_000, block_number=60),
            change(OP_CHAIN_ID, "MinDepositSet", "min_deposit", sender=None, recipient=R),
        )
        deadline = time.monotonic() + 10
        while reason(client) != "insufficient_deposit":  # the change arrives through the feed
            assert time.monotonic() < deadline
            time.sleep(0.01)
        with writer.begin() as conn:  # the state can no longer read the feed ...
            conn.execute(text("ALTER TABLE changes RENAME TO changes_away"))
        commit(writer, MinDeposit(chain_id=OP_CHAIN_ID, recipient=R, amount=0, block_number=61))
        time.sleep(0.4)
        assert state.snapshot() is None
        assert reason(client) == "open_inbox"  # ... and the fast path reads the database itself
    app.state.engine.dispose()


def test_state__an_update_that_changes_rows_waits_for_a_reader_holding_the_lock(seeded_state, writer):
    """A batch answered in slices holds the lock: the rows it reads do not change under it."""
    state = seeded_state
    commit(
        writer,
        MinDeposit(chain_id=OP_CHAIN_ID, recipient=R, amount=7, block_number=101),
        change(OP_CHAIN_ID, "MinDepositSet", "min_deposit", sender=None, recipient=R),
    )

    async def run() -> None:
        before = state.snapshot()
        assert before is not None
        async with state.lock():
            update = asyncio.create_task(state.update())
            for _ in range(500):  # the read is done in a thread; the update then waits for the lock
                await asyncio.sleep(0.01)
                if state.lock().locked() and len(state.lock()._waiters or ()) == 1:  # type: ignore[attr-defined]
                    break
            assert state.snapshot() is before and before.facts.minimums[(OP_CHAIN_ID, R)][0] == 100
        await update
        after = state.snapshot()
        assert after is not None and after is not before and after.facts.minimums[(OP_CHAIN_ID, R)][0] == 7

    asyncio.run(run())


def test_batch__catches_up_with_the_change_feed_before_answering(api_settings, seed, writer):
    """A single pair may trail the database by a refresh interval; a batch never does: the client's cache
    re-fetches pairs in a batch after each rollback the stream gave it, and must see its effect."""
    seed(
        chain_row(OP_CHAIN_ID, "op.dm3.eth"),
        MinDeposit(chain_id=OP_CHAIN_ID, recipient=R, amount=100, block_number=50),
        Bond(chain_id=OP_CHAIN_ID, sender=S, recipient=R, amount=150, block_number=55),
    )
    settings = api_settings.model_copy(update={"memory_state": True, "state_refresh_interval": 3600})
    app = create_app(settings)
    with TestClient(app) as client:
        deadline = time.monotonic() + 10
        while app.state.eligibility_state.snapshot() is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        commit(
            writer,
            MinDeposit(chain_id=OP_CHAIN_ID, recipient=R, amount=1_000, block_number=60),
            change(OP_CHAIN_ID, "MinDepositSet", "min_deposit", sender=None, recipient=R),
        )
        single = client.get("/v1/eligibility", params={"sender": S, "recipient": R}).json()
        assert single["reason"] == "deposit"  # the copy, an hour from its next refresh
        batch = client.post("/v1/eligibility", json={"pairs": [{"sender": S, "recipient": R}]}).json()
        assert batch["data"][0]["reason"] == "insufficient_deposit"
        assert app.state.eligibility_state.refreshes == 1  # by catching up, not by a reload
    app.state.engine.dispose()


# --- the commit probe: SQLite answers "nothing committed" without a read ------------------------------------------


@pytest.fixture
def counted_reads(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Counts the state's delta reads; `fail` > 0 makes that many of them raise first."""
    from indexer.api import state as module

    real = module.read_delta
    seen: dict[str, Any] = {"reads": 0, "fail": 0}

    def counting(*args: Any, **kwargs: Any) -> Any:
        seen["reads"] += 1
        if seen["fail"]:
            seen["fail"] -= 1
            raise OSError("the read failed")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "read_delta", counting)
    return seen


def test_state__reads_nothing_while_nothing_is_committed_and_every_commit_when_there_is(
    seeded_state, writer, state_reader, db_url, counted_reads
):
    state = seeded_state
    for _ in range(3):
        update(state)
    if db_url.startswith("sqlite"):
        assert (counted_reads["reads"], state.skipped) == (0, 3)  # the copy is the database: no read
    else:  # PostgreSQL has no cheap question: a read every time
        assert (counted_reads["reads"], state.skipped) == (3, 0)
    assert state.age is not None and state.age < 5  # a skipped read is a fresh copy, not an old one
    reads = counted_reads["reads"]
    commit(
        writer,
        MinDeposit(chain_id=OP_CHAIN_ID, recipient=R, amount=7, block_number=101),
        change(OP_CHAIN_ID, "MinDepositSet", "min_deposit", sender=None, recipient=R),
    )
    update(state)
    assert counted_reads["reads"] == reads + 1
    assert_exact(state, state_reader)
    snapshot = state.snapshot()
    assert snapshot is not None and snapshot.facts.minimums[(OP_CHAIN_ID, R)][0] == 7


def test_state__a_failed_read_is_read_again_though_nothing_more_was_committed(
    seeded_state, writer, state_reader, counted_reads
):
    """The probe saw the commit, the read that followed failed: the next update must not take the probe's
    "nothing since" for "the copy is the database"."""
    state = seeded_state
    commit(
        writer,
        Bond(chain_id=OP_CHAIN_ID, sender=T, recipient=R, amount=9, block_number=101),
        change(OP_CHAIN_ID, "Deposited", "deposit", sender=T, recipient=R),
    )
    counted_reads["fail"] = 1
    with pytest.raises(OSError, match="the read failed"):
        update(state)
    update(state)  # no commit in between
    assert counted_reads["reads"] == 2
    assert_exact(state, state_reader)


def test_state__reads_anyway_every_full_read_every_seconds(
    seeded_state, counted_reads, monkeypatch: pytest.MonkeyPatch
):
    from indexer.api import state as module

    monkeypatch.setattr(module, "FULL_READ_EVERY", 0.0)
    update(seeded_state)
    update(seeded_state)
    assert counted_reads["reads"] == 2


def test_commit_probe__commits_from_any_connection_or_process_a_replaced_file_and_a_missing_one(tmp_path):
    import os
    import sqlite3
    import subprocess
    import sys

    from indexer.api.state import CommitProbe

    path = tmp_path / "probe.db"
    other = sqlite3.connect(path)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE t (x)")
    other.commit()
    probe = CommitProbe(str(path))
    assert probe.changed()  # the first question: nothing known yet
    assert not probe.changed() and not probe.changed()
    other.execute("INSERT INTO t VALUES (1)")
    assert not probe.changed()  # not committed yet
    other.commit()
    assert probe.changed() and not probe.changed()
    script = f"import sqlite3; c = sqlite3.connect({str(path)!r}); c.execute('INSERT INTO t VALUES (2)'); c.commit()"
    subprocess.run([sys.executable, "-c", script], check=True)
    assert probe.changed() and not probe.changed()
    other.close()
    replacement = tmp_path / "restored.db"
    sqlite3.connect(replacement).close()
    os.replace(replacement, path)  # another database moved into its place
    assert probe.changed() and not probe.changed()
    path.unlink()
    assert probe.changed() and probe.changed()  # unreadable: always "maybe", never an exception
    probe.close()


def test_commit_probe__only_for_a_sqlite_file(tmp_path, pg_url):
    from indexer.api.state import CommitProbe

    engines = [
        create_db_engine(url, role="reader")
        for url in (f"sqlite:///{tmp_path / 'x.db'}", "sqlite://", pg_url)
    ]
    assert [CommitProbe.of(engine) is not None for engine in engines] == [True, False, False]
    for engine in engines:
        engine.dispose()
