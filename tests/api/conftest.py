"""API test fixtures: a migrated SQLite database, a writer session to seed it, the app and a client
(harness.fixtures); `seeded`: two chains, minimums, bonds, names and address records for the eligibility
answers (a module defining its own `seeded` overrides it)."""

import pytest

from harness.api import BASE_CHAIN_ID, OP_CHAIN_ID, chain_row
from harness.fixtures import api_settings, chains, client, db_url, seed, writer  # noqa: F401
from indexer.ens import DEFAULT_EVM_COIN_TYPE, node_hex
from indexer.store.models import AddrRecord, Bond, MinDeposit, Name

S = "0x" + "a1" * 20
R = "0x" + "b2" * 20
OTHER = "0x" + "c3" * 20


@pytest.fixture
def seeded(seed) -> None:  # noqa: F811  (the fixture imported above)
    seed(
        chain_row(OP_CHAIN_ID, "op.dm3.eth", safe_block=60, finalized_block=40),
        chain_row(BASE_CHAIN_ID, "base.dm3.eth"),
        MinDeposit(chain_id=OP_CHAIN_ID, recipient=R, amount=100, block_number=50),
        MinDeposit(chain_id=BASE_CHAIN_ID, recipient=R, amount=10, block_number=99),
        Bond(chain_id=OP_CHAIN_ID, sender=S, recipient=R, amount=150, block_number=55),
        Bond(chain_id=BASE_CHAIN_ID, sender=OTHER, recipient=R, amount=5, unlock_time=2**40, block_number=10),
        name_row("alice", "op.dm3.eth", OP_CHAIN_ID, owner=OTHER),
        AddrRecord(
            chain_id=OP_CHAIN_ID, node=node_hex("alice.op.dm3.eth"), coin_type=60, address=S, block_number=3
        ),
        name_row("bob", "base.dm3.eth", BASE_CHAIN_ID, owner=OTHER),
        AddrRecord(
            chain_id=BASE_CHAIN_ID,
            node=node_hex("bob.base.dm3.eth"),
            coin_type=DEFAULT_EVM_COIN_TYPE,
            address=R,
            block_number=3,
        ),
    )


def name_row(label: str, parent: str, chain_id: int, *, owner: str) -> Name:
    name = f"{label}.{parent}"
    return Name(
        chain_id=chain_id,
        node=node_hex(name),
        label=label,
        parent_node=node_hex(parent),
        name=name,
        owner=owner,
        block_number=2,
    )
