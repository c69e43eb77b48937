"""The set-based eligibility reads: the one-statement address path, the bulk batch path and the per-pair rule agree
on every pair; a batch costs a fixed number of queries whatever its size; the API's finality rule is the store's."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from api_support import BASE_CHAIN_ID, OP_CHAIN_ID, chain_row
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.engine import Engine

from indexer.api.names import parse_target
from indexer.api.queries.eligibility import address_pair_eligibility, eligibility, eligibility_many
from indexer.api.queries.envelope import load_chains
from indexer.eligibility_rule import decide
from indexer.gateway.codec import namehash
from indexer.store.db import create_db_engine, snapshot_session
from indexer.store.models import AddrRecord, Bond, MinDeposit, Name, finality_of

SENDERS = ["0x" + f"{i:02x}" * 20 for i in range(1, 7)]
RECIPIENTS = ["0x" + f"{i:02x}" * 20 for i in range(0xA1, 0xA6)]
NAMES = ["s0.op.dm3.eth", "s1.base.dm3.eth", "nobody.op.dm3.eth", f"{SENDERS[2][2:]}.addr.op.dm3.eth"]


@pytest.fixture
def world(seed, writer) -> None:
    """Random minimums and bonds on two chains, and names that resolve (by addr record and by owner) or not."""
    rng = random.Random(5)
    rows: list = [
        chain_row(OP_CHAIN_ID, "op.dm3.eth", safe_block=60, finalized_block=40),
        chain_row(BASE_CHAIN_ID, "base.dm3.eth", safe_block=95, finalized_block=90),
    ]
    for chain_id in (OP_CHAIN_ID, BASE_CHAIN_ID):
        for recipient in RECIPIENTS[:-1]:  # the last recipient never set a price
            rows.append(
                MinDeposit(
                    chain_id=chain_id,
                    recipient=recipient,
                    amount=rng.choice([0, 10, 100]),
                    block_number=rng.randrange(100),
                )
            )
        for sender in SENDERS:
            for recipient in RECIPIENTS:
                if rng.random() < 0.6:
                    rows.append(
                        Bond(
                            chain_id=chain_id,
                            sender=sender,
                            recipient=recipient,
                            amount=rng.choice([0, 5, 10, 100, 2**200]),
                            accepted=rng.random() < 0.2,
                            unlock_time=rng.choice([None, None, 1_900_000_000]),
                            block_number=rng.randrange(100),
                        )
                    )
    for label, parent, chain_id, addr in [
        ("s0", "op.dm3.eth", OP_CHAIN_ID, SENDERS[0]),
        ("s1", "base.dm3.eth", BASE_CHAIN_ID, None),
    ]:
        node = "0x" + namehash(f"{label}.{parent}").hex()
        rows.append(
            Name(
                chain_id=chain_id,
                node=node,
                label=label,
                parent_node="0x" + namehash(parent).hex(),
                name=f"{label}.{parent}",
                owner=SENDERS[1],
                block_number=1,
            )
        )
        if addr:
            rows.append(AddrRecord(chain_id=chain_id, node=node, coin_type=60, address=addr, block_number=1))
    seed(*rows)


@pytest.fixture
def reader(db_url, world) -> Iterator[Engine]:
    engine = create_db_engine(db_url, role="reader")
    yield engine
    engine.dispose()


def _per_pair_reference(reader: Engine, sender: str, recipient: str, chain_id: int | None, min_finality: str):
    """The plain rule, row by row through the ORM: what every fast path must equal."""
    with snapshot_session(reader) as session:
        chains = load_chains(session, chain_id)
        out = []
        for chain in chains:
            minimum = session.get(MinDeposit, (chain.chain_id, recipient))
            bond = session.get(Bond, (chain.chain_id, sender, recipient))
            verdict = decide(
                min_deposit=minimum.amount if minimum else None,
                bond=bond.amount if bond else 0,
                accepted=bond is not None and bond.accepted,
                withdrawal_pending=bond is not None and bond.unlock_time is not None,
            )
            eligible, reason = verdict.eligible, verdict.reason
            # A missing row counts at the snapshot block; `accepted` and `open_inbox` rest on one row each.
            min_block = minimum.block_number if minimum else chain.indexed_block
            bond_block = bond.block_number if bond else chain.indexed_block
            blocks = {"accepted": [bond_block], "open_inbox": [min_block]}.get(
                reason, [min_block, bond_block]
            )
            tier = min((finality_of(b, chain) for b in blocks), key=["latest", "safe", "finalized"].index)
            if eligible and ["latest", "safe", "finalized"].index(tier) < [
                "latest",
                "safe",
                "finalized",
            ].index(min_finality):
                eligible, reason = False, "below_min_finality"
            out.append((chain.chain_id, eligible, reason, str(bond.amount if bond else 0), tier))
        return out


addresses = st.sampled_from(SENDERS + RECIPIENTS)
finality = st.sampled_from(["latest", "safe", "finalized"])
chain_ids = st.sampled_from([None, OP_CHAIN_ID, BASE_CHAIN_ID])


@given(sender=addresses, recipient=addresses, chain_id=chain_ids, min_finality=finality)
def test_address_pair_statement__equals_the_row_by_row_rule(
    reader, sender, recipient, chain_id, min_finality
):
    fast = address_pair_eligibility(
        reader,
        sender=parse_target(sender, what="s"),
        recipient=parse_target(recipient, what="r"),
        chain_id=chain_id,
        min_finality=min_finality,
    )
    expected = _per_pair_reference(reader, sender, recipient, chain_id, min_finality)
    got = [(c.envelope.chain_id, c.eligible, c.reason, c.bond, c.envelope.finality) for c in fast.chains]
    assert got == expected
    with snapshot_session(reader) as session:
        slow = eligibility(
            session,
            sender=parse_target(sender, what="s"),
            recipient=parse_target(recipient, what="r"),
            chains=load_chains(session, chain_id),
            min_finality=min_finality,
        )
    assert fast == slow


@given(
    pairs=st.lists(st.tuples(st.sampled_from(SENDERS + NAMES), addresses), min_size=0, max_size=40),
    min_finality=finality,
)
def test_batch__equals_one_pair_at_a_time_in_request_order(reader, pairs, min_finality):
    targets = [(parse_target(s, what="s"), parse_target(r, what="r")) for s, r in pairs]
    with snapshot_session(reader) as session:
        chains = load_chains(session)
        batch = eligibility_many(session, targets, chains=chains, min_finality=min_finality)
        singles = [
            eligibility(session, sender=s, recipient=r, chains=chains, min_finality=min_finality)
            for s, r in targets
        ]
    assert batch == singles


def test_batch__names_resolve_like_single_lookups(client, world):
    body = {"pairs": [{"sender": name, "recipient": RECIPIENTS[0]} for name in NAMES]}
    batch = client.post("/v1/eligibility", json=body).json()["data"]
    assert [d["sender_address"] for d in batch] == [SENDERS[0], SENDERS[1], None, SENDERS[2]]
    for name, answer in zip(NAMES, batch, strict=True):
        single = client.get("/v1/eligibility", params={"sender": name, "recipient": RECIPIENTS[0]}).json()
        assert single == answer


@pytest.mark.parametrize("size", [12, 100, 1_000])
def test_batch__a_fixed_number_of_queries_whatever_its_size(client, world, size):
    """Chains, names, minimums, bonds: four statements for 12 pairs or 1,000 (it was 2 per pair per chain, plus 2
    per name). Six distinct names: above the few names that get one cached statement each."""
    statements: list[str] = []
    engine: Engine = client.app.state.engine

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    names = [f"n{i}.op.dm3.eth" for i in range(6)]
    pairs = [
        {"sender": names[i % 6] if i % 3 == 0 or i < 6 else SENDERS[i % 6], "recipient": RECIPIENTS[i % 5]}
        for i in range(size)
    ]
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.post("/v1/eligibility", json={"pairs": pairs})
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.text
    assert response.json()["count"] == size
    selects = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert len(selects) == 4, selects


def test_batch__a_few_names__one_cached_statement_each(client, world):
    statements: list[str] = []
    engine: Engine = client.app.state.engine
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    pairs = [{"sender": name, "recipient": RECIPIENTS[0]} for name in NAMES[:2]]
    assert client.post("/v1/eligibility", json={"pairs": pairs}).status_code == 200
    assert len([s for s in statements if "FROM names" in s]) == 2
    assert not [s for s in statements if "VALUES" in s and "names" in s]


def test_single_address_pair__one_statement(client, world):
    statements: list[str] = []
    engine: Engine = client.app.state.engine
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    # The prepared path runs on the DB-API cursor, below SQLAlchemy's events: count through the pool instead.
    checkouts: list[object] = []
    event.listen(engine, "checkout", lambda *a: checkouts.append(a))
    response = client.get("/v1/eligibility", params={"sender": SENDERS[0], "recipient": RECIPIENTS[0]})
    assert response.status_code == 200
    assert statements == []  # no ORM/Core statement at all
    assert len(checkouts) == 1
