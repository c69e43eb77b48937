"""The projection table (indexer/store/projection.py) without a database: every ABI event has one entry, each
entry's rows fit their tables, and what each event leaves behind."""

from __future__ import annotations

import subprocess
import sys
import typing
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from indexer.chain.abi import EVENTS_BY_CONTRACT, ContractKind, DecodedLog
from indexer.ens import node_hex
from indexer.store import models
from indexer.store.projection import (
    CHANGE_KINDS,
    PROJECTIONS,
    STATE_KEYS,
    Projector,
    Row,
    json_args,
    kinds_touching,
)

PARENT = "op.dm3.eth"
CHAIN_ID = 10
S = "0x" + "a1" * 20
R = "0x" + "b2" * 20
P = "0x" + "c3" * 20
NODE = "0x" + "11" * 32
CONTRACT_OF: dict[str, ContractKind] = {
    f["name"]: kind for kind, fragments in EVENTS_BY_CONTRACT.items() for f in fragments
}
FRAGMENTS = {f["name"]: f for fragments in EVENTS_BY_CONTRACT.values() for f in fragments}
MODEL_OF_TABLE = {
    "names": models.Name,
    "text_records": models.TextRecord,
    "addr_records": models.AddrRecord,
    "contenthashes": models.Contenthash,
    "primary_names": models.PrimaryName,
    "operators": models.Operator,
    "min_deposits": models.MinDeposit,
    "bonds": models.Bond,
}


def columns(model: Any) -> set[str]:
    return {c.name for c in model.__table__.c} - {"id"}


def log(
    event: str, block: int = 7, log_index: int = 0, raw: dict[str, bytes] | None = None, **args: Any
) -> DecodedLog:
    return DecodedLog(
        block_number=block,
        block_hash="0x" + f"{block:064x}",
        tx_hash="0x" + f"{block * 1000 + log_index:064x}",
        log_index=log_index,
        address="0x" + "de" * 20,
        contract=CONTRACT_OF[event],
        event=event,
        args=args,
        raw=raw or {},
    )


_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "address": st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()),
    "bytes32": st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex()),
    "bytes": st.binary(max_size=40).map(lambda b: "0x" + b.hex()),
    "string": st.text(max_size=20),
    "uint256": st.integers(min_value=0, max_value=2**256 - 1),
    "bool": st.booleans(),
}


@st.composite
def any_log(draw: st.DrawFn) -> DecodedLog:
    """A decoded log of any event the indexer consumes, with arbitrary values of its ABI types."""
    event = draw(st.sampled_from(sorted(FRAGMENTS)))
    args = {name: draw(_VALUES[kind]) for name, kind, _ in FRAGMENTS[event]["inputs"]}
    return log(event, block=draw(st.integers(0, 2**40)), log_index=draw(st.integers(0, 1000)), **args)


# --- the table -------------------------------------------------------------------------------------------------


def test_table__has_one_entry_per_abi_event() -> None:
    assert set(PROJECTIONS) == set(FRAGMENTS)


def test_table__entries_are_whole() -> None:
    for event, p in PROJECTIONS.items():
        assert (p.table is None) == (p.key is None) == (p.row is None), event
        assert p.table is None or p.table in STATE_KEYS, event
        assert p.history is None or p.table == "bonds", event
        assert p.touches is None or p.change is not None, f"{event}: touches something but has no change kind"
    assert len(set(CHANGE_KINDS.values())) == len(CHANGE_KINDS), "two events share a change kind"
    assert set(STATE_KEYS) == set(MODEL_OF_TABLE)


def test_table__history_kinds_are_the_bond_history_kinds() -> None:
    history_kinds = {p.change for p in PROJECTIONS.values() if p.history is not None}
    assert history_kinds == set(typing.get_args(models.BondEventKind))


def test_bond_events__carry_the_pairs_bond() -> None:
    """The client's EligibilityCache sets a pair's bond from a bond change's `bond` arg (a withdrawal empties it)."""
    for event, p in PROJECTIONS.items():
        if p.touches == "bond" and p.change != "withdrawal":
            assert "bond" in [name for name, _, _ in FRAGMENTS[event]["inputs"]], event


def test_kinds__are_the_published_ones() -> None:
    """The change kinds are API (`?kinds=`, clients): a change here is a change of the public feed."""
    assert CHANGE_KINDS == {
        "Deposited": "deposit",
        "Burned": "burn",
        "Released": "release",
        "WithdrawalRequested": "withdrawal_request",
        "Withdrawn": "withdrawal",
        "MinDepositSet": "min_deposit",
        "TextChanged": "text",
        "AddrChanged": "addr",
        "AddressChanged": "address",
        "ContenthashChanged": "contenthash",
        "NameRegistered": "name_registered",
        "Transfer": "transfer",
    }
    assert kinds_touching("bond") == {"deposit", "burn", "release", "withdrawal_request", "withdrawal"}
    assert kinds_touching("price") == {"min_deposit"}
    assert kinds_touching("profile") == {
        "text",
        "addr",
        "address",
        "contenthash",
        "name_registered",
        "transfer",
    }
    touched = kinds_touching("bond") | kinds_touching("price") | kinds_touching("profile")
    assert touched == set(CHANGE_KINDS.values()), "every change kind says what it touches"


def test_module__imports_no_sql() -> None:
    """The client and any other package may import the table without SQLAlchemy."""
    code = (
        "import sys, indexer.store.projection\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'sqlmodel', 'psycopg'))\n"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- rows fit their tables -------------------------------------------------------------------------------------


@given(any_log(), st.booleans())
def test_rows__fit_their_tables_and_carry_their_key(decoded: DecodedLog, with_previous: bool) -> None:
    projector = Projector(CHAIN_ID, parent_name=PARENT)
    event, change = projector.log_rows(decoded)
    assert set(event) == columns(models.Event)
    assert event["args"] == json_args(decoded.args)
    if change is None:
        assert decoded.event not in CHANGE_KINDS
    else:
        assert set(change) == columns(models.Change) - {"id"}
        assert change["kind"] == CHANGE_KINDS[decoded.event]
    hit = projector.touched(decoded)
    if hit is None:
        assert PROJECTIONS[decoded.event].table is None
        return
    table, key = hit
    previous = None
    if with_previous:  # a stored row of the same key (the writer loads it with every column)
        previous = projector.next_row(log(decoded.event, block=1, **decoded.args), key, None)
    frozen = dict(previous) if previous else None
    row = projector.next_row(decoded, key, previous)
    assert previous == frozen, "the previous row is kept as it was (the undo log holds it)"
    if row is not None:
        assert set(row) == columns(MODEL_OF_TABLE[table])
        assert tuple(row[c] for c in STATE_KEYS[table]) == key
        assert (row["chain_id"], row["block_number"]) == (CHAIN_ID, decoded.block_number)
    history = projector.history_row(decoded, key)
    if history is not None:
        assert set(history) == columns(models.BondHistory)
        assert history["kind"] == CHANGE_KINDS[decoded.event]


SAMPLE = {"address": S, "bytes32": NODE, "bytes": "0x01", "string": "x", "uint256": 5, "bool": True}


def test_rows__never_change_the_previous_row() -> None:
    """The writer keeps the row before in the undo log and in its batch state: projecting must copy it."""
    projector = Projector(CHAIN_ID, parent_name=PARENT)
    for event, p in PROJECTIONS.items():
        if p.table is None:
            continue
        args = {name: SAMPLE[kind] for name, kind, _ in FRAGMENTS[event]["inputs"]}
        first, second = log(event, block=1, **args), log(event, block=2, **args)
        hit = projector.touched(first)
        assert hit is not None
        previous = projector.next_row(first, hit[1], None)
        assert previous is not None, event
        kept = dict(previous)
        assert projector.next_row(second, hit[1], previous) is not previous
        assert previous == kept, event


# --- what each event leaves behind -----------------------------------------------------------------------------


def project(
    projector: Projector, logs: list[DecodedLog]
) -> tuple[dict[tuple[str, Any], Row | None], list[Row]]:
    """Fold ``logs`` like the writer does (without a database): the final rows and the history rows."""
    state: dict[tuple[str, Any], Row | None] = {}
    history: list[Row] = []
    for decoded in logs:
        hit = projector.touched(decoded)
        if hit is None:
            continue
        state[hit] = projector.next_row(decoded, hit[1], state.get(hit))
        if (row := projector.history_row(decoded, hit[1])) is not None:
            history.append(row)
    return state, history


def test_name_registered__full_name_under_a_known_parent_only() -> None:
    projector = Projector(CHAIN_ID, parent_name=PARENT)
    for parent, label, name in (
        (node_hex(PARENT), "alice", f"alice.{PARENT}"),
        (node_hex("addr." + PARENT), S[2:], f"{S[2:]}.addr.{PARENT}"),
        ("0x" + "99" * 32, "bob", None),
    ):
        registered = log("NameRegistered", node=NODE, parent=parent, owner=S, label=label)
        row = projector.next_row(registered, (NODE,), None)
        assert row == {
            "chain_id": CHAIN_ID,
            "block_number": 7,
            "node": NODE,
            "label": label,
            "parent_node": parent,
            "name": name,
            "owner": S,
        }
    no_parent = Projector(CHAIN_ID)
    row = no_parent.next_row(
        log("NameRegistered", node=NODE, parent=node_hex(PARENT), owner=S, label="a"), (NODE,), None
    )
    assert row is not None and row["name"] is None


def test_transfer__keeps_the_name_and_changes_the_owner() -> None:
    projector = Projector(CHAIN_ID, parent_name=PARENT)
    state, _ = project(
        projector,
        [
            log("NameRegistered", block=3, node=NODE, parent=node_hex(PARENT), owner=S, label="alice"),
            log("Transfer", block=9, node=NODE, owner=R),
        ],
    )
    assert state[("names", (NODE,))] == {
        "chain_id": CHAIN_ID,
        "block_number": 9,
        "node": NODE,
        "label": "alice",
        "parent_node": node_hex(PARENT),
        "name": f"alice.{PARENT}",
        "owner": R,
    }
    orphan = projector.next_row(log("Transfer", node=NODE, owner=R), (NODE,), None)
    assert orphan == {
        "chain_id": CHAIN_ID,
        "block_number": 7,
        "node": NODE,
        "label": "",
        "parent_node": "",
        "name": None,
        "owner": R,
    }


def test_records__an_empty_value_deletes_the_row() -> None:
    projector = Projector(CHAIN_ID)
    cases = [
        log("TextChanged", node=NODE, indexedKey="0x" + "00" * 32, key="avatar", value=""),
        log("AddressChanged", node=NODE, coinType=60, newAddress="0x"),
        log("ContenthashChanged", node=NODE, hash="0x"),
        log("PrimaryNameChanged", account=S, name=""),
    ]
    for decoded in cases:
        hit = projector.touched(decoded)
        assert hit is not None
        assert projector.next_row(decoded, hit[1], {"stale": True}) is None, decoded.event


def test_text_key__identity_is_the_raw_bytes() -> None:
    """Two keys whose text lost different bytes (invalid UTF-8) are two rows; a clean key is its UTF-8."""
    projector = Projector(CHAIN_ID)
    lossy = log("TextChanged", node=NODE, indexedKey="0x", key="a\ufffd", value="v", raw={"key": b"a\xff"})
    clean = log("TextChanged", node=NODE, indexedKey="0x", key="a\ufffd", value="v")
    assert projector.touched(lossy) == ("text_records", (NODE, "0x61ff"))
    assert projector.touched(clean) == ("text_records", (NODE, "0x" + "a\ufffd".encode().hex()))
    row = projector.next_row(lossy, (NODE, "0x61ff"), None)
    assert row is not None and (row["key"], row["key_hex"], row["value"]) == ("a\ufffd", "0x61ff", "v")


def test_events_only__no_state_row() -> None:
    projector = Projector(CHAIN_ID)
    for decoded in (
        log("AddrChanged", node=NODE, a=S),
        log("Paused", account=S),
        log("Unpaused", account=S),
        log("ExcessSwept", receiver=S, amount=5),
    ):
        assert projector.touched(decoded) is None
        _, change = projector.log_rows(decoded)
        assert (change is not None) == (decoded.event == "AddrChanged")


def test_bond__events_rebuild_the_pair_and_its_ledger() -> None:
    projector = Projector(CHAIN_ID)
    pair = (S, R)
    state, history = project(
        projector,
        [
            log("Deposited", block=1, sender=S, recipient=R, payer=P, amount=10, bond=10),
            log("Burned", block=2, sender=S, recipient=R, amount=4, bond=6),
            log("WithdrawalRequested", block=3, sender=S, recipient=R, bond=6, unlock_time=1000),
        ],
    )
    assert state[("bonds", pair)] == {
        "chain_id": CHAIN_ID,
        "block_number": 3,
        "sender": S,
        "recipient": R,
        "amount": 6,
        "accepted": False,
        "unlock_time": 1000,
    }
    more, more_history = project(
        projector,
        [
            log("Withdrawn", block=4, sender=S, recipient=R, receiver=P, amount=6),
            log("Deposited", block=5, sender=S, recipient=R, payer=S, amount=3, bond=3),
            log("Released", block=6, sender=S, recipient=R, bond=3),
        ],
    )
    assert more[("bonds", pair)] == {
        "chain_id": CHAIN_ID,
        "block_number": 6,
        "sender": S,
        "recipient": R,
        "amount": 3,
        "accepted": True,
        "unlock_time": None,
    }
    ledger = [
        (h["block_number"], h["kind"], h["amount"], h["bond_after"], h["counterparty"], h["unlock_time"])
        for h in history + more_history
    ]
    assert ledger == [
        (1, "deposit", 10, 10, P, None),
        (2, "burn", 4, 6, None, None),
        (3, "withdrawal_request", 6, 6, None, 1000),
        (4, "withdrawal", 6, 0, P, None),
        (5, "deposit", 3, 3, S, None),
        (6, "release", 3, 3, None, None),
    ]


def test_bond__a_release_survives_later_events() -> None:
    """`accepted` is set by Released and never cleared; a withdrawal clears only the unlock time."""
    projector = Projector(CHAIN_ID)
    state, _ = project(
        projector,
        [
            log("Released", block=1, sender=S, recipient=R, bond=0),
            log("WithdrawalRequested", block=2, sender=S, recipient=R, bond=0, unlock_time=9),
            log("Withdrawn", block=3, sender=S, recipient=R, receiver=S, amount=0),
        ],
    )
    bond = state[("bonds", (S, R))]
    assert bond is not None and (bond["accepted"], bond["amount"], bond["unlock_time"]) == (True, 0, None)


def test_change_row__names_the_pair_the_recipient_or_the_node() -> None:
    projector = Projector(CHAIN_ID)
    deposited = log("Deposited", sender=S, recipient=R, payer=P, amount=2**256 - 1, bond=2**256 - 1)
    event, change = projector.log_rows(deposited)
    assert change is not None
    assert (change["sender"], change["recipient"], change["node"]) == (S, R, None)
    assert (
        change["args"]
        == event["args"]
        == {
            "sender": S,
            "recipient": R,
            "payer": P,
            "amount": str(2**256 - 1),
            "bond": str(2**256 - 1),
        }
    )
    assert (change["action"], change["ref_id"], change["occurrence"]) == ("apply", None, 0)
    _, price = projector.log_rows(log("MinDepositSet", recipient=R, amount=5))
    assert price is not None and (price["sender"], price["recipient"], price["node"]) == (None, R, None)
    _, text = projector.log_rows(log("TextChanged", node=NODE, indexedKey="0x", key="k", value="v"))
    assert text is not None and (text["sender"], text["recipient"], text["node"]) == (None, None, NODE)


def test_json_args__integers_as_strings_bools_kept() -> None:
    assert json_args({"a": 0, "b": True, "c": "0x", "d": 2**256 - 1}) == {
        "a": "0",
        "b": True,
        "c": "0x",
        "d": str(2**256 - 1),
    }
