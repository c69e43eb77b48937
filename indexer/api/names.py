"""Addresses and names as the API accepts them, and name resolution through the indexed registries.

A name resolves on the chain whose registry serves its parent (`chains.parent_name`, longest match):
- `<40 hex>.addr.<parent>` is that address, registered or not (every address owns its address name);
- any other name resolves to its coin-60 `addr` record if one is set (20 bytes, not zero), else to its owner;
- a name that is not registered, or whose parent no indexed chain serves, does not resolve (None).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from eth_utils import is_address, is_checksum_address
from sqlmodel import Session

from indexer.api.errors import ApiError
from indexer.gateway.codec import ETH_COIN_TYPE, namehash
from indexer.store.models import AddrRecord, Chain, Name

ZERO_ADDRESS = "0x" + "00" * 20
MAX_NAME_LENGTH = 255
_LABEL = re.compile(r"^[^\s./\\?#%:@]+$")
_ADDRESS_LABEL = re.compile(r"^[0-9a-f]{40}$")


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


def resolve_name(session: Session, name: str, chains: list[Chain]) -> ResolvedName | None:
    """Resolve `name` through the indexed registry of its parent; None when no indexed chain serves it."""
    chain = chain_for_name(name, chains)
    if chain is None:
        return None
    node = "0x" + namehash(name).hex()
    row = session.get(Name, (chain.chain_id, node))
    owner = row.owner if row is not None else None
    address: str | None = None
    prefix = name[: -len(chain.parent_name) - 1]
    label, _, rest = prefix.partition(".")
    if rest == "addr" and _ADDRESS_LABEL.match(label):
        address = "0x" + label
        owner = owner or address
    elif row is not None:
        record = session.get(AddrRecord, (chain.chain_id, node, ETH_COIN_TYPE))
        if record is not None and len(record.address) == 42 and record.address != ZERO_ADDRESS:
            address = record.address.lower()
        elif owner and owner != ZERO_ADDRESS:
            address = owner
    return ResolvedName(
        name=name, node=node, chain=chain, address=address, owner=owner, registered=row is not None
    )


def target_address(session: Session, target: Target, chains: list[Chain]) -> str | None:
    if target.address is not None:
        return target.address
    assert target.name is not None
    resolved = resolve_name(session, target.name, chains)
    return resolved.address if resolved is not None else None
