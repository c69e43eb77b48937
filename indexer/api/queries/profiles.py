"""A name's records as one profile: owner, addresses, text records and the parsed, signature-checked dm3 profile."""

from __future__ import annotations

from sqlmodel import Session, select

from indexer.api.names import ResolvedName, resolve_name
from indexer.api.queries.envelope import envelope, facts_finality
from indexer.api.schemas import DeliveryService, Dm3Profile, ProfileResponse
from indexer.dm3.profile import (
    DELIVERY_SERVICE_KEY,
    PROFILE_KEY,
    ProfileError,
    check_profile_signature,
    parse_delivery_service_record,
    parse_profile_record,
)
from indexer.ens import is_normalized
from indexer.store.models import AddrRecord, Chain, Contenthash, PrimaryName, TextRecord


def dm3_profile(value: str, *, address: str | None) -> Dm3Profile:
    record = parse_profile_record(value)
    if isinstance(record, ProfileError):
        return Dm3Profile(kind=None, error=record.message)
    signed = record.signed_profile
    if signed is None:
        return Dm3Profile(kind=record.kind, url=record.url, dm3_hash=record.dm3_hash)
    return Dm3Profile(
        kind=record.kind,
        dm3_hash=record.dm3_hash,
        public_encryption_key=signed.profile.public_encryption_key,
        public_signing_key=signed.profile.public_signing_key,
        delivery_services=list(signed.profile.delivery_services),
        signature=signed.signature,
        signature_valid=address is not None and check_profile_signature(signed, address),
    )


def delivery_service(value: str) -> DeliveryService:
    parsed = parse_delivery_service_record(value)
    if isinstance(parsed, ProfileError):
        return DeliveryService(error=parsed.message)
    return DeliveryService(
        public_signing_key=parsed.public_signing_key,
        public_encryption_key=parsed.public_encryption_key,
        url=parsed.url,
    )


def exact_key(row: TextRecord) -> str | None:
    """The record's key exactly as on-chain (from its raw bytes; NUL included), or None when the key is not UTF-8
    and so has no JSON string (the CCIP gateway still serves it by its bytes)."""
    if row.key_hex is None:
        return row.key
    try:
        return bytes.fromhex(row.key_hex[2:]).decode("utf-8")
    except UnicodeDecodeError:
        return None


def build_profile(session: Session, resolved: ResolvedName) -> ProfileResponse | None:
    """The profile of a resolved name; None when the name is neither registered nor holds any record."""
    chain_id, node = resolved.chain.chain_id, resolved.node
    texts = list(
        session.exec(select(TextRecord).where(TextRecord.chain_id == chain_id, TextRecord.node == node))
    )
    addrs = list(
        session.exec(select(AddrRecord).where(AddrRecord.chain_id == chain_id, AddrRecord.node == node))
    )
    content = session.get(Contenthash, (chain_id, node))
    if not resolved.registered and not texts and not addrs and content is None:
        return None
    text_map = {key: row.value for row in texts if (key := exact_key(row)) is not None}
    text_map = dict(sorted(text_map.items()))
    blocks = [r.block_number for r in texts] + [r.block_number for r in addrs]
    if content is not None:
        blocks.append(content.block_number)
    profile_value = text_map.get(PROFILE_KEY)
    service_value = text_map.get(DELIVERY_SERVICE_KEY)
    return ProfileResponse(
        name=resolved.name,
        node=node,
        owner=resolved.owner,
        address=resolved.address,
        addresses={str(row.coin_type): row.address for row in sorted(addrs, key=lambda r: r.coin_type)},
        texts=text_map,
        contenthash=content.hash if content is not None else None,
        dm3_profile=dm3_profile(profile_value, address=resolved.address)
        if profile_value is not None
        else None,
        delivery_service=delivery_service(service_value) if service_value is not None else None,
        envelope=envelope(resolved.chain, facts_finality(resolved.chain, *blocks)),
    )


def profile_for_name(session: Session, name: str, chains: list[Chain]) -> ProfileResponse | None:
    resolved = resolve_name(session, name, chains)
    return build_profile(session, resolved) if resolved is not None else None


def profile_for_address(session: Session, address: str, chains: list[Chain]) -> ProfileResponse | None:
    """The profile an address publishes: its primary name's (when that name is normalised and resolves back to the
    address), else its address name's `<hex>.addr.<parent>`; chains in `chain_id` order, the first profile holding
    a dm3 record wins, else the first with any record."""
    candidates: list[str] = []
    for chain in chains:
        primary = session.get(PrimaryName, (chain.chain_id, address))
        # A primary name not in ENSIP-15 normal form is no primary name (ENS clients ignore such a record too).
        if primary is not None and primary.name and is_normalized(primary.name):
            candidates.append(primary.name)
    candidates += [f"{address[2:]}.addr.{chain.parent_name}" for chain in chains if chain.parent_name]
    fallback: ProfileResponse | None = None
    for name in dict.fromkeys(candidates):
        resolved = resolve_name(session, name, chains)
        if resolved is None or resolved.address != address:
            continue
        profile = build_profile(session, resolved)
        if profile is None:
            continue
        if profile.dm3_profile is not None:
            return profile
        fallback = fallback or profile
    return fallback
