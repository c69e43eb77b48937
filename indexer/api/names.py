"""Addresses and names as the API accepts them, and name resolution through the indexed registries.

A name resolves on the chain whose registry serves its parent (`chains.parent_name`, longest match):
- `<40 hex>.addr.<parent>` is that address, registered or not (every address owns its address name);
- any other name resolves to what its registry's `addr(node)` answers (the coin-60 record, else the ENSIP-19
  default EVM address, `indexer.ens.address_for_coin`) when that is a non-zero address, else to its owner;
- a name that is not registered, or whose parent no indexed chain serves, does not resolve (None).
Names are taken in any form ENSIP-15 normalises (`Alice.OP.dm3.eth` is `alice.op.dm3.eth`, as in every ENS client);
one it cannot normalise is a 422 with the normaliser's reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from eth_utils import is_address, is_checksum_address
from sqlalchemy import ColumnElement, Table, and_, bindparam, select
from sqlalchemy.sql import Select
from sqlalchemy.sql.selectable import NamedFromClause
from sqlmodel import Session

from indexer.api.errors import ApiError
from indexer.api.prepared import placeholders, values_rows
from indexer.ens import (
    DEFAULT_EVM_COIN_TYPE,
    ETH_COIN_TYPE,
    MAX_NAME_INPUT_CHARS,
    InvalidEnsName,
    address_for_coin,
    is_plain,
    node_hex,
    normalize_name,
)
from indexer.store.models import AddrRecord, Chain, Name
from indexer.store.types import Uint256

ZERO_ADDRESS = "0x" + "00" * 20
# The longest normalised name taken, in UTF-8 bytes: a DNS name's limit, and the longest primary name the registry
# stores (String[255]); registered names are shorter still (63-byte labels).
MAX_NAME_BYTES = 255
# The coin types whose records decide what `addr(node)` answers (the record, else the default EVM address).
ADDR_COIN_TYPES = (ETH_COIN_TYPE, DEFAULT_EVM_COIN_TYPE)
_ADDRESS_LABEL = re.compile(r"^[0-9a-f]{40}$")
_LOWERCASE_ADDRESS = re.compile(r"0x[0-9a-f]{40}\Z")
_NAMES: Table = Name.__table__  # type: ignore[attr-defined]
_ADDRS: Table = AddrRecord.__table__  # type: ignore[attr-defined]
_FEW_NAMES = 4
#: Inputs whose ENSIP-15 outcome (normal form or reason) and namehash are kept (an LRU each): normalising a name takes
#: 0.1-1 ms and its namehash two keccaks per label, and delivery nodes ask about the same names again and again.
NAME_CACHE_SIZE = 16_384
_ETH_ADDRS = _ADDRS.alias("eth_addr")
_DEFAULT_ADDRS = _ADDRS.alias("default_addr")


def _record_of_name(records: NamedFromClause, coin_type: int) -> ColumnElement[bool]:
    return and_(
        records.c.chain_id == _NAMES.c.chain_id,
        records.c.node == _NAMES.c.node,
        records.c.coin_type == coin_type,
    )


# A name's owner and the two address records `addr(node)` reads (coin 60, else the ENSIP-19 default).
_NAME_AND_RECORDS: Select[Any] = (
    select(_NAMES.c.chain_id, _NAMES.c.node, _NAMES.c.owner, _ETH_ADDRS.c.address, _DEFAULT_ADDRS.c.address)
    .select_from(
        _NAMES.outerjoin(_ETH_ADDRS, _record_of_name(_ETH_ADDRS, ETH_COIN_TYPE)).outerjoin(
            _DEFAULT_ADDRS, _record_of_name(_DEFAULT_ADDRS, DEFAULT_EVM_COIN_TYPE)
        )
    )
    .where(_NAMES.c.chain_id == bindparam("chain_id"), _NAMES.c.node == bindparam("node"))
)


@dataclass(frozen=True)
class Target:
    """A sender or recipient as given (`raw`): an address (lowercase) or a name (ENSIP-15 normal form)."""

    raw: str
    address: str | None
    name: str | None


@dataclass(frozen=True)
class ResolvedName:
    name: str
    node: str  # 0x hex
    chain: Chain
    address: str | None
    owner: str | None
    registered: bool


def parse_address(value: str, *, what: str = "address") -> str:
    """A lowercase 0x address; mixed case must be a valid EIP-55 checksum."""
    if _LOWERCASE_ADDRESS.match(value):  # the usual form, checked in a fraction of eth_utils' time
        return value
    body = value[2:]
    mixed_case = body != body.lower() and body != body.upper()
    if not is_address(value) or not value.startswith("0x") or (mixed_case and not is_checksum_address(value)):
        raise ApiError(
            f"{what} {value[:80]!r} is not a 0x-prefixed 20-byte address (or has a bad checksum)", status=422
        )
    return value.lower()


def parse_name(value: str, *, what: str = "name") -> str:
    """`value` in ENSIP-15 normal form, the form ENS clients hash; 422 with the reason when it has none, is not
    under a top-level name or is longer than MAX_NAME_BYTES. (`value[:80]!r` keeps the message JSON-safe whatever
    the input holds: repr escapes lone surrogates and control characters.)"""
    name, reason = _normal_form(value) if len(value) <= MAX_NAME_INPUT_CHARS else _outcome(value)
    if name is None:
        raise ApiError(f"{what} {value[:80]!r} is not a valid ENS name: {reason}", status=422)
    return name


def _outcome(value: str) -> tuple[str, None] | tuple[None, str]:
    """`parse_name`'s outcome without the message: the normal form, or why there is none."""
    try:
        # A plain name (the usual one) is its own normal form: no normaliser run (~0.1 ms per name not yet cached).
        name = value if len(value) <= MAX_NAME_INPUT_CHARS and is_plain(value) else normalize_name(value)
    except InvalidEnsName as error:
        return None, error.reason
    if "." not in name:
        return None, "empty" if not name else "a top-level name, not a name under one"
    if len(name.encode()) > MAX_NAME_BYTES:
        return None, f"longer than {MAX_NAME_BYTES} bytes"
    return name, None


#: `_outcome`, cached for the inputs normalisation looks at (longer ones are refused at once).
_normal_form = lru_cache(maxsize=NAME_CACHE_SIZE)(_outcome)
#: `indexer.ens.node_hex` of a normalised name, cached (see NAME_CACHE_SIZE).
node_of = lru_cache(maxsize=NAME_CACHE_SIZE)(node_hex)


def parse_target(value: str, *, what: str) -> Target:
    if value.startswith(("0x", "0X")) and "." not in value:
        return Target(raw=value, address=parse_address(value, what=what), name=None)
    return Target(raw=value, address=None, name=parse_name(value, what=what))


class ParentChain(Protocol):
    """What name resolution needs of a chain: a `Chain` row, or the in-memory state's copy of its parent name."""

    @property
    def chain_id(self) -> int: ...
    @property
    def parent_name(self) -> str: ...


C = TypeVar("C", bound=ParentChain)


def chain_for_name(name: str, chains: Sequence[C]) -> C | None:
    matches = [
        c for c in chains if c.parent_name and (name == c.parent_name or name.endswith("." + c.parent_name))
    ]
    return max(matches, key=lambda c: len(c.parent_name)) if matches else None


def address_name(name: str, chain: ParentChain) -> str | None:
    """The address of an address name `<40 hex>.addr.<parent>` (owned by that address, registered or not)."""
    label, _, rest = name[: -len(chain.parent_name) - 1].partition(".")
    return "0x" + label if rest == "addr" and _ADDRESS_LABEL.match(label) else None


def record_address(records: Mapping[int, str], owner: str | None) -> str | None:
    """What a name resolves to, from its coin-60 and default-EVM address records (0x hex by coin type): the
    address `addr(node)` answers when it is a 20-byte, non-zero one, else the name's owner."""
    record = address_for_coin(ETH_COIN_TYPE, records.get)
    if record is not None and len(record) == 42 and record != ZERO_ADDRESS:
        return record.lower()
    return owner if owner and owner != ZERO_ADDRESS else None


def records_of(eth: str | None, default: str | None) -> dict[int, str]:
    """The records `record_address` reads, from the coin-60 and default-EVM addresses (None: no record)."""
    found = zip(ADDR_COIN_TYPES, (eth, default), strict=True)
    return {coin_type: address for coin_type, address in found if address is not None}


def resolve_name(session: Session, name: str, chains: list[Chain]) -> ResolvedName | None:
    """Resolve `name` through the indexed registry of its parent; None when no indexed chain serves it."""
    chain = chain_for_name(name, chains)
    if chain is None:
        return None
    node = node_of(name)
    row = session.get(Name, (chain.chain_id, node))
    owner = row.owner if row is not None else None
    address: str | None = address_name(name, chain)
    if address is not None:
        owner = owner or address
    elif row is not None:
        records = [session.get(AddrRecord, (chain.chain_id, node, coin)) for coin in ADDR_COIN_TYPES]
        address = record_address(records_of(*(r.address if r is not None else None for r in records)), owner)
    return ResolvedName(
        name=name, node=node, chain=chain, address=address, owner=owner, registered=row is not None
    )


def resolve_addresses(session: Session, names: Iterable[str], chains: list[Chain]) -> dict[str, str | None]:
    """What each name resolves to (the `address` of `resolve_name`): one query per name for a few names, one
    query for all of them beyond that."""
    out: dict[str, str | None] = {}
    lookups: dict[tuple[int, str], str] = {}  # (chain_id, node) -> name
    for name in set(names):
        chain = chain_for_name(name, chains)
        address = address_name(name, chain) if chain is not None else None
        out[name] = address
        if chain is not None and address is None:
            lookups[(chain.chain_id, node_of(name))] = name
    if not lookups:
        return out
    if len(lookups) <= _FEW_NAMES:  # a cached statement per name beats compiling a VALUES list each time
        rows = [
            row
            for chain_id, node in lookups
            for row in session.execute(_NAME_AND_RECORDS, {"chain_id": chain_id, "node": node})
        ]
    else:  # one query: the names as a VALUES list joined to `names` (primary key probes) and their records
        connection = session.connection()
        dialect = connection.dialect
        record_join = "LEFT JOIN addr_records {a} ON {a}.chain_id = n.chain_id AND {a}.node = n.node AND {a}.coin_type = "
        sql = (
            f"WITH wanted(chain_id, node) AS (VALUES {values_rows(dialect, rows=len(lookups), columns=2)}) "
            "SELECT n.chain_id, n.node, n.owner, e.address, d.address FROM wanted "
            "JOIN names n ON n.chain_id = wanted.chain_id AND n.node = wanted.node "
            + record_join.format(a="e")
            + placeholders(dialect, 1)
            + " "
            + record_join.format(a="d")
            + placeholders(dialect, 1)
        )
        coin_types = (Uint256().process_bind_param(coin, dialect) for coin in ADDR_COIN_TYPES)
        params = (*(value for key in sorted(lookups) for value in key), *coin_types)
        rows = list(connection.exec_driver_sql(sql, params))
    found = {
        (chain_id, node): (owner, records_of(eth, default)) for chain_id, node, owner, eth, default in rows
    }
    for key, name in lookups.items():
        if key in found:
            owner, records = found[key]
            out[name] = record_address(records, owner)
        else:
            out[name] = None
    return out
