"""Relay requests in the change feed (`/v1/changes`, kind `relay`): every state a request enters is one change row,
written in the transaction that changes the request, in order, with the request's fields; on SQLite and PostgreSQL,
through the long poll, SSE and the Python clients, across reorgs and a failing feed insert."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, text
from web3 import Web3

from harness.relayer import RelayEnv, relay_changes, serve_with_relayer, user
from indexer.client import AsyncDm3Client, ChangeOut, Dm3Client
from indexer.relayer import calls
from indexer.store.models import Chain, Change, finality_of


def accept(env: RelayEnv, body: dict[str, Any]) -> str:
    response = env.post(body)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def primary(env: RelayEnv, n: int, **kw: Any) -> str:
    return accept(env, env.body("setPrimaryNameWithSig", user(n), name=f"u{n}.op.dm3.eth", **kw))


def poll(env: RelayEnv, **params: Any) -> Any:
    return env.client.get("/v1/changes/poll", params={"cursor": 0, "timeout": 0, **params})


def events(rows: list[dict[str, Any]], request_id: str) -> list[str]:
    return [r["event"] for r in rows if r["args"]["id"] == request_id]


def chain_tags(env: RelayEnv) -> Chain:
    table = Chain.__table__  # type: ignore[attr-defined]
    with env.engine.connect() as conn:
        row = conn.execute(select(table).where(table.c.chain_id == env.chain_id)).mappings().one()
    return Chain(**row)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_feed__every_state_in_order_with_the_requests_fields(
    make_env: Any, backend: str, request: Any
) -> None:
    env = make_env(request.getfixturevalue("pg_url") if backend == "postgresql" else None)
    ids = [primary(env, n) for n in (1, 2, 3)]
    price = accept(env, env.body("set_min_deposit_with_sig", user(4), amount=5))
    # user 2's nonce is spent by a write sent directly: its queued write fails in the relayer's batch.
    other = env.body("setPrimaryNameWithSig", user(2), name="direct.op.dm3.eth")
    data = calls.parse(other["function"], other["message"], other["signature"]).calldata
    tx = {"from": env.devnet.deployer, "to": env.devnet.registry.address, "data": "0x" + data.hex()}
    assert (
        env.anvil.receipt(env.anvil.rpc("eth_sendTransaction", [{**tx, "gas": hex(500_000)}]))["status"]
        == "0x1"
    )
    for request_id, state in zip([*ids, price], ("mined", "failed", "mined", "mined"), strict=True):
        env.until(request_id, state)
    env.index()  # the indexer's own row for the price change lands after the relay rows

    rows = relay_changes(env)
    everyone = [*ids, price]
    assert [(r["args"]["id"], r["event"]) for r in rows] == [
        *((i, "queued") for i in everyone),
        *((i, "sent") for i in everyone),
        *((i, "mined") for i in (ids[0], ids[2], price)),  # one statement settles the writes that succeeded
        (ids[1], "failed"),
    ]
    assert [r["id"] for r in rows] == sorted({r["id"] for r in rows})
    table = {r["id"]: r for r in env.requests()}
    tags = chain_tags(env)
    for row in rows:
        stored = table[row["args"]["id"]]
        assert (row["action"], row["kind"], row["chain_id"], row["ref_id"], row["log_index"]) == (
            "relay",
            "relay",
            env.chain_id,
            None,
            None,
        )
        assert row["signer"] == stored["signer"] and row["args"]["function"] == stored["function"]
        assert row["args"]["target"] == stored["target"] and row["args"]["nonce"] == str(stored["nonce"])
        assert row["args"]["deadline"] == str(stored["deadline"]) and row["args"]["reorg"] is False
        if row["event"] == "queued":
            assert (row["tx_hash"], row["block_number"], row["block_hash"]) == (None, None, None)
            assert row["finality"] == "latest" and row["args"]["error"] is None
        elif row["event"] == "sent":
            assert row["tx_hash"] == stored["tx_hash"] and row["block_number"] is None
            assert row["finality"] == "latest" and row["args"]["gas_used"] is None
        else:  # mined or failed: the transaction's block, the write's share of its gas
            assert (row["tx_hash"], row["block_number"], row["block_hash"]) == (
                stored["tx_hash"],
                stored["block_number"],
                stored["block_hash"],
            )
            assert row["finality"] == finality_of(stored["block_number"], tags)
            assert row["args"]["gas_used"] == str(stored["gas_used"])
            assert row["args"]["error"] == stored["error"]
    failed = rows[-1]
    assert failed["args"]["error"] == "registry: invalid signature" and failed["block_number"] is not None
    prices = [r for r in rows if r["args"]["id"] == price]
    assert {(r["sender"], r["recipient"], r["node"]) for r in prices} == {
        (None, user(4).address.lower(), None)
    }

    # Readers of indexed changes see no relay row; naming the kind mixes both in id order.
    plain = poll(env).json()["data"]
    assert [(c["action"], c["kind"]) for c in plain] == [("apply", "min_deposit")]
    mixed = poll(env, kinds="relay,min_deposit", recipient=user(4).address).json()["data"]
    assert [(c["kind"], c["event"]) for c in mixed] == [
        ("relay", "queued"),
        ("relay", "sent"),
        ("relay", "mined"),
        ("min_deposit", "MinDepositSet"),
    ]
    # By signer (checksummed or not): that signer's rows only, relay implied.
    mine = poll(env, signer=Web3.to_checksum_address(user(1).address)).json()["data"]
    assert [(c["args"]["id"], c["event"]) for c in mine] == [(ids[0], s) for s in ("queued", "sent", "mined")]
    refused = poll(env, signer=user(1).address, kinds="deposit")
    assert refused.status_code == 422 and "relay" in refused.json()["message"]
    assert poll(env, signer="0x12").status_code == 422

    # Resuming from any cursor yields exactly the rest, page by page.
    middle = rows[5]["id"]
    rest = poll(env, kinds="relay", cursor=middle, limit=2).json()
    assert [c["id"] for c in rest["data"]] == [r["id"] for r in rows[6:8]]
    after = poll(env, kinds="relay", cursor=rest["next_cursor"]).json()["data"]
    assert [c["id"] for c in after] == [r["id"] for r in rows[8:]]


def test_feed__expired_while_queued(make_env: Any) -> None:
    env = make_env(deadline_margin=1)
    request_id = primary(env, 1, deadline=int(time.time()) + 3)
    time.sleep(2.2)
    env.step()
    rows = relay_changes(env)
    assert [r["event"] for r in rows] == ["queued", "expired"]
    expired = rows[1]
    assert (
        "deadline" in expired["args"]["error"]
        and expired["tx_hash"] is None
        and expired["finality"] == "latest"
    )
    assert env.status(request_id)["state"] == "expired"


def test_feed__reorg_drops_the_transaction__sent_again_then_mined(env: RelayEnv) -> None:
    snapshot = env.anvil.rpc("evm_snapshot")
    request_id = primary(env, 1)
    mined = env.until(request_id, "mined")
    env.index()  # the indexer has the block too: its reorg handling must leave relay rows alone
    env.anvil.rpc("evm_revert", [snapshot])
    env.anvil.mine(3)
    env.step()
    again = env.until(request_id, "mined")
    rows = relay_changes(env)
    assert [(r["event"], r["args"]["reorg"]) for r in rows] == [
        ("queued", False),
        ("sent", False),
        ("mined", False),
        ("sent", True),
        ("mined", False),
    ]
    assert rows[2]["block_number"] == mined["block_number"] and rows[2]["tx_hash"] == mined["tx_hash"]
    assert (rows[3]["block_number"], rows[3]["block_hash"]) == (None, None)
    assert (rows[4]["block_number"], rows[4]["tx_hash"]) == (again["block_number"], again["tx_hash"])
    assert rows[4]["block_hash"] != rows[2]["block_hash"]
    env.index()
    assert chain_tags(env).reorg_count >= 1
    table = Change.__table__  # type: ignore[attr-defined]
    with env.engine.connect() as conn:
        relay_ids = set(conn.execute(select(table.c.id).where(table.c.action == "relay")).scalars())
        undone = set(conn.execute(select(table.c.ref_id).where(table.c.action == "rollback")).scalars())
    assert relay_ids == {r["id"] for r in rows} and not relay_ids & undone  # never rolled back by the indexer


_REFUSE = {
    "sqlite": [
        # A table that does not exist: an OperationalError (a RAISE would be an IntegrityError, which the API
        # reports as a duplicate nonce; no real relay row can break a constraint).
        "CREATE TRIGGER refuse_relay BEFORE INSERT ON changes WHEN NEW.action = 'relay' "
        "BEGIN INSERT INTO feed_down VALUES (1); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_relay() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'feed_down'; END $$",
        "CREATE TRIGGER refuse_relay BEFORE INSERT ON changes FOR EACH ROW WHEN (NEW.action = 'relay') "
        "EXECUTE FUNCTION refuse_relay()",
    ],
}
_ALLOW = {"sqlite": "DROP TRIGGER refuse_relay", "postgresql": "DROP TRIGGER refuse_relay ON changes"}


def _run(env: RelayEnv, statements: list[str]) -> None:
    with env.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_feed__insert_fails__the_transition_does_not_happen(
    make_env: Any, backend: str, request: Any
) -> None:
    """The state change and its change row are one transaction: when the row cannot be written, the request is
    not queued (a 500, nothing stored), or stays queued (the sender's step fails, no transaction signed)."""
    env = make_env(request.getfixturevalue("pg_url") if backend == "postgresql" else None)
    refuse, allow = _REFUSE[backend], [_ALLOW[backend]]
    _run(env, refuse)
    body = env.body("setPrimaryNameWithSig", user(1), name="u1.op.dm3.eth")
    response = env.post(body)
    assert response.status_code == 500 and response.json() == {"message": "internal error"}
    assert env.requests() == []
    _run(env, allow)
    request_id = accept(env, body)
    _run(env, refuse[-1:])  # the trigger again (PostgreSQL keeps the function)
    with pytest.raises(Exception, match="feed_down"):
        env.step()
    assert env.status(request_id)["state"] == "queued" and env.txs() == []
    _run(env, allow)
    env.until(request_id, "mined")
    assert events(relay_changes(env), request_id) == ["queued", "sent", "mined"]
    assert len(env.txs()) == 1


# --- through HTTP: a real server, a `dm3-relayer run` process, the clients ------------------------------------------


@pytest.fixture
def feed_server(env: RelayEnv) -> Iterator[str]:
    with serve_with_relayer(env) as url:
        yield url


def test_feed__long_poll_and_sse_wake_up_on_relay_rows__clients_parse_them(
    env: RelayEnv, feed_server: str
) -> None:
    frank = user(0xF1)
    with Dm3Client(feed_server, timeout=10, backoff=0.05) as api:
        cursor = api.poll_changes(timeout=0, kinds=["relay"]).next_cursor
        streamed: list[ChangeOut] = []

        def follow() -> None:
            for change in api.changes(cursor=cursor, signer=frank.address):
                streamed.append(change)
                if change.event == "mined":
                    return

        reader = threading.Thread(target=follow, daemon=True)
        reader.start()
        waited: list[Any] = []
        poller = threading.Thread(
            target=lambda: waited.append(api.poll_changes(cursor=cursor, timeout=20, kinds=["relay"])),
            daemon=True,
        )
        poller.start()
        time.sleep(0.3)  # both are waiting when the request arrives
        message = {"signer": frank.address, "name": "frank.op.dm3.eth", "nonce": 0, "deadline": 2**40}
        posted = time.monotonic()
        accepted = api.relay("setPrimaryNameWithSig", message, chain_id=env.chain_id, private_key=frank.key)
        poller.join(10)
        assert waited and time.monotonic() - posted < 5
        first = waited[0].data[0]
        assert (first.action, first.kind, first.event, first.args["id"]) == (
            "relay",
            "relay",
            "queued",
            accepted.id,
        )
        assert first.signer == frank.address.lower() and first.block_number is None and first.tx_hash is None
        done = api.wait_relayed(accepted.id, timeout=30)
        reader.join(15)
        assert [(c.event, c.args["id"]) for c in streamed] == [
            ("queued", accepted.id),
            ("sent", accepted.id),
            ("mined", accepted.id),
        ]
        assert streamed[0] == first
        assert (streamed[2].tx_hash, streamed[2].block_number) == (done.tx_hash, done.block_number)
        assert streamed[1].tx_hash == done.tx_hash and streamed[1].finality == "latest"

    async def replay() -> list[ChangeOut]:
        async with AsyncDm3Client(feed_server) as client:
            page = await client.poll_changes(cursor=cursor, kinds=["relay"], signer=frank.address)
            return list(page.data)

    assert asyncio.run(replay()) == streamed
