"""Chain rows as the API uses them: selection by `chain_id`, envelopes and finality tiers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlmodel import Session, select

from indexer.api.errors import ApiError
from indexer.api.schemas import Envelope, Finality
from indexer.store.models import Chain, finality_of

FINALITY_RANK: dict[str, int] = {"latest": 0, "safe": 1, "finalized": 2}


def load_chains(session: Session, chain_id: int | None = None) -> list[Chain]:
    """Every indexed chain, or only `chain_id` (404 when it is not indexed)."""
    query = select(Chain).order_by(Chain.chain_id)  # type: ignore[arg-type]
    if chain_id is not None:
        query = query.where(Chain.chain_id == chain_id)
    chains = list(session.exec(query))
    if chain_id is not None and not chains:
        raise ApiError(f"chain {chain_id} is not indexed", status=404)
    return chains


class ChainTips(Protocol):
    """What an answer needs of a `chains` row: a `Chain`, or a `ChainRow` read by a leaner query."""

    @property
    def chain_id(self) -> int: ...
    @property
    def indexed_block(self) -> int | None: ...
    @property
    def indexed_block_hash(self) -> str | None: ...
    @property
    def indexed_block_timestamp(self) -> int | None: ...
    @property
    def safe_block(self) -> int | None: ...
    @property
    def finalized_block(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class ChainRow:
    chain_id: int
    indexed_block: int | None
    indexed_block_hash: str | None
    indexed_block_timestamp: int | None
    safe_block: int | None
    finalized_block: int | None


def facts_finality(chain: ChainTips, *block_numbers: int | None) -> Finality:
    """The weakest finality tier among the rows that decided an answer; None stands for a missing row.

    A present row has held since its block, so it is as final as that block. A missing row carries no block: it
    may have been missing since genesis, or deleted in the snapshot's own block, and a reorg can add it (back).
    So a missing row, like an answer that used no row at all, counts at the snapshot block (the chain's indexed
    block): it is `finalized` only once that block is.
    """
    snapshot = chain.indexed_block
    numbers = [snapshot if number is None else number for number in block_numbers] or [snapshot]
    tiers = [finality_of(number, chain) if number is not None else "latest" for number in numbers]
    return min(tiers, key=FINALITY_RANK.__getitem__)


def envelope(chain: ChainTips, finality: Finality) -> Envelope:
    return Envelope(
        chain_id=chain.chain_id,
        block_number=chain.indexed_block,
        block_hash=chain.indexed_block_hash,
        block_timestamp=chain.indexed_block_timestamp,
        finality=finality,
    )


def at_least(tier: Finality, required: Finality) -> bool:
    return FINALITY_RANK[tier] >= FINALITY_RANK[required]
