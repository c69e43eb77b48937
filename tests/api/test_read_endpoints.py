"""Read endpoints on a seeded database: every eligibility reason, envelopes and finality, profiles (dm3 vectors),
deposits pagination, recipient stats, status, readiness, offline docs and JSON errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from harness.api import BASE_CHAIN_ID, OP_CHAIN_ID, chain_row
from indexer.gateway.codec import namehash
from indexer.store.models import AddrRecord, Bond, BondHistory, MinDeposit, Name, PrimaryName, TextRecord

pytestmark = pytest.mark.usefixtures("chains")

S = "0x" + "a1" * 20
R = "0x" + "b2" * 20
ALICE = "0x3e4a844373e4d1bdf8e21df3ae195cf2aa7eeb57"  # vector 0's address


def bond(
    sender=S, recipient=R, *, amount=0, accepted=False, unlock_time=None, block=50, chain_id=OP_CHAIN_ID
):
    return Bond(
        chain_id=chain_id,
        sender=sender,
        recipient=recipient,
        amount=amount,
        accepted=accepted,
        unlock_time=unlock_time,
        block_number=block,
    )


def minimum(amount, *, recipient=R, block=50, chain_id=OP_CHAIN_ID):
    return MinDeposit(chain_id=chain_id, recipient=recipient, amount=amount, block_number=block)


def eligibility(client, **params):
    response = client.get("/v1/eligibility", params={"sender": S, "recipient": R, **params})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    ("rows", "eligible", "reason"),
    [
        ([], True, "open_inbox"),
        ([minimum(0)], True, "open_inbox"),
        ([minimum(100)], False, "no_deposit"),
        ([minimum(100), bond(amount=0)], False, "no_deposit"),
        ([minimum(100), bond(amount=99)], False, "insufficient_deposit"),
        ([minimum(100), bond(amount=100)], True, "deposit"),
        ([minimum(100), bond(amount=2**255)], True, "deposit"),
        ([minimum(100), bond(amount=500, unlock_time=1_900_000_000)], False, "withdrawal_pending"),
        ([minimum(100), bond(amount=0, accepted=True)], True, "accepted"),
        ([minimum(100), bond(amount=5, accepted=True, unlock_time=1)], True, "accepted"),
    ],
)
def test_eligibility__each_reason(client, seed, rows, eligible, reason):
    if rows:
        seed(*rows)
    body = eligibility(client, chain_id=OP_CHAIN_ID)
    assert (body["eligible"], body["reason"]) == (eligible, reason)
    (op,) = body["chains"]
    assert (op["eligible"], op["reason"]) == (eligible, reason)
    assert op["envelope"]["chain_id"] == OP_CHAIN_ID
    assert op["envelope"]["block_number"] == 100
    assert op["envelope"]["block_hash"] == "0x" + f"{OP_CHAIN_ID:064x}"
    assert body["eligible_chain_ids"] == ([OP_CHAIN_ID] if eligible else [])


def test_eligibility__amounts_are_exact_strings(client, seed):
    seed(minimum(2**200 + 1), bond(amount=2**200))
    op = eligibility(client, chain_id=OP_CHAIN_ID)["chains"][0]
    assert (op["bond"], op["min_deposit"], op["reason"]) == (
        str(2**200),
        str(2**200 + 1),
        "insufficient_deposit",
    )


def test_eligibility__eligible_on_any_chain_and_says_which(client, seed):
    seed(minimum(100), minimum(100, chain_id=BASE_CHAIN_ID), bond(amount=100, chain_id=BASE_CHAIN_ID))
    body = eligibility(client)
    assert body["eligible"] is True
    assert body["reason"] == "deposit"
    assert body["eligible_chain_ids"] == [BASE_CHAIN_ID]
    assert [(c["envelope"]["chain_id"], c["reason"]) for c in body["chains"]] == [
        (OP_CHAIN_ID, "no_deposit"),
        (BASE_CHAIN_ID, "deposit"),
    ]


@pytest.mark.parametrize(
    ("block", "tier", "at_safe", "at_finalized"),
    [(95, "latest", False, False), (85, "safe", True, False), (70, "finalized", True, True)],
)
def test_eligibility__finality_of_the_deciding_facts(client, seed, block, tier, at_safe, at_finalized):
    seed(minimum(100, block=10), bond(amount=100, block=block))
    latest = eligibility(client, chain_id=OP_CHAIN_ID)["chains"][0]
    assert (latest["eligible"], latest["envelope"]["finality"]) == (True, tier)
    safe = eligibility(client, chain_id=OP_CHAIN_ID, min_finality="safe")["chains"][0]
    assert safe["eligible"] is at_safe
    assert safe["reason"] == ("deposit" if at_safe else "below_min_finality")
    final = eligibility(client, chain_id=OP_CHAIN_ID, min_finality="finalized")["chains"][0]
    assert final["eligible"] is at_finalized


# The chains are indexed to block 100, safe 90, finalized 80.
@pytest.mark.parametrize(
    ("rows", "reason", "tier"),
    [
        ([], "open_inbox", "latest"),  # no row: a reorg of block 100 can add a price
        ([minimum(0, block=70)], "open_inbox", "finalized"),  # the recipient's own 0, finalized
        ([minimum(0, block=85)], "open_inbox", "safe"),
        ([minimum(0, block=70), bond(amount=1, block=95)], "open_inbox", "finalized"),  # bond: no say
        ([bond(amount=0, accepted=True, block=70)], "accepted", "finalized"),  # nor the missing minimum
        ([minimum(100, block=70)], "no_deposit", "latest"),  # the missing bond decides
        ([minimum(100, block=70), bond(amount=100, block=75)], "deposit", "finalized"),
    ],
)
def test_eligibility__finality_of_present_and_missing_rows(client, seed, rows, reason, tier):
    if rows:
        seed(*rows)
    op = eligibility(client, chain_id=OP_CHAIN_ID)["chains"][0]
    assert (op["reason"], op["envelope"]["finality"]) == (reason, tier)
    final = eligibility(client, chain_id=OP_CHAIN_ID, min_finality="finalized")["chains"][0]
    if op["eligible"]:
        assert final["eligible"] is (tier == "finalized")
        assert final["reason"] == (reason if tier == "finalized" else "below_min_finality")


def test_eligibility__missing_rows_are_finalized_once_the_snapshot_block_is(client, seed):
    seed(chain_row(OP_CHAIN_ID, "op.dm3.eth", safe_block=100, finalized_block=100))
    op = eligibility(client, chain_id=OP_CHAIN_ID, min_finality="finalized")["chains"][0]
    assert (op["eligible"], op["reason"], op["envelope"]["finality"]) == (True, "open_inbox", "finalized")


def test_recipient__open_inbox_without_a_price_is_as_final_as_the_snapshot(client, seed):
    seed(bond(amount=30, block=60), minimum(10, recipient=S, block=60))
    (stats,) = client.get(f"/v1/recipients/{R}", params={"chain_id": OP_CHAIN_ID}).json()["chains"]
    assert (stats["open_inbox"], stats["envelope"]["finality"]) == (True, "latest")
    (stats,) = client.get(f"/v1/recipients/{S}", params={"chain_id": OP_CHAIN_ID}).json()["chains"]
    assert (stats["open_inbox"], stats["envelope"]["finality"]) == (False, "finalized")


def test_eligibility__names_resolve_through_the_registry(client, seed):
    alice, bob = "0x" + namehash("alice.op.dm3.eth").hex(), "0x" + namehash("bob.op.dm3.eth").hex()
    parent = "0x" + namehash("op.dm3.eth").hex()
    seed(
        Name(
            chain_id=OP_CHAIN_ID,
            node=alice,
            label="alice",
            parent_node=parent,
            name="alice.op.dm3.eth",
            owner=R,
            block_number=1,
        ),
        # bob's addr record wins over his owner
        Name(
            chain_id=OP_CHAIN_ID,
            node=bob,
            label="bob",
            parent_node=parent,
            name="bob.op.dm3.eth",
            owner=R,
            block_number=1,
        ),
        AddrRecord(chain_id=OP_CHAIN_ID, node=bob, coin_type=60, address=S, block_number=1),
        minimum(100),
        bond(amount=100),
    )
    body = eligibility(client, sender="bob.op.dm3.eth", recipient="Alice.OP.dm3.eth")
    assert (body["sender_address"], body["recipient_address"], body["eligible"]) == (S, R, True)
    by_address_name = eligibility(
        client, sender=f"{S[2:]}.addr.base.dm3.eth", recipient=f"{R[2:]}.addr.op.dm3.eth"
    )
    assert (by_address_name["sender_address"], by_address_name["recipient_address"]) == (S, R)


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"recipient": "nobody.op.dm3.eth"}, "unknown_recipient"),
        ({"recipient": "alice.eth"}, "unknown_recipient"),
        ({"sender": "nobody.base.dm3.eth"}, "unknown_sender"),
    ],
)
def test_eligibility__unresolved_names(client, params, reason):
    body = eligibility(client, **params)
    assert (body["eligible"], body["reason"], body["chains"]) == (False, reason, [])


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"sender": "0x1234"}, 422),
        ({"sender": "0x" + "zz" * 20}, 422),
        ({"recipient": "0xA1a1A1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1A1"}, 422),  # bad checksum
        ({"recipient": "not a name"}, 422),
        ({"recipient": "..eth"}, 422),
        ({"recipient": "x" * 400}, 422),
        ({"chain_id": 999}, 404),
        ({"chain_id": "ten"}, 422),
        ({"min_finality": "final"}, 422),
    ],
)
def test_eligibility__bad_input__4xx_json(client, params, status):
    response = client.get("/v1/eligibility", params={"sender": S, "recipient": R, **params})
    assert response.status_code == status, response.text
    assert response.json()["message"]


def test_eligibility__missing_params__422_json(client):
    response = client.get("/v1/eligibility")
    assert response.status_code == 422
    assert "sender" in response.json()["message"]


def test_eligibility_batch(client, seed):
    seed(minimum(100), bond(amount=100))
    pairs = [
        {"sender": S, "recipient": R},
        {"sender": R, "recipient": S},
        {"sender": S, "recipient": "x.op.dm3.eth"},
    ]
    response = client.post("/v1/eligibility", json={"pairs": pairs, "chain_id": OP_CHAIN_ID})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == 3
    assert [d["reason"] for d in body["data"]] == ["deposit", "open_inbox", "unknown_recipient"]


def test_eligibility_batch__limits_and_errors(client):
    too_many = {"pairs": [{"sender": S, "recipient": R}] * 1001}
    response = client.post("/v1/eligibility", json=too_many)
    assert response.status_code == 413
    assert "1000" in response.json()["message"]
    assert (
        client.post("/v1/eligibility", json={"pairs": [{"sender": S, "recipient": R}] * 1000}).status_code
        == 200
    )
    bad = client.post("/v1/eligibility", json={"pairs": [{"sender": S, "recipient": "0x12"}]})
    assert bad.status_code == 422
    assert "pairs.0.recipient" in bad.json()["message"]
    assert client.post("/v1/eligibility", json={"pairs": "x"}).status_code == 422
    assert client.post("/v1/eligibility", json={"pairs": [], "min_finality": "x"}).status_code == 422


def _profile_rows(vector, *, name="alice.op.dm3.eth", owner=None, addr=None, record=None):
    node = "0x" + namehash(name).hex()
    rows = [
        Name(
            chain_id=OP_CHAIN_ID,
            node=node,
            label=name.split(".")[0],
            parent_node="0x" + namehash("op.dm3.eth").hex(),
            name=name,
            owner=owner or vector["address"].lower(),
            block_number=60,
        ),
        TextRecord(
            chain_id=OP_CHAIN_ID,
            node=node,
            key="network.dm3.profile",
            value=record or vector["recordValue"],
            block_number=60,
        ),
        TextRecord(
            chain_id=OP_CHAIN_ID, node=node, key="url", value="https://alice.example", block_number=60
        ),
    ]
    if addr:
        rows.append(AddrRecord(chain_id=OP_CHAIN_ID, node=node, coin_type=60, address=addr, block_number=60))
    return rows


def test_profile__by_name__signature_valid(client, seed, dm3_vectors):
    vector = dm3_vectors["vectors"][0]
    seed(*_profile_rows(vector))
    response = client.get("/v1/profiles/alice.op.dm3.eth")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["owner"] == body["address"] == vector["address"].lower()
    assert body["texts"]["url"] == "https://alice.example"
    profile = body["dm3_profile"]
    assert profile["signature_valid"] is True
    assert profile["delivery_services"] == ["ds.dm3.eth"]
    assert profile["dm3_hash"] == vector["dm3HashOfSignedProfile"]
    assert body["envelope"] == {
        "chain_id": OP_CHAIN_ID,
        "block_number": 100,
        "block_hash": "0x" + f"{OP_CHAIN_ID:064x}",
        "block_timestamp": None,
        "finality": "finalized",
    }


def test_profile__base64_record_and_tampered_and_other_address(client, seed, dm3_vectors):
    valid, _, tampered = dm3_vectors["vectors"]
    seed(*_profile_rows(valid, name="b64.op.dm3.eth", record=valid["recordValueBase64"]))
    seed(*_profile_rows(tampered, name="evil.op.dm3.eth"))
    seed(*_profile_rows(valid, name="other.op.dm3.eth", addr=S))  # signed by alice, but the name points at S
    assert client.get("/v1/profiles/b64.op.dm3.eth").json()["dm3_profile"]["signature_valid"] is True
    assert client.get("/v1/profiles/evil.op.dm3.eth").json()["dm3_profile"]["signature_valid"] is False
    other = client.get("/v1/profiles/other.op.dm3.eth").json()
    assert (other["address"], other["dm3_profile"]["signature_valid"]) == (S, False)


def test_profile__unparseable_record__error_in_body_not_500(client, seed, dm3_vectors):
    seed(*_profile_rows(dm3_vectors["vectors"][0], record="data:application/json,{oops"))
    profile = client.get("/v1/profiles/alice.op.dm3.eth").json()["dm3_profile"]
    assert profile["signature_valid"] is None
    assert "JSON" in profile["error"]


def test_profile__by_address__primary_name_then_address_name(client, seed, dm3_vectors):
    vector = dm3_vectors["vectors"][0]
    address = vector["address"].lower()
    address_name = f"{address[2:]}.addr.op.dm3.eth"
    node = "0x" + namehash(address_name).hex()
    seed(
        TextRecord(
            chain_id=OP_CHAIN_ID,
            node=node,
            key="network.dm3.profile",
            value=vector["recordValue"],
            block_number=9,
        )
    )
    body = client.get(f"/v1/addresses/{vector['address']}/profile").json()
    assert (body["name"], body["dm3_profile"]["signature_valid"]) == (address_name, True)
    seed(
        *_profile_rows(vector),
        PrimaryName(chain_id=OP_CHAIN_ID, account=address, name="alice.op.dm3.eth", block_number=61),
    )
    assert client.get(f"/v1/addresses/{address}/profile").json()["name"] == "alice.op.dm3.eth"


def test_profile__not_found_and_bad_input(client):
    assert client.get("/v1/profiles/nobody.op.dm3.eth").status_code == 404
    assert client.get("/v1/profiles/alice.eth").status_code == 404
    assert client.get("/v1/profiles/bad name").status_code == 422
    assert client.get(f"/v1/addresses/{S}/profile").status_code == 404
    response = client.get("/v1/addresses/0x12/profile")
    assert response.status_code == 422
    assert response.json()["message"]


def test_deposits__pagination_and_filters(client, seed):
    senders = ["0x" + f"{i:040x}" for i in range(1, 6)]
    seed(
        *[bond(sender=s, amount=i + 1, block=95) for i, s in enumerate(senders)],
        bond(sender=S, recipient=S, amount=7),
    )
    seen, cursor = [], None
    for _ in range(5):
        params = {"recipient": R, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/deposits", params=params).json()
        assert page["count"] == 5
        seen += [row["sender"] for row in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == senders
    first = client.get("/v1/deposits", params={"sender": senders[0]}).json()
    assert [(r["recipient"], r["bond"], r["finality"]) for r in first["data"]] == [(R, "1", "latest")]
    assert {e["chain_id"] for e in first["chains"]} == {OP_CHAIN_ID, BASE_CHAIN_ID}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"sender": "0x12"},
        {"recipient": R, "cursor": "!!"},
        {"recipient": R, "cursor": "bm90IGpzb24"},
        {"recipient": R, "limit": 0},
    ],
)
def test_deposits__bad_input__422(client, params):
    response = client.get("/v1/deposits", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["message"]


def test_recipient_stats(client, seed):
    def history(i, kind, amount, sender=S):
        return BondHistory(
            chain_id=OP_CHAIN_ID,
            tx_hash="0x" + f"{i:064x}",
            log_index=0,
            block_number=40 + i,
            sender=sender,
            recipient=R,
            kind=kind,
            amount=amount,
            bond_after=0,
        )

    seed(
        minimum(10),
        bond(amount=30),
        bond(sender=R, amount=5, accepted=True),
        history(1, "deposit", 50),
        history(2, "burn", 20),
        history(3, "deposit", 5, sender=R),
        history(4, "release", 5, sender=R),
        history(5, "burn", 1),
    )
    body = client.get(f"/v1/recipients/{R}", params={"chain_id": OP_CHAIN_ID}).json()
    (stats,) = body["chains"]
    assert (stats["min_deposit"], stats["open_inbox"], stats["inbox_configured"]) == ("10", False, True)
    assert (stats["open_bonds"], stats["bonded_total"]) == (1, "30")
    assert (stats["deposits"], stats["deposited_total"]) == (2, "55")
    assert (stats["burns"], stats["burned_total"], stats["releases"]) == (2, "21", 1)
    assert stats["burn_rate"] == pytest.approx(2 / 3)
    assert client.get("/v1/recipients/nope").status_code == 422
    (base,) = client.get(f"/v1/recipients/{R}", params={"chain_id": BASE_CHAIN_ID}).json()["chains"]
    assert (base["open_inbox"], base["inbox_configured"]) == (
        True,
        False,
    )  # never touched: open, not decisive


def test_status_and_ready(client, seed):
    body = client.get("/v1/status").json()
    assert body["count"] == 2
    assert body["data"][0]["lag"] == 0
    assert client.get("/ready").status_code == 200
    seed(chain_row(BASE_CHAIN_ID, "base.dm3.eth", head_block=200))
    response = client.get("/ready")
    assert response.status_code == 503
    assert "100 blocks behind" in response.json()["message"]
    seed(chain_row(BASE_CHAIN_ID, "base.dm3.eth", status="stopped", error="reorg deeper than the window"))
    assert "reorg deeper" in client.get("/ready").json()["message"]
    assert client.get("/health").json() == {"status": "ok"}


def test_ready__stale_when_the_indexer_or_the_node_falls_silent(client, seed):
    """The row still says live with lag 0, but the last head or the last write is older than the bound
    (max(10 block times, 30 s) by default): /ready 503 and status "stale"."""
    old = datetime.now(UTC) - timedelta(seconds=45)
    seed(chain_row(BASE_CHAIN_ID, "base.dm3.eth", head_seen_at=old))  # node down: the indexer still polls
    response = client.get("/ready")
    assert response.status_code == 503
    assert "chain 8453 stale: no head from the node for 45 s" in response.json()["message"]
    status = {c["chain_id"]: c for c in client.get("/v1/status").json()["data"]}
    assert (status[BASE_CHAIN_ID]["status"], status[BASE_CHAIN_ID]["stale"]) == ("stale", True)
    assert (status[OP_CHAIN_ID]["status"], status[OP_CHAIN_ID]["stale"]) == ("live", False)

    seed(chain_row(BASE_CHAIN_ID, "base.dm3.eth", updated_at=old))  # indexer dead
    assert "no write by the indexer for 45 s" in client.get("/ready").json()["message"]

    seed(chain_row(BASE_CHAIN_ID, "base.dm3.eth", updated_at=old, block_time=12.0))  # bound: 10 x 12 s
    assert client.get("/ready").status_code == 200


def test_envelope__carries_the_block_timestamp(client, seed):
    seed(chain_row(OP_CHAIN_ID, "op.dm3.eth", indexed_block_timestamp=1_700_000_000))
    body = client.get(
        "/v1/eligibility", params={"sender": "0x" + "22" * 20, "recipient": "0x" + "33" * 20}
    ).json()
    envelopes = {c["envelope"]["chain_id"]: c["envelope"] for c in body["chains"]}
    assert envelopes[OP_CHAIN_ID]["block_timestamp"] == 1_700_000_000
    assert envelopes[BASE_CHAIN_ID]["block_timestamp"] is None


def test_metrics(client):
    client.get("/v1/status")
    text = client.get("/metrics").text
    assert 'dm3_api_requests_total{method="GET",route="/v1/status",status="200"}' in text


def test_docs_are_offline(client):
    html = client.get("/docs").text
    assert (
        "cdn" not in html.lower()
        and "http://" not in html
        and "https://" not in html.replace("https://fastapi", "")
    )
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        url = next(part.split('"')[0] for part in html.split("'") + html.split('"') if part.endswith(asset))
        assert client.get(url).status_code == 200
    assert client.get("/openapi.json").json()["paths"]["/v1/eligibility"]


def test_unknown_route__404_json(client):
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.json()["message"]
