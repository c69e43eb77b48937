"""What each event does to the indexed state: one entry per event, in pure Python (no SQL, no database).

:data:`PROJECTIONS` maps every event of ``chain/abi.py`` to a :class:`Projection`:

- ``table`` and ``key``: the state row the event overwrites (no table: the event is kept in ``events`` only);
- ``row``: the row it leaves behind for that key, from the event and the row before it (None: no row);
- ``history``: the ``bond_history`` row it appends (deposit events; its ``kind`` is the change kind);
- ``change``: its change-feed kind (None: no ``changes`` row);
- ``touches``: what a delivery node caches that the event changes: a ``bond`` (of a sender/recipient pair), a
  ``price`` (a recipient's min deposit) or a ``profile`` (a name's records or owner).

Every event carries the absolute state it leaves behind (the pair's ``bond``, the new owner, the record value), so
a row is an overwrite and replaying an event is harmless.

:class:`Projector` applies the table for one chain. :mod:`indexer.store.writer` does everything with SQL around
it (loads the rows before, keeps undo entries, writes in bulk, rolls back); the change feed
(:mod:`indexer.api.changes`) and the client take their kinds from :data:`CHANGE_KINDS` and :func:`kinds_touching`.
This module imports nothing of SQLAlchemy, so any package may import it (a test checks that).

Adding an event: its fragment in ``chain/abi.py`` and one entry here (``tests/store/test_projection.py`` fails
until both list the same events).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from indexer.chain.abi import DecodedLog, json_args, stored_args_json
from indexer.ens import node_hex

Key = tuple[Any, ...]
Row = dict[str, Any]
Args = dict[str, Any]
Touches = Literal["bond", "price", "profile"]
#: ``row(log, key, previous, parents)``: the row ``log`` leaves behind for ``key`` (None = no row). ``previous``
#: is the row before (None = none); ``parents`` maps a parent node to its name (to spell full names).
RowFn = Callable[[DecodedLog, Key, Row | None, Mapping[str, str]], Row | None]

#: Mutable state tables and their primary key columns after ``chain_id``: a :attr:`Projection.key` in this order.
STATE_KEYS: dict[str, tuple[str, ...]] = {
    "names": ("node",),
    "text_records": ("node", "key_hex"),
    "addr_records": ("node", "coin_type"),
    "contenthashes": ("node",),
    "primary_names": ("account",),
    "operators": ("owner", "operator"),
    "min_deposits": ("recipient",),
    "bonds": ("sender", "recipient"),
}


@dataclass(frozen=True, slots=True)
class Projection:
    """What one event does (the module docstring explains each field)."""

    table: str | None = None
    key: Callable[[DecodedLog], Key] | None = None
    row: RowFn | None = None
    history: Callable[[Args], Row] | None = None
    change: str | None = None
    touches: Touches | None = None


def text_key_hex(log: DecodedLog) -> str:
    """The identity of a ``TextChanged`` key: ``0x`` hex of its raw bytes (its text form may have lost some)."""
    raw = log.raw.get("key")
    return "0x" + (raw if raw is not None else log.args["key"].encode()).hex()


# --- keys and rows ---------------------------------------------------------------------------------------------


def _node(log: DecodedLog) -> Key:
    return (log.args["node"],)


def _pair(log: DecodedLog) -> Key:
    return (log.args["sender"], log.args["recipient"])


def _name_registered(log: DecodedLog, key: Key, previous: Row | None, parents: Mapping[str, str]) -> Row:
    a = log.args
    parent = parents.get(a["parent"])
    return {
        "node": a["node"],
        "label": a["label"],
        "parent_node": a["parent"],
        "name": f"{a['label']}.{parent}" if parent else None,
        "owner": a["owner"],
    }


def _transfer(log: DecodedLog, key: Key, previous: Row | None, parents: Mapping[str, str]) -> Row:
    """A new owner; a node never registered here (not possible on-chain) gets a row without label."""
    row = dict(previous) if previous else {"node": key[0], "label": "", "parent_node": "", "name": None}
    row["owner"] = log.args["owner"]
    return row


def _operator(log: DecodedLog, key: Key, previous: Row | None, parents: Mapping[str, str]) -> Row:
    a = log.args
    return {"owner": a["owner"], "operator": a["operator"], "approved": a["approved"]}


def _text(log: DecodedLog, key: Key, previous: Row | None, parents: Mapping[str, str]) -> Row | None:
    a = log.args
    if not a["value"]:
        return None
    return {"node": a["node"], "key_hex": key[1], "key": a["key"], "value": a["value"]}


def _address(log: DecodedLog, key: Key, previous: Row | None, parents: Mapping[str, str]) -> Row | None:
    a = log.args
    if a["newAddress"] == "0x":
        return None
    return {"node": a["node"], "coin_type": a["coinType"], "address": a["newAddress"]}


def _contenthash(log: DecodedLog, key: Key, previous: Row | None, parents: Mapping[str, str]) -> Row | None:
    a = log.args
    return {"node": a["node"], "hash": a["hash"]} if a["hash"] != "0x" else None


def _primary_name(log: DecodedLog, key: Key, previous: Row | None, parents: Mapping[str, str]) -> Row | None:
    a = log.args
    return {"account": a["account"], "name": a["name"]} if a["name"] else None


def _min_deposit(log: DecodedLog, key: Key, previous: Row | None, parents: Mapping[str, str]) -> Row:
    return {"recipient": log.args["recipient"], "amount": log.args["amount"]}


def _bond_event(kind: str, *, bond: Callable[[Args], Row], history: Callable[[Args], Row]) -> Projection:
    """A deposit event: overwrites the pair's bond with ``bond(args)`` and appends a ``bond_history`` row."""

    def row(log: DecodedLog, key: Key, previous: Row | None, parents: Mapping[str, str]) -> Row:
        sender, recipient = key
        pair = (
            dict(previous)
            if previous
            else {
                "sender": sender,
                "recipient": recipient,
                "amount": 0,
                "accepted": False,
                "unlock_time": None,
            }
        )
        pair.update(bond(log.args))
        return pair

    return Projection(table="bonds", key=_pair, row=row, history=history, change=kind, touches="bond")


# --- the table -------------------------------------------------------------------------------------------------

#: Every event the indexer consumes (``chain/abi.py``) -> what it does.
PROJECTIONS: dict[str, Projection] = {
    # ProfileRegistry
    "NameRegistered": Projection(
        table="names", key=_node, row=_name_registered, change="name_registered", touches="profile"
    ),
    "Transfer": Projection(table="names", key=_node, row=_transfer, change="transfer", touches="profile"),
    "ApprovalForAll": Projection(
        table="operators", key=lambda log: (log.args["owner"], log.args["operator"]), row=_operator
    ),
    "TextChanged": Projection(
        table="text_records",
        key=lambda log: (log.args["node"], text_key_hex(log)),
        row=_text,
        change="text",
        touches="profile",
    ),
    # The legacy ETH-address event: its row is written by the AddressChanged(coin type 60) logged with it.
    "AddrChanged": Projection(change="addr", touches="profile"),
    "AddressChanged": Projection(
        table="addr_records",
        key=lambda log: (log.args["node"], log.args["coinType"]),
        row=_address,
        change="address",
        touches="profile",
    ),
    "ContenthashChanged": Projection(
        table="contenthashes", key=_node, row=_contenthash, change="contenthash", touches="profile"
    ),
    "PrimaryNameChanged": Projection(
        table="primary_names", key=lambda log: (log.args["account"],), row=_primary_name
    ),
    # InboxDeposits
    "MinDepositSet": Projection(
        table="min_deposits",
        key=lambda log: (log.args["recipient"],),
        row=_min_deposit,
        change="min_deposit",
        touches="price",
    ),
    "Deposited": _bond_event(
        "deposit",
        bond=lambda a: {"amount": a["bond"]},
        history=lambda a: {"amount": a["amount"], "bond_after": a["bond"], "counterparty": a["payer"]},
    ),
    "Burned": _bond_event(
        "burn",
        bond=lambda a: {"amount": a["bond"]},
        history=lambda a: {"amount": a["amount"], "bond_after": a["bond"]},
    ),
    "Released": _bond_event(
        "release",
        bond=lambda a: {"amount": a["bond"], "accepted": True},
        history=lambda a: {"amount": a["bond"], "bond_after": a["bond"]},
    ),
    "WithdrawalRequested": _bond_event(
        "withdrawal_request",
        bond=lambda a: {"amount": a["bond"], "unlock_time": a["unlock_time"]},
        history=lambda a: {"amount": a["bond"], "bond_after": a["bond"], "unlock_time": a["unlock_time"]},
    ),
    "Withdrawn": _bond_event(
        "withdrawal",
        bond=lambda a: {"amount": 0, "unlock_time": None},
        history=lambda a: {"amount": a["amount"], "bond_after": 0, "counterparty": a["receiver"]},
    ),
    "Paused": Projection(),
    "Unpaused": Projection(),
    "ExcessSwept": Projection(),
}

#: ``changes.kind`` per event: the events that can change an eligibility answer or a profile (what a delivery
#: node caches). The other events get no change row.
CHANGE_KINDS: dict[str, str] = {event: p.change for event, p in PROJECTIONS.items() if p.change is not None}


def kinds_touching(what: Touches) -> frozenset[str]:
    """The change kinds of the events that change a delivery node's ``what`` (a bond, a price, a profile)."""
    return frozenset(p.change for p in PROJECTIONS.values() if p.touches == what and p.change is not None)


# --- applying the table ----------------------------------------------------------------------------------------


class Encoded(str):
    """A JSON value already serialised (``events.args`` and ``changes.args`` of one log share one encoding)."""

    __slots__ = ()


def encoded_args(log: DecodedLog) -> Encoded:
    """``log``'s args as stored, as JSON text (prepared ahead by the fetch process, or encoded now)."""
    return Encoded(log.args_json if log.args_json is not None else stored_args_json(log.args))


class Projector:
    """The table applied to the logs of one chain: the rows each log becomes (the writer stores them)."""

    def __init__(self, chain_id: int, *, parent_name: str = "") -> None:
        """``parent_name``: the chain's parent name (names registered under it and its ``addr.`` subname get
        their full name)."""
        self.chain_id = chain_id
        self.parents: dict[str, str] = {}
        if parent_name:
            self.parents[node_hex(parent_name)] = parent_name
            self.parents[node_hex("addr." + parent_name)] = "addr." + parent_name

    def log_rows(self, log: DecodedLog, *, encoded: bool = False) -> tuple[Row, Row | None]:
        """The ``events`` row of ``log`` and its ``changes`` apply row (None for events outside the feed); their
        ``args`` (one object for both) as a dict (:func:`json_args`) or, ``encoded``, as JSON text."""
        args: Args = encoded_args(log) if encoded else json_args(log.args)  # type: ignore[assignment]
        event = {
            "chain_id": self.chain_id,
            "block_number": log.block_number,
            "block_hash": log.block_hash,
            "tx_hash": log.tx_hash,
            "log_index": log.log_index,
            "contract": log.contract,
            "address": log.address,
            "event": log.event,
            "args": args,
        }
        kind = PROJECTIONS[log.event].change
        if kind is None:
            return event, None
        a = log.args
        change = {
            "action": "apply",
            "ref_id": None,
            "chain_id": self.chain_id,
            "block_number": log.block_number,
            "block_hash": log.block_hash,
            "tx_hash": log.tx_hash,
            "log_index": log.log_index,
            "occurrence": 0,
            "event": log.event,
            "kind": kind,
            "sender": a.get("sender"),
            "recipient": a.get("recipient"),
            "node": a.get("node"),
            "signer": None,  # relay rows only (relayer/feed.py)
            "args": args,
        }
        return event, change

    @staticmethod
    def touched(log: DecodedLog) -> tuple[str, Key] | None:
        """The state table and key ``log`` overwrites (None: it writes no state row)."""
        p = PROJECTIONS[log.event]
        if p.table is None or p.key is None:
            return None
        return p.table, p.key(log)

    def next_row(self, log: DecodedLog, key: Key, previous: Row | None) -> Row | None:
        """The row ``log`` leaves behind for ``key`` after ``previous`` (None = no row)."""
        p = PROJECTIONS[log.event]
        assert p.row is not None, f"{log.event} writes no state row"
        row = p.row(log, key, previous, self.parents)
        if row is not None:
            row["chain_id"] = self.chain_id
            row["block_number"] = log.block_number
        return row

    def history_row(self, log: DecodedLog, key: Key) -> Row | None:
        """The ``bond_history`` row of ``log`` on the pair ``key`` (None: not a deposit event)."""
        p = PROJECTIONS[log.event]
        if p.history is None:
            return None
        sender, recipient = key
        return {
            "chain_id": self.chain_id,
            "tx_hash": log.tx_hash,
            "log_index": log.log_index,
            "block_number": log.block_number,
            "sender": sender,
            "recipient": recipient,
            "kind": p.change,
            "counterparty": None,
            "unlock_time": None,
            **p.history(log.args),
        }
