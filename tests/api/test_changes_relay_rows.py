"""Relay rows in `/v1/changes` without a chain: who gets them (only readers asking for kind `relay` or a signer),
their nulls and finality, the envelope of a page holding them, input errors, the SSE framing and the schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from harness.api import OP_CHAIN_ID
from indexer.client import ChangeOut
from indexer.relayer import feed

pytestmark = pytest.mark.usefixtures("chains")

SIGNER = "0x" + "a1" * 20
OTHER = "0x" + "b2" * 20
RECIPIENT = "0x" + "c3" * 20


def _request(state: str, *, signer: str = SIGNER, block: int | None = None, **fields: Any) -> dict[str, Any]:
    """A `relay_requests` row as the sender leaves it in `state`."""
    return {
        "seq": 1,
        "id": f"req-{signer[2:6]}",
        "chain_id": OP_CHAIN_ID,
        "function": "set_min_deposit_with_sig",
        "target": "0x" + "de" * 20,
        "signer": signer,
        "nonce": 0,
        "deadline": 2**40,
        "message": {"recipient": signer.upper().replace("0X", "0x"), "amount": "5"},
        "state": state,
        "tx_hash": None if state == "queued" else "0x" + "77" * 32,
        "block_number": block,
        "block_hash": None if block is None else "0x" + f"{block:064x}",
        "gas_used": None if block is None else 30_000,
        "error": None,
        "created_at": datetime.now(UTC),
        **fields,
    }


def _event(block: int) -> dict[str, Any]:
    return {
        "action": "apply",
        "ref_id": None,
        "chain_id": OP_CHAIN_ID,
        "block_number": block,
        "block_hash": "0x" + f"{block:064x}",
        "tx_hash": "0x" + "88" * 32,
        "log_index": 0,
        "occurrence": 0,
        "event": "MinDepositSet",
        "kind": "min_deposit",
        "recipient": RECIPIENT,
        "args": {"recipient": RECIPIENT, "amount": "7"},
    }


@pytest.fixture
def feed_rows(writer: Engine) -> None:
    """Change 1 an indexed event, 2-4 a request of SIGNER queued, sent and mined in block 85 (safe, not final),
    5 a request of OTHER queued, each written as the relayer writes them."""
    with writer.begin() as conn:
        feed.append(conn, [{**_event(70), "signer": None}])
        feed.append(conn, [feed.change_row(_request("queued"))])
        feed.append(conn, [feed.change_row(_request("sent"))])
        feed.append(conn, [feed.change_row(_request("mined", block=85))])
        feed.append(conn, [feed.change_row(_request("queued", signer=OTHER))])


def _poll(client: Any, **params: Any) -> Any:
    return client.get("/v1/changes/poll", params={"cursor": 0, "timeout": 0, **params})


def test_no_kinds__indexed_changes_only(client: Any, feed_rows: Any) -> None:
    page = _poll(client).json()
    assert [(c["id"], c["action"]) for c in page["data"]] == [(1, "apply")]
    assert page["next_cursor"] == 5  # the relay rows were looked at and skipped, not left for later
    by_recipient = _poll(client, recipient=SIGNER).json()["data"]
    assert by_recipient == []  # a relay row's recipient matches only when relay rows are asked for


def test_kinds_relay__the_rows_nulls_and_finality(client: Any, feed_rows: Any) -> None:
    page = _poll(client, kinds="relay").json()
    rows = page["data"]
    assert [(c["id"], c["event"], c["signer"]) for c in rows] == [
        (2, "queued", SIGNER),
        (3, "sent", SIGNER),
        (4, "mined", SIGNER),
        (5, "queued", OTHER),
    ]
    queued, sent, mined = rows[:3]
    assert {
        k: queued[k] for k in ("block_number", "block_hash", "tx_hash", "log_index", "ref_id")
    } == dict.fromkeys(("block_number", "block_hash", "tx_hash", "log_index", "ref_id"))
    assert (queued["action"], queued["kind"], queued["finality"]) == ("relay", "relay", "latest")
    assert queued["recipient"] == SIGNER and queued["sender"] is None  # the message's recipient, lowercase
    assert queued["args"] == {
        "id": "req-a1a1",
        "function": "set_min_deposit_with_sig",
        "target": "0x" + "de" * 20,
        "nonce": "0",
        "deadline": str(2**40),
        "error": None,
        "gas_used": None,
        "reorg": False,
    }
    assert sent["tx_hash"] == "0x" + "77" * 32 and sent["finality"] == "latest"
    assert (mined["block_number"], mined["finality"], mined["args"]["gas_used"]) == (85, "safe", "30000")
    # A page holding requests the chain has not settled is as weak as they are.
    assert page["chains"][0]["finality"] == "latest"
    only_mined = _poll(client, kinds="relay", cursor=3, limit=1).json()
    assert [c["id"] for c in only_mined["data"]] == [4] and only_mined["chains"][0]["finality"] == "safe"
    both = _poll(client, kinds="min_deposit,relay").json()["data"]
    assert [c["id"] for c in both] == [1, 2, 3, 4, 5]
    for change in rows:  # the Python client's model takes every row
        assert ChangeOut.model_validate(change).model_dump(mode="json") == change


def test_signer__its_relay_rows(client: Any, feed_rows: Any) -> None:
    assert [c["id"] for c in _poll(client, signer=OTHER).json()["data"]] == [5]
    checksummed = "0x" + "A1" * 20  # all-caps hex is a valid spelling
    assert [c["id"] for c in _poll(client, signer=checksummed).json()["data"]] == [2, 3, 4]
    assert [c["id"] for c in _poll(client, signer=SIGNER, kinds="relay,deposit").json()["data"]] == [2, 3, 4]


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"kinds": "relays"}, "withdrawal_request, relay"),  # the message lists the kinds, relay among them
        ({"signer": SIGNER, "kinds": "deposit"}, "add relay to kinds"),
        ({"signer": "0x1234"}, "signer"),
        ({"signer": "0x" + "Ab" * 20}, "checksum"),
    ],
)
def test_bad_relay_filters__422(client: Any, params: dict[str, str], needle: str) -> None:
    for path in ("/v1/changes/poll", "/v1/changes"):
        response = client.get(path, params={**params, "timeout": 0})
        assert response.status_code == 422, (path, response.text)
        assert needle in response.json()["message"]


def test_sse__relay_rows_framed_like_any_change(client: Any, feed_rows: Any) -> None:
    with client.stream("GET", "/v1/changes", params={"cursor": 3, "kinds": "relay"}) as response:
        assert response.status_code == 200
        lines: list[str] = []
        for line in response.iter_lines():
            lines.append(line)
            if line.startswith("data:") and '"id":5' in line:
                break
    frames = [line for line in lines if line and not line.startswith(":")]
    assert frames[:3] == ["id: 4", "event: change", frames[2]]
    first = json.loads(frames[2].removeprefix("data: "))
    assert (first["id"], first["action"], first["event"]) == (4, "relay", "mined")


def test_openapi__change_schema_says_relay(client: Any) -> None:
    schema = client.get("/openapi.json").json()
    change = schema["components"]["schemas"]["ChangeOut"]["properties"]
    assert "relay" in change["action"]["enum"]
    assert {"type": "null"} in change["block_number"]["anyOf"] and "signer" in change
    params = {p["name"] for p in schema["paths"]["/v1/changes/poll"]["get"]["parameters"]}
    assert "signer" in params
