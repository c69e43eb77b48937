"""Database faults: lost locks and takeovers (the lease fence), terminated connections, SIGTERM on a dead
connection, start-up races on a fresh schema, staleness, and text keys that are not UTF-8.

PostgreSQL faults are real: the test terminates the indexer's own backends with ``pg_terminate_backend``
(found by the ``application_name`` each process connects with). Every run ends by comparing the database with a
fresh index of the same chain (rows and change feed) and with the contracts' views.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak
from fastapi.testclient import TestClient
from fault_proxy import FaultProxy, Faults
from indexer_support import (
    PARENT,
    BackgroundIndexer,
    Devnet,
    assert_matches_views,
    dump,
    fresh_engine,
    run_scenario,
    sync_ok,
)
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from test_indexer_process import CLI, _chain_json, _env, _wait_indexed

from indexer.api.main import create_app
from indexer.chain.abi import DecodedLog
from indexer.ens import namehash
from indexer.settings.api import ApiSettings
from indexer.store import models
from indexer.store.db import create_db_engine
from indexer.store.lock import ChainLock, ChainLocked, LeaseLost
from indexer.store.writer import Batch, ChainWriter, Tips

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


# --- helpers ---------------------------------------------------------------------------------------------------


def _named(url: str, app: str) -> str:
    """``url`` with an application_name, so the test can find (and terminate) that process's backends."""
    return f"{url}{'&' if '?' in url else '?'}application_name={app}"


def _terminate(admin: Engine, app: str) -> int:
    with admin.begin() as conn:
        return len(
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :app AND pid <> pg_backend_pid()"
                ),
                {"app": app},
            ).all()
        )


def _admin() -> Engine:
    return create_db_engine(os.environ.get("DM3_TEST_DATABASE_URL", PG_DEFAULT), role="writer")


def _feed(engine: Engine, chain_id: int) -> list[tuple[Any, ...]]:
    """The change feed's apply rows as (block hash, log index, event), duplicates kept."""
    table = models.Change.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(
            select(table.c.block_hash, table.c.log_index, table.c.event).where(
                table.c.chain_id == chain_id, table.c.action == "apply"
            )
        ).all()
    return sorted(tuple(r) for r in rows)


def _assert_equals_fresh_index(devnet: Devnet, url: str, tmp_path: Any, touched: Any) -> None:
    clean = fresh_engine(f"sqlite:///{tmp_path}/clean-{uuid.uuid4().hex[:6]}.db")
    sync_ok(clean, [devnet.spec()])
    faulted = create_db_engine(url)
    cid = devnet.anvil.chain_id
    try:
        feed = _feed(faulted, cid)
        assert not [k for k, n in Counter(feed).items() if n > 1], "the change feed holds duplicates"
        assert feed == _feed(clean, cid)
        assert dump(faulted, cid) == dump(clean, cid)
        assert_matches_views(devnet, faulted, touched)
    finally:
        faulted.dispose()
        clean.dispose()


def _stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> tuple[int, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err.decode()


@pytest.fixture
def slow_proxy(devnet: Devnet) -> Iterator[FaultProxy]:
    proxy = FaultProxy(devnet.anvil.url, Faults(delay=0.01))
    yield proxy
    proxy.stop()


def _slow_chain(devnet: Devnet, proxy: FaultProxy) -> dict[str, Any]:
    return _chain_json(devnet, proxy.url, initial_block_range=1, max_block_range=1, concurrency=1)


# --- the fence -------------------------------------------------------------------------------------------------


def _batch(writer: ChainWriter) -> Batch:
    indexed = writer.chain().indexed_block
    start = 0 if indexed is None else indexed + 1
    return Batch(from_block=start, to_block=start, to_hash="0x" + f"{start:064x}", logs=[])


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_fence__taken_over__the_old_writer_cannot_write(backend: str, tmp_path: Any, request: Any) -> None:
    url = f"sqlite:///{tmp_path}/fence.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    engine = fresh_engine(url)
    first = ChainLock(engine, 7)
    first.acquire()
    writer = ChainWriter(engine, lock=first)
    writer.ensure_chain(name="c", parent_name="", registry_address=None, deposits_address=None)
    writer.apply(_batch(writer))

    with pytest.raises(ChainLocked, match="already being indexed"):
        ChainLock(engine, 7).acquire()
    # The first process loses its lock without noticing (its lock connection terminated; a lock file gone),
    # and a second process takes the chain.
    if backend == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first._lock_pid})
    else:
        assert first._file is not None
        os.unlink(f"{tmp_path}/fence.db.chain-7.lock")
    second = ChainLock(engine, 7)
    # pg_terminate_backend only signals the backend: the server releases its lock a moment later.
    deadline = time.monotonic() + 10
    while True:
        try:
            second.acquire()
            break
        except ChainLocked:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    assert second.generation == (first.generation or 0) + 1

    before = writer.chain()
    for write in (
        lambda: writer.apply(_batch(writer)),
        lambda: writer.set_tips(Tips(head=9)),
        lambda: writer.set_status("stopped", error="x"),
        lambda: writer.rollback(fork_block=0, fork_hash="0x"),
    ):
        with pytest.raises(LeaseLost, match="another process took over"):
            write()
    assert writer.chain() == before  # nothing the old writer tried reached the database
    ChainWriter(engine, lock=second).apply(_batch(writer))  # the new holder writes
    first.release()
    second.release()
    engine.dispose()


def test_fence__lock_connection_terminated__no_write_until_taken_again(pg_url: str) -> None:
    engine = fresh_engine(pg_url)
    lock = ChainLock(engine, 8)
    lock.acquire()
    writer = ChainWriter(engine, lock=lock)
    writer.ensure_chain(name="c", parent_name="", registry_address=None, deposits_address=None)
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": lock._lock_pid})
    with pytest.raises(LeaseLost, match="connection holding its lock was lost"):
        writer.apply(_batch(writer))  # the pool reconnects the writer; the fence still refuses
    lock.reacquire()  # also shows that release() of the dead connection does not raise
    writer.apply(_batch(writer))
    lock.release()
    engine.dispose()


# --- processes against PostgreSQL ------------------------------------------------------------------------------


def test_pg_terminate__lock_lost__one_writer_at_a_time(
    devnet: Devnet, slow_proxy: FaultProxy, pg_url: str, tmp_path: Any
) -> None:
    """Terminate every backend of indexer A mid-backfill and start indexer B at once: either A takes its chain
    again (and B is refused) or B takes it (and A stops writing, says so and exits); never both."""
    touched = run_scenario(devnet, seed=81, steps=60)
    chain = _slow_chain(devnet, slow_proxy)
    admin = _admin()
    a = subprocess.Popen(
        [CLI, "run", "--no-progress"],
        env=_env(_named(pg_url, "dm3a"), [chain]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _wait_indexed(pg_url, devnet.anvil.chain_id, devnet.registry.block + 10, a)
    assert _terminate(admin, "dm3a") >= 2  # the writer's and the lock's connections at least
    b = subprocess.Popen(
        [CLI, "run", "--no-progress"],
        env=_env(_named(pg_url, "dm3b"), [chain]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while a.poll() is None and b.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    loser, survivor = (a, b) if a.poll() is not None else (b, a)
    loser_rc, loser_err = _stop(loser)
    assert loser_rc == 1, loser_err
    assert "Traceback" not in loser_err
    if loser is b:
        assert "is already being indexed" in loser_err, loser_err
    else:
        assert "another process took over" in loser_err or "connection holding its lock was lost" in loser_err
        assert "so this process stops indexing it" in loser_err, loser_err
    _wait_indexed(pg_url, devnet.anvil.chain_id, devnet.anvil.block_number() - 1, survivor, timeout=120)
    rc, err = _stop(survivor)
    assert rc == 0, err
    admin.dispose()
    _assert_equals_fresh_index(devnet, pg_url, tmp_path, touched)


def test_pg_burst_of_terminated_connections__retried__equals_fresh_index(
    devnet: Devnet, slow_proxy: FaultProxy, pg_url: str, tmp_path: Any
) -> None:
    touched = run_scenario(devnet, seed=82, steps=60)
    admin = _admin()
    proc = subprocess.Popen(
        [CLI, "sync", "--no-progress"],
        env=_env(_named(pg_url, "dm3burst"), [_slow_chain(devnet, slow_proxy)]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _wait_indexed(pg_url, devnet.anvil.chain_id, devnet.registry.block + 5, proc)
    killed = 0
    for _ in range(8):
        killed += _terminate(admin, "dm3burst")
        time.sleep(0.25)
    assert proc.poll() is None or proc.returncode == 0, proc.communicate()
    assert killed >= 8
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err.decode()
    assert "retrying" in err.decode() or "taking the chain again" in err.decode()
    admin.dispose()
    _assert_equals_fresh_index(devnet, pg_url, tmp_path, touched)


def test_pg_sigterm_with_dead_connections__exits_0(
    devnet: Devnet, slow_proxy: FaultProxy, pg_url: str
) -> None:
    run_scenario(devnet, seed=83, steps=30)
    admin = _admin()
    proc = subprocess.Popen(
        [CLI, "run", "--no-progress"],
        env=_env(_named(pg_url, "dm3term"), [_slow_chain(devnet, slow_proxy)]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _wait_indexed(pg_url, devnet.anvil.chain_id, devnet.registry.block + 5, proc)
    _terminate(admin, "dm3term")
    rc, err = _stop(proc)
    assert rc == 0, err
    assert "Traceback" not in err
    admin.dispose()


# --- start-up races --------------------------------------------------------------------------------------------


@pytest.fixture
def fresh_schemas() -> Iterator[Any]:
    """Make fresh PostgreSQL schemas on demand (dropped afterwards)."""
    admin = _admin()
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL unreachable ({type(exc).__name__}); set DM3_TEST_DATABASE_URL")
    made: list[str] = []
    base = str(admin.url.render_as_string(hide_password=False))

    def make() -> str:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        made.append(schema)
        return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"

    yield make
    with admin.begin() as conn:
        for schema in made:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_indexers_started_together__one_runs_the_other_is_refused(
    devnet: Devnet, backend: str, tmp_path: Any, request: Any
) -> None:
    chain = _chain_json(devnet, devnet.anvil.url)
    for attempt in range(3):
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path}/race-{attempt}.db"
        else:
            url = request.getfixturevalue("fresh_schemas")()
        procs = [
            subprocess.Popen(
                [CLI, "run", "--no-progress"],
                env=_env(url, [chain]),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(2)
        ]
        deadline = time.monotonic() + 60
        while all(p.poll() is None for p in procs) and time.monotonic() < deadline:
            time.sleep(0.05)
        (loser,) = [p for p in procs if p.poll() is not None]
        (winner,) = [p for p in procs if p is not loser]
        rc, err = _stop(loser)
        assert rc == 1 and "is already being indexed" in err, err
        assert "Traceback" not in err and "database is locked" not in err, err
        _wait_indexed(url, devnet.anvil.chain_id, devnet.anvil.block_number() - 1, winner)
        rc, err = _stop(winner)
        assert rc == 0 and "Traceback" not in err, err


# --- staleness -------------------------------------------------------------------------------------------------


def test_node_stops__ready_turns_stale_within_the_bound(devnet: Devnet, tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path}/stale.db"
    engine = fresh_engine(url)
    spec = devnet.spec(ws_url="", poll_interval=0.1, rpc_retries=1, rpc_timeout=1.0)
    settings = ApiSettings(database_url=url, stale_after_blocks=1, stale_after_min_seconds=1.5)
    with BackgroundIndexer(engine, [spec]) as ix, TestClient(create_app(settings)) as api:
        ix.wait_for_head(devnet.anvil)
        time.sleep(0.5)
        ready = api.get("/ready")
        assert ready.status_code == 200, ready.json()
        envelope = api.get(
            "/v1/eligibility", params={"sender": devnet.accounts[1], "recipient": devnet.accounts[2]}
        )
        latest = devnet.anvil.rpc("eth_getBlockByNumber", ["latest", False])
        assert envelope.json()["chains"][0]["envelope"]["block_timestamp"] == int(latest["timestamp"], 16)

        devnet.anvil.proc.terminate()  # the node goes away; the indexer keeps running
        stopped = time.monotonic()
        while api.get("/ready").status_code == 200:
            assert time.monotonic() - stopped < 1.5 + 2.0, "still ready long after the bound"
            time.sleep(0.1)
        assert time.monotonic() - stopped >= 1.0  # not stale before the bound (minus the last poll's age)
        body = api.get("/ready").json()
        assert "stale" in body["message"] and "no head from the node" in body["message"], body
        (status,) = api.get("/v1/status").json()["data"]
        assert status["status"] == "stale" and status["stale"] is True
    engine.dispose()


# --- keys that are not UTF-8 -----------------------------------------------------------------------------------


def _set_text_raw(devnet: Devnet, sender: str, node: bytes, key: bytes, value: bytes) -> None:
    selector = keccak(text="setText(bytes32,string,string)")[:4]
    data = "0x" + (selector + abi_encode(["bytes32", "bytes", "bytes"], [node, key, value])).hex()
    tx = devnet.anvil.rpc(
        "eth_sendTransaction",
        [{"from": sender, "to": devnet.registry.address, "data": data, "gas": hex(2_000_000)}],
    )
    assert devnet.anvil.receipt(tx)["status"] == "0x1"


def _text_view(devnet: Devnet, node: bytes, key: bytes) -> bytes:
    selector = keccak(text="text(bytes32,string)")[:4]
    data = "0x" + (selector + abi_encode(["bytes32", "bytes"], [node, key])).hex()
    result = devnet.anvil.rpc("eth_call", [{"to": devnet.registry.address, "data": data}, "latest"])
    (value,) = abi_decode(["bytes"], bytes.fromhex(result[2:]))
    return bytes(value)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_text_keys__nul_invalid_utf8_and_lookalike__three_rows_equal_to_the_contract(
    devnet: Devnet, backend: str, tmp_path: Any, request: Any
) -> None:
    owner = devnet.accounts[1]
    assert devnet.send(devnet.registry, owner, "register", "keys", devnet.w3.to_checksum_address(owner))
    node = namehash(f"keys.{PARENT}")
    keys = [b"a\x00b", b"a\xffb", "a\ufffdb".encode()]
    for i, key in enumerate(keys):
        _set_text_raw(devnet, owner, node, key, f"value {i}".encode())
    url = f"sqlite:///{tmp_path}/keys.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    engine = fresh_engine(url)
    sync_ok(engine, [devnet.spec()])
    table = models.TextRecord.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = {
            r["key_hex"]: r["value"]
            for r in conn.execute(select(table).where(table.c.node == "0x" + node.hex())).mappings()
        }
    assert rows == {"0x" + key.hex(): _text_view(devnet, node, key).decode() for key in keys}
    assert len(rows) == 3
    engine.dispose()


def test_decoder__keeps_the_raw_bytes_of_lossy_strings() -> None:
    """The text form of a key replaces invalid UTF-8 and NUL; the decoded log keeps the raw bytes for them."""
    from indexer.chain.abi import LogDecoder, spec_by_name

    spec = spec_by_name("registry", "TextChanged")
    address = "0x" + "11" * 20
    decoder = LogDecoder({address: "registry"})
    for key, lossy in ((b"a\xffb", True), (b"a\x00b", True), ("a\ufffdb".encode(), False), (b"url", False)):
        log: DecodedLog = decoder.decode(
            {
                "address": address,
                "topics": [spec.topic0, "0x" + "22" * 32, "0x" + keccak(key).hex()],
                "data": "0x" + abi_encode(["bytes", "bytes"], [key, b"v"]).hex(),
                "blockNumber": "0x1",
                "blockHash": "0x" + "33" * 32,
                "transactionHash": "0x" + "44" * 32,
                "logIndex": "0x0",
            }
        )
        assert log.raw == ({"key": key} if lossy else {}), key


# --- replays ---------------------------------------------------------------------------------------------------


def test_replayed_batch__adds_nothing(devnet: Devnet, tmp_path: Any) -> None:
    """A batch applied again (a retry after a commit whose acknowledgement was lost) writes nothing twice."""
    run_scenario(devnet, seed=84, steps=20)
    engine = fresh_engine(f"sqlite:///{tmp_path}/replay.db")
    sync_ok(engine, [devnet.spec()])
    with ChainLock(engine, devnet.anvil.chain_id) as lock:
        writer = ChainWriter(engine, lock=lock, parent_name=PARENT)
        chain = writer.chain()
        table = models.Event.__table__  # type: ignore[attr-defined]
        with engine.connect() as conn:
            last = conn.execute(select(table).order_by(table.c.id.desc()).limit(1)).mappings().one()
        before = (_feed(engine, devnet.anvil.chain_id), dump(engine, devnet.anvil.chain_id))
        replay = Batch(
            from_block=last["block_number"],
            to_block=chain.indexed_block or 0,
            to_hash=chain.indexed_block_hash,
            logs=[
                DecodedLog(
                    block_number=last["block_number"],
                    block_hash=last["block_hash"],
                    tx_hash=last["tx_hash"],
                    log_index=last["log_index"],
                    address=last["address"],
                    contract=last["contract"],
                    event=last["event"],
                    args=dict(last["args"]),
                )
            ],
        )
        assert writer.apply(replay) == 0
        assert (_feed(engine, devnet.anvil.chain_id), dump(engine, devnet.anvil.chain_id)) == before
    engine.dispose()


def test_changes__unique_key_refuses_a_second_apply_row(tmp_path: Any) -> None:
    from sqlalchemy.exc import IntegrityError

    engine = fresh_engine(f"sqlite:///{tmp_path}/uq.db")
    row = {
        "action": "apply",
        "chain_id": 1,
        "block_number": 1,
        "block_hash": "0x" + "11" * 32,
        "tx_hash": "0x" + "22" * 32,
        "log_index": 0,
        "occurrence": 0,
        "event": "Deposited",
        "kind": "deposit",
        "args": {},
    }
    table = models.Change.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(table.insert(), [row])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(table.insert(), [row])
    with engine.begin() as conn:  # the same event after a rollback of it: its next occurrence
        conn.execute(table.insert(), [{**row, "occurrence": 1}])
    engine.dispose()


# --- the migration ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0003__upgrades_a_database_with_rows(backend: str, tmp_path: Any, request: Any) -> None:
    """A 0002 database with text records, undo entries and (the old bug) a duplicated change row upgrades: keys get
    their hex, undo entries their key_hex, duplicates distinct occurrences, the checkpoint its block time."""
    import sqlalchemy as sa

    from indexer.store.migrate import upgrade

    url = f"sqlite:///{tmp_path}/old.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    engine = create_db_engine(url, role="writer")
    upgrade(engine, "0002")
    node = "0x" + "ab" * 32
    json_columns = {("undo_log", "key"), ("undo_log", "previous"), ("changes", "args")}
    columns = {
        "chains": "chain_id name parent_name parent_node reorg_count status updated_at indexed_block",
        "blocks": "chain_id number hash parent_hash timestamp",
        "text_records": "chain_id node key value block_number",
        "undo_log": "chain_id block_number table_name key previous",
        "changes": "action chain_id block_number block_hash tx_hash log_index event kind args",
    }
    t = {
        name: sa.table(
            name, *(sa.column(c, sa.JSON() if (name, c) in json_columns else None) for c in cols.split())
        )
        for name, cols in columns.items()
    }
    change = {
        "action": "apply",
        "chain_id": 1,
        "block_number": 5,
        "block_hash": "0x" + "11" * 32,
        "tx_hash": "0x" + "22" * 32,
        "log_index": 0,
        "event": "Deposited",
        "kind": "deposit",
        "args": {},
    }
    with engine.begin() as conn:
        conn.execute(
            t["chains"].insert(),
            [
                {
                    "chain_id": 1,
                    "name": "c",
                    "parent_name": "",
                    "parent_node": "",
                    "reorg_count": 0,
                    "status": "live",
                    "updated_at": datetime.now(UTC),
                    "indexed_block": 5,
                }
            ],
        )
        conn.execute(
            t["blocks"].insert(),
            [{"chain_id": 1, "number": 5, "hash": "0x5", "parent_hash": "0x4", "timestamp": 1234}],
        )
        conn.execute(
            t["text_records"].insert(),
            [{"chain_id": 1, "node": node, "key": "url", "value": "v", "block_number": 5}],
        )
        previous = {"chain_id": 1, "node": node, "key": "url", "value": "old", "block_number": 4}
        conn.execute(
            t["undo_log"].insert(),
            [
                {
                    "chain_id": 1,
                    "block_number": 5,
                    "table_name": "text_records",
                    "key": {"node": node, "key": "url"},
                    "previous": previous,
                }
            ],
        )
        conn.execute(t["changes"].insert(), [change, change])
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT key_hex FROM text_records")).scalar() == "0x" + b"url".hex()
        assert conn.execute(text("SELECT indexed_block_timestamp FROM chains")).scalar() == 1234
        assert sorted(r[0] for r in conn.execute(text("SELECT occurrence FROM changes"))) == [0, 1]
        undo = models.UndoEntry.__table__  # type: ignore[attr-defined]
        key, prev = conn.execute(select(undo.c.key, undo.c.previous)).one()
    assert key == {"node": node, "key": "url", "key_hex": "0x" + b"url".hex()}
    assert prev == {**previous, "key_hex": "0x" + b"url".hex()}
    engine.dispose()
