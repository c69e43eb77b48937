"""Addresses and names as the API accepts them, and name resolution through the indexed registries.

A name resolves on the chain whose registry serves its parent (`chains.parent_name`, longest match):
- `<40 hex>.addr.<parent>` is that address, registered or not (every address owns its address name);
- any other name resolves to its coin-60 `addr` record if one is set (20 bytes, not zero), else to its owner;
- a name that is not registered, or whose parent no indexed chain serves, does not resolve (None).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eth_utils import is_address, is_checksum_address
from sqlalchemy import ColumnElement, Table, and_, bindparam, select
from sqlalchemy.sql import Select
from sqlmodel import Session

from indexer.api.errors import ApiError
from indexer.api.prepared import placeholders, values_rows
from indexer.gateway.codec import ETH_COIN_TYPE, namehash
from indexer.store.models import AddrRecord, Chain, Name
from indexer.store.types import Uint256

ZERO_ADDRESS = "0x" + "00" * 20
MAX_NAME_LENGTH = 255
_LABEL = re.compile(r"^[^\s./\\?#%:@]+$")
_ADDRESS_LABEL = re.compile(r"^[0-9a-f]{40}$")
_NAMES: Table = Name.__table__  # type: ignore[attr-defined]
_ADDRS: Table = AddrRecord.__table__  # type: ignore[attr-defined]
_FEW_NAMES = 4


def _name_columns() -> Select[Any]:
    return select(_NAMES.c.chain_id, _NAMES.c.node, _NAMES.c.owner, _ADDRS.c.address)


def _record_of_name() -> ColumnElement[bool]:
    return and_(
        _ADDRS.c.chain_id == _NAMES.c.chain_id,
        _ADDRS.c.node == _NAMES.c.node,
        _ADDRS.c.coin_type == ETH_COIN_TYPE,
    )


_NAME_AND_RECORD = (
    _name_columns()
    .select_from(_NAMES.outerjoin(_ADDRS, _record_of_name()))
    .where(_NAMES.c.chain_id == bindparam("chain_id"), _NAMES.c.node == bindparam("node"))
)


@dataclass(frozen=True)
class Target:
    """A sender or recipient as given: an address (lowercase) or a name (lowercase)."""

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
    body = value[2:]
    mixed_case = body != body.lower() and body != body.upper()
    if not is_address(value) or not value.startswith("0x") or (mixed_case and not is_checksum_address(value)):
        raise ApiError(
            f"{what} {value[:80]!r} is not a 0x-prefixed 20-byte address (or has a bad checksum)", status=422
        )
    return value.lower()


def parse_name(value: str, *, what: str = "name") -> str:
    name = value.strip().lower()
    labels = name.split(".")
    if (
        not name
        or len(name) > MAX_NAME_LENGTH
        or len(labels) < 2
        or not all(_LABEL.match(lb) for lb in labels)
    ):
        raise ApiError(f"{what} {value[:80]!r} is not a valid ENS name", status=422)
    return name


def parse_target(value: str, *, what: str) -> Target:
    if value.startswith(("0x", "0X")) and "." not in value:
        return Target(raw=value, address=parse_address(value, what=what), name=None)
    return Target(raw=value, address=None, name=parse_name(value, what=what))


def chain_for_name(name: str, chains: list[Chain]) -> Chain | None:
    matches = [
        c for c in chains if c.parent_name and (name == c.parent_name or name.endswith("." + c.parent_name))
    ]
    return max(matches, key=lambda c: len(c.parent_name)) if matches else None


def _address_name(name: str, chain: Chain) -> str | None:
    """The address of an address name `<40 hex>.addr.<parent>` (owned by that address, registered or not)."""
    label, _, rest = name[: -len(chain.parent_name) - 1].partition(".")
    return "0x" + label if rest == "addr" and _ADDRESS_LABEL.match(label) else None


def _record_address(record: str | None, owner: str | None) -> str | None:
    """A name's coin-60 `addr` record when it holds a 20-byte, non-zero address, else its owner."""
    if record is not None and len(record) == 42 and record != ZERO_ADDRESS:
        return record.lower()
    return owner if owner and owner != ZERO_ADDRESS else None


def resolve_name(session: Session, name: str, chains: list[Chain]) -> ResolvedName | None:
    """Resolve `name` through the indexed registry of its parent; None when no indexed chain serves it."""
    chain = chain_for_name(name, chains)
    if chain is None:
        return None
    node = "0x" + namehash(name).hex()
    row = session.get(Name, (chain.chain_id, node))
    owner = row.owner if row is not None else None
    address: str | None = _address_name(name, chain)
    if address is not None:
        owner = owner or address
    elif row is not None:
        record = session.get(AddrRecord, (chain.chain_id, node, ETH_COIN_TYPE))
        address = _record_address(record.address if record is not None else None, owner)
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
        address = _address_name(name, chain) if chain is not None else None
        out[name] = address
        if chain is not None and address is None:
            lookups[(chain.chain_id, "0x" + namehash(name).hex())] = name
    if not lookups:
        return out
    if len(lookups) <= _FEW_NAMES:  # a cached statement per name beats compiling a VALUES list each time
        rows = [
            row
            for chain_id, node in lookups
            for row in session.execute(_NAME_AND_RECORD, {"chain_id": chain_id, "node": node})
        ]
    else:  # one query: the names as a VALUES list joined to `names` (primary key probes) and their records
        connection = session.connection()
        dialect = connection.dialect
        sql = (
            f"WITH wanted(chain_id, node) AS (VALUES {values_rows(dialect, rows=len(lookups), columns=2)}) "
            "SELECT n.chain_id, n.node, n.owner, a.address FROM wanted "
            "JOIN names n ON n.chain_id = wanted.chain_id AND n.node = wanted.node "
            "LEFT JOIN addr_records a ON a.chain_id = n.chain_id AND a.node = n.node AND a.coin_type = "
            + placeholders(dialect, 1)
        )
        coin_type = Uint256().process_bind_param(ETH_COIN_TYPE, dialect)
        params = (*(value for key in sorted(lookups) for value in key), coin_type)
        rows = list(connection.exec_driver_sql(sql, params))
    found = {(chain_id, node): (owner, record) for chain_id, node, owner, record in rows}
    for key, name in lookups.items():
        owner, record = found.get(key, (None, None))
        out[name] = _record_address(record, owner) if key in found else None
    return out
