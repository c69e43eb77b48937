"""The cross-chain rule: the chains where the recipient configured its inbox decide.

A chain where the recipient never set a price is open by the contract's rule (min deposit 0), but that default
must not let a stranger around a price the recipient set on another chain. Checked on every read path: the
single-pair fast path (two addresses), the routed GET (a name or `chain_id`), and the batch.
"""

from __future__ import annotations

import pytest

from harness.api import BASE_CHAIN_ID, OP_CHAIN_ID
from indexer.store.models import Bond, MinDeposit

pytestmark = pytest.mark.usefixtures("chains")

STRANGER = "0x" + "a1" * 20
RECIPIENT = "0x" + "b2" * 20
PRICE = 10 * 10**18


def ask(client, how: str) -> dict:
    if how == "get":
        response = client.get("/v1/eligibility", params={"sender": STRANGER, "recipient": RECIPIENT})
    else:
        body = {"pairs": [{"sender": STRANGER, "recipient": RECIPIENT}]}
        response = client.post("/v1/eligibility", json=body)
        response.raise_for_status()
        return response.json()["data"][0]
    response.raise_for_status()
    return response.json()


def by_chain(answer: dict) -> dict[int, dict]:
    return {c["envelope"]["chain_id"]: c for c in answer["chains"]}


@pytest.mark.parametrize("how", ["get", "batch"])
def test_eligibility__price_on_one_chain__unconfigured_chain_does_not_open_the_inbox(client, seed, how):
    seed(MinDeposit(chain_id=OP_CHAIN_ID, recipient=RECIPIENT, amount=PRICE, block_number=1))
    answer = ask(client, how)
    assert answer["eligible"] is False
    assert answer["reason"] == "no_deposit"
    assert answer["eligible_chain_ids"] == []
    chains = by_chain(answer)
    assert chains[OP_CHAIN_ID]["inbox_configured"] is True
    # Base on its own says what the contract says (open), but it does not decide.
    assert chains[BASE_CHAIN_ID] | {"envelope": None} == chains[BASE_CHAIN_ID] | {
        "eligible": True,
        "reason": "open_inbox",
        "inbox_configured": False,
        "envelope": None,
    }


@pytest.mark.parametrize("how", ["get", "batch"])
def test_eligibility__no_chain_configured__open_everywhere(client, how):
    answer = ask(client, how)
    assert answer["eligible"] is True
    assert answer["reason"] == "open_inbox"
    assert sorted(answer["eligible_chain_ids"]) == [OP_CHAIN_ID, BASE_CHAIN_ID]


@pytest.mark.parametrize("how", ["get", "batch"])
def test_eligibility__explicit_zero_price_on_another_chain__open_there(client, seed, how):
    seed(
        MinDeposit(chain_id=OP_CHAIN_ID, recipient=RECIPIENT, amount=PRICE, block_number=1),
        MinDeposit(chain_id=BASE_CHAIN_ID, recipient=RECIPIENT, amount=0, block_number=1),
    )
    answer = ask(client, how)
    assert (answer["eligible"], answer["reason"], answer["eligible_chain_ids"]) == (
        True,
        "open_inbox",
        [BASE_CHAIN_ID],
    )


@pytest.mark.parametrize("how", ["get", "batch"])
def test_eligibility__accepted_on_a_chain_without_a_price__accepted(client, seed, how):
    seed(
        MinDeposit(chain_id=OP_CHAIN_ID, recipient=RECIPIENT, amount=PRICE, block_number=1),
        Bond(
            chain_id=BASE_CHAIN_ID,
            sender=STRANGER,
            recipient=RECIPIENT,
            amount=0,
            accepted=True,
            block_number=2,
        ),
    )
    answer = ask(client, how)
    assert (answer["eligible"], answer["reason"], answer["eligible_chain_ids"]) == (
        True,
        "accepted",
        [BASE_CHAIN_ID],
    )


@pytest.mark.parametrize("how", ["get", "batch"])
def test_eligibility__deposit_on_the_priced_chain__eligible_there(client, seed, how):
    seed(
        MinDeposit(chain_id=OP_CHAIN_ID, recipient=RECIPIENT, amount=PRICE, block_number=1),
        Bond(chain_id=OP_CHAIN_ID, sender=STRANGER, recipient=RECIPIENT, amount=PRICE, block_number=2),
    )
    answer = ask(client, how)
    assert (answer["eligible"], answer["reason"], answer["eligible_chain_ids"]) == (
        True,
        "deposit",
        [OP_CHAIN_ID],
    )
