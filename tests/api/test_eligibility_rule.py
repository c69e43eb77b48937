"""The eligibility rule alone (`indexer.eligibility_rule`), without a database: the contract's `is_eligible` with
its reason, the facts an answer rests on, the finality floor, the cross-chain rule; and the client's cache,
fed the API's answers and then the change feed, answers what the API answers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.api.names import parse_target
from indexer.api.queries.changes import ChangeOut
from indexer.api.queries.eligibility import BondFacts, Facts, pair_answer
from indexer.api.queries.envelope import ChainRow
from indexer.client.changes import CachedPairs
from indexer.eligibility_rule import Verdict, across_chains, decide, deciding_facts

MAX = 2**256 - 1

# (min_deposit, bond, accepted, withdrawal_pending) -> (eligible, reason, inbox_configured)
DECIDE_TABLE = [
    ((None, 0, False, False), (True, "open_inbox", False)),  # never set a price: the contract reads 0
    ((0, 0, False, False), (True, "open_inbox", True)),  # a price of 0 is a choice
    ((0, 5, False, True), (True, "open_inbox", True)),  # an open inbox ignores a pending withdrawal
    ((10, 0, False, False), (False, "no_deposit", True)),
    ((10, 0, False, True), (False, "no_deposit", True)),  # nothing left to withdraw is still no deposit
    ((10, 9, False, False), (False, "insufficient_deposit", True)),
    ((10, 10, False, False), (True, "deposit", True)),  # exactly the minimum is enough
    ((10, MAX, False, False), (True, "deposit", True)),
    ((MAX, MAX, False, False), (True, "deposit", True)),
    ((MAX, MAX - 1, False, False), (False, "insufficient_deposit", True)),
    ((10, 100, False, True), (False, "withdrawal_pending", True)),  # a withdrawing bond no longer counts
    ((10, 5, False, True), (False, "withdrawal_pending", True)),
    ((10, 0, True, False), (True, "accepted", True)),  # accepted, bond withdrawn: accepted for good
    ((10, 0, True, True), (True, "accepted", True)),
    ((None, 0, True, False), (True, "accepted", True)),  # accepting configures the inbox on that chain
]


@pytest.mark.parametrize(("facts", "expected"), DECIDE_TABLE)
def test_decide__table(facts, expected):
    min_deposit, bond, accepted, pending = facts
    verdict = decide(min_deposit=min_deposit, bond=bond, accepted=accepted, withdrawal_pending=pending)
    assert (verdict.eligible, verdict.reason, verdict.inbox_configured) == expected


amounts = st.one_of(st.integers(0, 20), st.sampled_from([MAX - 1, MAX]))


@settings(max_examples=400)
@given(
    min_deposit=st.none() | amounts, bond=amounts, accepted=st.booleans(), withdrawal_pending=st.booleans()
)
def test_decide__is_the_contracts_is_eligible(min_deposit, bond, accepted, withdrawal_pending):
    """InboxDeposits.is_eligible: accepted, or min deposit 0, or (bond >= min deposit and no unlock time)."""
    minimum = min_deposit or 0
    contract = accepted or minimum == 0 or (bond >= minimum and not withdrawal_pending)
    verdict = decide(
        min_deposit=min_deposit, bond=bond, accepted=accepted, withdrawal_pending=withdrawal_pending
    )
    assert verdict.eligible == contract
    assert verdict.reason in (
        ("accepted", "open_inbox", "deposit")
        if contract
        else ("no_deposit", "withdrawal_pending", "insufficient_deposit")
    )
    assert verdict.inbox_configured == (min_deposit is not None or accepted)


@pytest.mark.parametrize(
    ("reason", "facts"),
    [
        ("accepted", ("bond",)),
        ("open_inbox", ("minimum",)),
        ("deposit", ("minimum", "bond")),
        ("insufficient_deposit", ("minimum", "bond")),
        ("withdrawal_pending", ("minimum", "bond")),
        ("no_deposit", ("minimum", "bond")),  # the missing bond counts: a reorg could add it
    ],
)
def test_deciding_facts__table(reason, facts):
    assert deciding_facts(reason, minimum="minimum", bond="bond") == facts


@pytest.mark.parametrize(
    ("verdict", "final_enough", "expected"),
    [
        (Verdict(True, "deposit", True), False, Verdict(False, "below_min_finality", True)),
        (Verdict(True, "open_inbox", False), False, Verdict(False, "below_min_finality", False)),
        (Verdict(True, "deposit", True), True, Verdict(True, "deposit", True)),
        (Verdict(False, "no_deposit", True), False, Verdict(False, "no_deposit", True)),  # "no" stays "no"
    ],
)
def test_at_finality__table(verdict, final_enough, expected):
    assert verdict.at_finality(final_enough=final_enough) == expected


OPEN = Verdict(True, "open_inbox", False)  # a chain the recipient never configured
PRICED = Verdict(False, "no_deposit", True)
PAID = Verdict(True, "deposit", True)
ACCEPTED = Verdict(True, "accepted", True)
TOO_LITTLE = Verdict(False, "insufficient_deposit", True)


@pytest.mark.parametrize(
    ("per_chain", "winners", "reason"),
    [
        ([], [], "no_deposit"),
        ([OPEN, OPEN], [OPEN, OPEN], "open_inbox"),  # configured nowhere: open everywhere
        ([OPEN, PRICED], [], "no_deposit"),  # a price on one chain is not bypassed through another
        ([PRICED, OPEN, PAID], [PAID], "deposit"),
        ([TOO_LITTLE, PRICED], [], "insufficient_deposit"),  # the first deciding chain's reason
        ([PAID, ACCEPTED], [PAID, ACCEPTED], "deposit"),  # the first winner's reason
        ([OPEN, ACCEPTED], [ACCEPTED], "accepted"),
    ],
)
def test_across_chains__table(per_chain, winners, reason):
    assert across_chains(per_chain) == (winners, reason)


# --- the client's cache and the API agree ----------------------------------------------------------------------

S, R = "0x" + "a1" * 20, "0x" + "b2" * 20
CHAIN_IDS = (10, 8453)
CHAINS = [ChainRow(cid, 100, "0x" + "00" * 32, 1_700_000_000, 100, 100) for cid in CHAIN_IDS]
TARGETS = {"sender": parse_target(S, what="sender"), "recipient": parse_target(R, what="recipient")}


def api_answer(facts: Facts):
    return pair_answer(CHAINS, facts, **TARGETS, addresses=(S, R), min_finality="latest")


def change(number: int, kind: str, chain_id: int, args: dict, *, action: str = "apply") -> ChangeOut:
    return ChangeOut(
        id=number,
        action=action,
        ref_id=None,
        kind=kind,
        event=kind,
        chain_id=chain_id,
        block_number=number,
        block_hash="0x" + "11" * 32,
        finality="latest",
        tx_hash="0x" + "22" * 32,
        log_index=0,
        sender=None if kind == "min_deposit" else S,
        recipient=R,
        node=None,
        args={k: str(v) for k, v in args.items()},
    )


def after(facts: Facts, kind: str, chain_id: int, value: int) -> tuple[Facts, dict]:
    """The rows the indexer's writer leaves after one event (store/writer.py `_next_row`), and the event's
    change-feed args."""
    minimums, bonds = dict(facts.minimums), dict(facts.bonds)
    if kind == "min_deposit":
        minimums[(chain_id, R)] = (value, 1)
        return Facts(minimums=minimums, bonds=bonds), {"recipient": R, "amount": value}
    key = (chain_id, S, R)
    old = bonds.get(key) or BondFacts(amount=0, accepted=False, unlock_time=None, block_number=1)
    new = {
        "deposit": BondFacts(value, old.accepted, old.unlock_time, 1),
        "burn": BondFacts(value, old.accepted, old.unlock_time, 1),
        "release": BondFacts(value, True, old.unlock_time, 1),
        "withdrawal_request": BondFacts(value, old.accepted, 1_900_000_000, 1),
        "withdrawal": BondFacts(0, old.accepted, None, 1),
    }[kind]
    bonds[key] = new
    args = {"amount": value} if kind == "withdrawal" else {"bond": value}
    return Facts(minimums=minimums, bonds=bonds), args


events = st.tuples(
    st.sampled_from(
        ["min_deposit", "deposit", "burn", "release", "withdrawal_request", "withdrawal", "text"]
    ),
    st.sampled_from(CHAIN_IDS),
    st.integers(0, 12),
    st.booleans(),  # a rollback of this event instead (the cache asks the API again)
)


@settings(max_examples=400)  # no database, no I/O: a few seconds, against the suite's default of 25
@given(steps=st.lists(events, max_size=25))
def test_cache__fed_the_apis_answer_and_the_change_feed__answers_like_the_api(steps):
    facts = Facts(minimums={}, bonds={})
    cache = CachedPairs()
    cache.load((S, R), api_answer(facts))
    assert cache.eligible((S, R)) == api_answer(facts).eligible
    for number, (kind, chain_id, value, rolled_back) in enumerate(steps, start=1):
        if kind == "text":  # a profile record: no eligibility fact changes, nothing to ask
            assert cache.apply(change(number, "text", chain_id, {"key": "k", "value": "v"})) == []
            continue
        new_facts, args = after(facts, kind, chain_id, value)
        if rolled_back:  # the event's block is gone again: the facts stay, the cache must ask
            assert cache.apply(change(number, kind, chain_id, args, action="rollback")) == [(S, R)]
            cache.load((S, R), api_answer(facts))
        else:
            facts = new_facts
            assert cache.apply(change(number, kind, chain_id, args)) == []
        assert cache.eligible((S, R)) == api_answer(facts).eligible, (kind, chain_id, value)
