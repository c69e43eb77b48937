"""Answers from the in-memory state (indexer.api.memory) equal the database path's, byte for byte, on generated
states: minimums, bonds, names, address records (coin 60, the ENSIP-19 default, zero and short ones), address
names; for every pair of addresses and names (registered or not, in any form ENSIP-15 normalises, under no indexed
chain), every `chain_id` and `min_finality`, one pair at a time and as batches."""

from __future__ import annotations

from typing import Any

import anyio
from eth_utils import to_checksum_address
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session, SQLModel, delete

from harness.api import BASE_CHAIN_ID, OP_CHAIN_ID, chain_row
from indexer.api.memory import BatchQuestion, batch_json, pair_json, select_chains
from indexer.api.names import parse_target
from indexer.api.queries.eligibility import eligibility_many
from indexer.api.queries.envelope import load_chains
from indexer.api.schemas import EligibilityBatch
from indexer.api.state import EligibilityState, read_all
from indexer.ens import DEFAULT_EVM_COIN_TYPE, node_hex
from indexer.store.db import create_db_engine, snapshot_session
from indexer.store.models import AddrRecord, Bond, Chain, MinDeposit, Name

SENDERS = ["0x" + f"{i:02x}" * 20 for i in range(1, 5)]
RECIPIENTS = ["0x" + f"{i:02x}" * 20 for i in range(0xA1, 0xA4)]
ZERO = "0x" + "00" * 20
PARENTS = {OP_CHAIN_ID: "op.dm3.eth", BASE_CHAIN_ID: "base.dm3.eth"}
LABELS = ["alice", "bob", "carol"]
TARGETS = [
    *SENDERS,
    *RECIPIENTS,
    to_checksum_address(SENDERS[0]),
    "alice.op.dm3.eth",
    "Alice.OP.dm3.eth",
    "bob.base.dm3.eth",
    "carol.op.dm3.eth",
    "ca\u0301rol.op.dm3.eth",  # not a registered label (and another normal form)
    f"{SENDERS[1][2:]}.addr.op.dm3.eth",
    f"{RECIPIENTS[2][2:].upper()}.addr.base.dm3.eth",
    "nobody.op.dm3.eth",
    "alice.elsewhere.eth",
    "op.dm3.eth",
]
TABLES: list[type[SQLModel]] = [AddrRecord, Name, Bond, MinDeposit, Chain]

blocks = st.integers(0, 100)
record_values = st.sampled_from([*SENDERS, *RECIPIENTS, ZERO, "0x1234"])


@st.composite
def worlds(draw: st.DrawFn) -> list[SQLModel]:
    rows: list[SQLModel] = []
    for chain_id, parent in PARENTS.items():
        finalized = draw(st.integers(0, 100))
        rows.append(
            chain_row(
                chain_id, parent, safe_block=draw(st.integers(finalized, 100)), finalized_block=finalized
            )
        )
        for recipient in RECIPIENTS:
            if draw(st.booleans()):
                amount = draw(st.sampled_from([0, 10, 100]))
                rows.append(
                    MinDeposit(
                        chain_id=chain_id, recipient=recipient, amount=amount, block_number=draw(blocks)
                    )
                )
        for sender in SENDERS + RECIPIENTS:
            for recipient in RECIPIENTS:
                if draw(st.integers(0, 2)) == 0:
                    rows.append(
                        Bond(
                            chain_id=chain_id,
                            sender=sender,
                            recipient=recipient,
                            amount=draw(st.sampled_from([0, 5, 10, 100, 2**200])),
                            accepted=draw(st.booleans()),
                            unlock_time=draw(st.sampled_from([None, 1_900_000_000])),
                            block_number=draw(blocks),
                        )
                    )
        labels = [*LABELS, f"{SENDERS[1][2:]}.addr", f"{RECIPIENTS[2][2:]}.addr"]
        for label in labels:
            node = node_hex(f"{label}.{parent}")
            if draw(st.booleans()):
                rows.append(
                    Name(
                        chain_id=chain_id,
                        node=node,
                        label=label,
                        parent_node=node_hex(parent),
                        name=f"{label}.{parent}",
                        owner=draw(st.sampled_from([*SENDERS, ZERO])),
                        block_number=draw(blocks),
                    )
                )
            for coin_type in (60, DEFAULT_EVM_COIN_TYPE, 0):  # coin 0 (bitcoin) is never read
                if draw(st.integers(0, 2)) == 0:
                    address = draw(record_values)
                    rows.append(
                        AddrRecord(
                            chain_id=chain_id, node=node, coin_type=coin_type, address=address, block_number=1
                        )
                    )
    return rows


def store(writer: Any, rows: list[SQLModel]) -> None:
    with Session(writer) as session:
        for table in TABLES:
            session.exec(delete(table))  # type: ignore[call-overload]
        session.add_all(rows)
        session.commit()


pairs_of_targets = st.lists(st.tuples(st.sampled_from(TARGETS), st.sampled_from(TARGETS)), max_size=30)


@given(
    world=worlds(),
    pairs=pairs_of_targets,
    chain_id=st.sampled_from([None, OP_CHAIN_ID, BASE_CHAIN_ID]),
    min_finality=st.sampled_from(["latest", "safe", "finalized"]),
)
def test_memory_answers__equal_the_database_path(writer, db_url, world, pairs, chain_id, min_finality):
    store(writer, world)
    pairs = [*((target, RECIPIENTS[0]) for target in TARGETS), *pairs]  # every target, every time
    engine = create_db_engine(db_url, role="reader")
    try:
        snapshot = read_all(engine)
        targets = [(parse_target(s, what="s"), parse_target(r, what="r")) for s, r in pairs]
        with snapshot_session(engine) as session:
            chains = load_chains(session, chain_id)
            expected = eligibility_many(session, targets, chains=chains, min_finality=min_finality)
        selection = select_chains(snapshot, chain_id)
        assert selection is not None
        for (sender, recipient), answer in zip(targets, expected, strict=True):
            got = pair_json(snapshot, selection, sender, recipient, min_finality)
            assert got == answer.model_dump_json(), (sender, recipient)
        state = EligibilityState(engine, refresh_interval=1, max_age=60)
        anyio.run(state.update)
        question = BatchQuestion(pairs=pairs, chain_id=chain_id, min_finality=min_finality)
        batch = anyio.run(batch_json, state, question)
        assert batch == EligibilityBatch(data=expected, count=len(expected)).model_dump_json().encode()
    finally:
        engine.dispose()
