"""Bonds by sender or recipient (keyset-paginated) and per-recipient statistics."""

from __future__ import annotations

import base64
import binascii
import json
import re

from sqlalchemy import ColumnElement, func, tuple_
from sqlmodel import Session, col, select

from indexer.api.errors import ApiError
from indexer.api.queries.envelope import envelope, facts_finality
from indexer.api.schemas import MAX_CHAIN_ID, BondOut, DepositsPage, RecipientChainStats, RecipientResponse
from indexer.store.models import Bond, BondHistory, Chain, MinDeposit, finality_of


def encode_cursor(bond: Bond) -> str:
    raw = json.dumps([bond.chain_id, bond.sender, bond.recipient], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_STORED_ADDRESS = re.compile(r"0x[0-9a-f]{40}")


def decode_cursor(cursor: str) -> tuple[int, str, str]:
    """The (chain_id, sender, recipient) key `encode_cursor` wrote: a BIGINT and two stored (lowercase)
    addresses, or a 422. The text is the client's: a lone surrogate or a NUL in it must not reach the database."""
    try:
        chain_id, sender, recipient = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not (
            type(chain_id) is int
            and 0 <= chain_id <= MAX_CHAIN_ID
            and isinstance(sender, str)
            and _STORED_ADDRESS.fullmatch(sender)
            and isinstance(recipient, str)
            and _STORED_ADDRESS.fullmatch(recipient)
        ):
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise ApiError("cursor is not one this API issued", status=422) from error
    return chain_id, sender, recipient


def list_bonds(
    session: Session,
    *,
    chains: list[Chain],
    sender: str | None,
    recipient: str | None,
    limit: int,
    cursor: str | None,
) -> DepositsPage:
    by_id = {chain.chain_id: chain for chain in chains}
    filters: list[ColumnElement[bool]] = [col(Bond.chain_id).in_(list(by_id))]
    if sender is not None:
        filters.append(col(Bond.sender) == sender)
    if recipient is not None:
        filters.append(col(Bond.recipient) == recipient)
    count = session.exec(select(func.count()).select_from(Bond).where(*filters)).one()
    query = select(Bond).where(*filters)
    if cursor is not None:
        query = query.where(
            tuple_(Bond.chain_id, Bond.sender, Bond.recipient) > tuple_(*decode_cursor(cursor))
        )
    query = query.order_by(col(Bond.chain_id), col(Bond.sender), col(Bond.recipient)).limit(limit + 1)
    rows = list(session.exec(query))
    page, more = rows[:limit], len(rows) > limit
    data = [
        BondOut(
            chain_id=row.chain_id,
            sender=row.sender,
            recipient=row.recipient,
            bond=str(row.amount),
            accepted=row.accepted,
            withdrawal_pending=row.unlock_time is not None,
            unlock_time=row.unlock_time,
            block_number=row.block_number,
            finality=finality_of(row.block_number, by_id[row.chain_id]),
        )
        for row in page
    ]
    return DepositsPage(
        data=data,
        count=count,
        next_cursor=encode_cursor(page[-1]) if more else None,
        chains=[
            envelope(
                chain, facts_finality(chain, *[r.block_number for r in page if r.chain_id == chain.chain_id])
            )
            for chain in chains
        ],
    )


def recipient_stats(session: Session, *, address: str, chains: list[Chain]) -> RecipientResponse:
    return RecipientResponse(
        address=address, chains=[_chain_stats(session, chain, address) for chain in chains]
    )


def _chain_stats(session: Session, chain: Chain, address: str) -> RecipientChainStats:
    minimum = session.get(MinDeposit, (chain.chain_id, address))
    bonds = list(session.exec(select(Bond).where(Bond.chain_id == chain.chain_id, Bond.recipient == address)))
    history = list(
        session.exec(
            select(BondHistory.kind, BondHistory.amount, BondHistory.block_number).where(
                BondHistory.chain_id == chain.chain_id, BondHistory.recipient == address
            )
        )
    )
    # Sums in Python: uint256 columns are zero-padded strings on SQLite, where SQL SUM would be wrong.
    open_bonds = [b for b in bonds if b.amount > 0 and not b.accepted and b.unlock_time is None]
    kinds: dict[str, list[int]] = {}
    for kind, amount, _block in history:
        kinds.setdefault(kind, []).append(amount)
    burns, releases = len(kinds.get("burn", [])), len(kinds.get("release", []))
    min_amount = minimum.amount if minimum is not None else 0
    blocks = [minimum.block_number if minimum is not None else None]
    blocks += [b.block_number for b in bonds] + [h[2] for h in history]
    return RecipientChainStats(
        min_deposit=str(min_amount),
        open_inbox=min_amount == 0,
        inbox_configured=minimum is not None,
        open_bonds=len(open_bonds),
        bonded_total=str(sum(b.amount for b in open_bonds)),
        deposits=len(kinds.get("deposit", [])),
        deposited_total=str(sum(kinds.get("deposit", []))),
        burns=burns,
        burned_total=str(sum(kinds.get("burn", []))),
        releases=releases,
        withdrawals=len(kinds.get("withdrawal", [])),
        burn_rate=burns / (burns + releases) if burns + releases else None,
        envelope=envelope(chain, facts_finality(chain, *blocks)),
    )
