"""Name resolution's many-names query (a VALUES list joined to both address records `addr(node)` reads) on
PostgreSQL: placeholders, uint256 coin types and the ENSIP-19 default fallback as on SQLite."""

from __future__ import annotations

import pytest

from harness.api import OP_CHAIN_ID
from indexer.ens import DEFAULT_EVM_COIN_TYPE, ETH_COIN_TYPE, namehash
from indexer.store.models import AddrRecord, Name

pytestmark = pytest.mark.usefixtures("chains")

OWNER = "0x" + "0a" * 20
ETH = "0x" + "e7" * 20
DEFAULT = "0x" + "de" * 20


@pytest.fixture
def db_url(pg_url: str) -> str:
    return pg_url


def _node(label: str) -> str:
    return "0x" + namehash(f"{label}.op.dm3.eth").hex()


def test_eligibility_batch__names_resolve_with_the_default_address(client, seed):
    parent = "0x" + namehash("op.dm3.eth").hex()
    labels = ["carol", "dave", "erin", "frank", "gina"]
    seed(
        *(
            Name(
                chain_id=OP_CHAIN_ID,
                node=_node(label),
                label=label,
                parent_node=parent,
                name=f"{label}.op.dm3.eth",
                owner=OWNER,
                block_number=1,
            )
            for label in labels
        ),
        AddrRecord(
            chain_id=OP_CHAIN_ID,
            node=_node("carol"),
            coin_type=DEFAULT_EVM_COIN_TYPE,
            address=DEFAULT,
            block_number=1,
        ),
        AddrRecord(
            chain_id=OP_CHAIN_ID, node=_node("dave"), coin_type=ETH_COIN_TYPE, address=ETH, block_number=1
        ),
        AddrRecord(
            chain_id=OP_CHAIN_ID,
            node=_node("dave"),
            coin_type=DEFAULT_EVM_COIN_TYPE,
            address=DEFAULT,
            block_number=1,
        ),
    )
    pairs = [{"sender": OWNER, "recipient": f"{label}.op.dm3.eth"} for label in [*labels, "nobody"]]
    answers = client.post("/v1/eligibility", json={"pairs": pairs}).json()["data"]
    assert [a["recipient_address"] for a in answers] == [DEFAULT, ETH, OWNER, OWNER, OWNER, None]
