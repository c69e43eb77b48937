"""May this sender reach this inbox? The rule (`indexer.eligibility_rule`), evaluated on the indexed state of every
chain: this module reads the facts and says how final they are; the rule decides.

Finality: the answer is evaluated at the indexed head. Its `envelope.finality` is the weakest tier among the rows
that decided it (`eligibility_rule.deciding_facts`): the pair's bond row for `accepted`, the recipient's
min-deposit row for `open_inbox`, both otherwise. A missing row counts at the snapshot block (the chain's indexed
block): it carries no block of its own and a reorg can add it, so an open inbox nobody configured is `finalized`
only once the snapshot block is. With `min_finality` above that tier the chain answers `eligible: false, reason:
"below_min_finality"`.

Reads are set-based: one query for the minimums and one for the bonds of every pair on every chain asked about,
whether the request carries one pair or a thousand (and names resolve in bulk, see `names.resolve_addresses`).
The hot path, one pair of addresses, is a single prepared statement that reads the chains' checkpoints and the
pair's rows together (`address_pair_eligibility`): one statement is one snapshot on every backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, Table, and_, bindparam, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select
from sqlmodel import Session

from indexer import eligibility_rule as rule
from indexer.api.errors import ApiError
from indexer.api.names import Target, resolve_addresses
from indexer.api.prepared import PreparedSelect, placeholders, values_rows
from indexer.api.queries.envelope import ChainRow, ChainTips, at_least, envelope, facts_finality
from indexer.api.schemas import ChainEligibility, EligibilityResponse, Finality
from indexer.store.models import Bond, Chain, MinDeposit

_CHAINS: Table = Chain.__table__  # type: ignore[attr-defined]
_MINS: Table = MinDeposit.__table__  # type: ignore[attr-defined]
_BONDS: Table = Bond.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class BondFacts:
    """The columns of a `bonds` row the rule reads."""

    amount: int
    accepted: bool
    unlock_time: int | None
    block_number: int


@dataclass(frozen=True, slots=True)
class Facts:
    """Every row deciding a set of pairs: minimums by (chain, recipient), bonds by (chain, sender, recipient)."""

    minimums: dict[tuple[int, str], tuple[int, int]]  # -> (amount, block_number)
    bonds: dict[tuple[int, str, str], BondFacts]


#: A chain's checkpoint as an envelope needs it (here and in the in-memory state, api/state.py).
CHECKPOINT_COLUMNS = (
    _CHAINS.c.chain_id,
    _CHAINS.c.indexed_block,
    _CHAINS.c.indexed_block_hash,
    _CHAINS.c.indexed_block_timestamp,
    _CHAINS.c.safe_block,
    _CHAINS.c.finalized_block,
)
#: The columns a bond's facts are read from (here and by the in-memory state, api/state.py).
BOND_COLUMNS = (
    _BONDS.c.chain_id,
    _BONDS.c.sender,
    _BONDS.c.recipient,
    _BONDS.c.amount,
    _BONDS.c.accepted,
    _BONDS.c.unlock_time,
    _BONDS.c.block_number,
)
# Built once: SQLAlchemy compiles each shape once and then only binds values (building a statement per request
# cost more than running it).
_MINIMUMS = select(_MINS.c.chain_id, _MINS.c.recipient, _MINS.c.amount, _MINS.c.block_number).where(
    _MINS.c.chain_id.in_(bindparam("chain_ids", expanding=True)),
    _MINS.c.recipient.in_(bindparam("recipients", expanding=True)),
)
_BOND_OF_PAIR = select(*BOND_COLUMNS).where(
    _BONDS.c.chain_id.in_(bindparam("chain_ids", expanding=True)),
    _BONDS.c.sender == bindparam("sender", type_=String()),
    _BONDS.c.recipient == bindparam("recipient", type_=String()),
)


def _bonds_of_pairs(
    session: Session, chain_ids: Sequence[int], pairs: list[tuple[str, str]]
) -> Sequence[tuple[Any, ...]]:
    """The pairs as a VALUES list joined on the primary key: one probe per pair and chain, on SQLite and
    PostgreSQL alike (SQLite plans `(sender, recipient) IN (VALUES ...)` as a scan of the chain)."""
    connection = session.connection()
    dialect = connection.dialect
    sql = (
        f"WITH pairs(sender, recipient) AS (VALUES {values_rows(dialect, rows=len(pairs), columns=2)}) "
        "SELECT b.chain_id, b.sender, b.recipient, b.amount, b.accepted, b.unlock_time, b.block_number "
        "FROM pairs JOIN bonds b ON b.sender = pairs.sender AND b.recipient = pairs.recipient "
        f"WHERE b.chain_id IN ({placeholders(dialect, len(chain_ids))})"
    )
    params = tuple(value for pair in pairs for value in pair) + tuple(chain_ids)
    return list(connection.exec_driver_sql(sql, params))


def load_facts(session: Session, *, chain_ids: Sequence[int], pairs: Sequence[tuple[str, str]]) -> Facts:
    """Two queries for any number of pairs and chains."""
    if not chain_ids or not pairs:
        return Facts(minimums={}, bonds={})
    unique_pairs = sorted(set(pairs))
    if len(unique_pairs) == 1:
        sender, recipient = unique_pairs[0]
        bond_rows: Sequence[tuple[Any, ...]] = list(
            session.execute(
                _BOND_OF_PAIR, {"chain_ids": list(chain_ids), "sender": sender, "recipient": recipient}
            )
        )
    else:
        bond_rows = _bonds_of_pairs(session, chain_ids, unique_pairs)
    min_params = {"chain_ids": list(chain_ids), "recipients": sorted({r for _, r in unique_pairs})}
    minimums = {
        (chain_id, recipient): (amount, block)
        for chain_id, recipient, amount, block in session.execute(_MINIMUMS, min_params)
    }
    bonds = {  # raw driver values from the VALUES path: a Uint256 is a string (SQLite) or a Decimal (PostgreSQL)
        (chain_id, sender, recipient): BondFacts(
            amount=int(amount),
            accepted=bool(accepted),
            unlock_time=int(unlock_time) if unlock_time is not None else None,
            block_number=block,
        )
        for chain_id, sender, recipient, amount, accepted, unlock_time, block in bond_rows
    }
    return Facts(minimums=minimums, bonds=bonds)


def chain_eligibility(
    chain: ChainTips, facts: Facts, *, sender: str, recipient: str, min_finality: Finality
) -> ChainEligibility:
    minimum = facts.minimums.get((chain.chain_id, recipient))
    bond = facts.bonds.get((chain.chain_id, sender, recipient))
    min_amount = minimum[0] if minimum is not None else None
    amount = bond.amount if bond is not None else 0
    accepted = bond is not None and bond.accepted
    pending = bond is not None and bond.unlock_time is not None
    verdict = rule.decide(min_deposit=min_amount, bond=amount, accepted=accepted, withdrawal_pending=pending)
    deciding = rule.deciding_facts(
        verdict.reason,
        minimum=minimum[1] if minimum is not None else None,
        bond=bond.block_number if bond is not None else None,
    )
    tier = facts_finality(chain, *deciding)  # the blocks of the rows the answer rests on
    verdict = verdict.at_finality(final_enough=at_least(tier, min_finality))
    return ChainEligibility(
        eligible=verdict.eligible,
        reason=verdict.reason,
        inbox_configured=verdict.inbox_configured,
        bond=str(amount),
        min_deposit=str(min_amount or 0),
        accepted=accepted,
        withdrawal_pending=pending,
        unlock_time=bond.unlock_time if bond is not None else None,
        envelope=envelope(chain, tier),
    )


def eligibility_many(
    session: Session, pairs: Sequence[tuple[Target, Target]], *, chains: list[Chain], min_finality: Finality
) -> list[EligibilityResponse]:
    """Answers in the order of `pairs`, all from the session's snapshot."""
    names = [t.name for pair in pairs for t in pair if t.name is not None]
    resolved = resolve_addresses(session, names, chains) if names else {}

    def address(target: Target) -> str | None:
        return target.address if target.name is None else resolved.get(target.name)

    addressed = [(address(s), address(r)) for s, r in pairs]
    known = [(s, r) for s, r in addressed if s is not None and r is not None]
    facts = load_facts(session, chain_ids=[c.chain_id for c in chains], pairs=known)
    return [
        pair_answer(chains, facts, sender=s, recipient=r, addresses=a, min_finality=min_finality)
        for (s, r), a in zip(pairs, addressed, strict=True)
    ]


def eligibility(
    session: Session, *, sender: Target, recipient: Target, chains: list[Chain], min_finality: Finality
) -> EligibilityResponse:
    """Overall eligible when eligible on any of `chains`; the overall reason is that chain's (or the first
    chain's when none is eligible)."""
    return eligibility_many(session, [(sender, recipient)], chains=chains, min_finality=min_finality)[0]


def pair_answer(
    chains: Sequence[ChainTips],
    facts: Facts,
    *,
    sender: Target,
    recipient: Target,
    addresses: tuple[str | None, str | None],
    min_finality: Finality,
) -> EligibilityResponse:
    """The answer for one pair from the facts already read (no SQL): per chain, then across chains."""
    sender_address, recipient_address = addresses
    if recipient_address is None or sender_address is None:
        return EligibilityResponse(
            sender=sender.raw,
            recipient=recipient.raw,
            sender_address=sender_address,
            recipient_address=recipient_address,
            eligible=False,
            reason="unknown_recipient" if recipient_address is None else "unknown_sender",
            eligible_chain_ids=[],
            chains=[],
        )
    per_chain = [
        chain_eligibility(
            chain, facts, sender=sender_address, recipient=recipient_address, min_finality=min_finality
        )
        for chain in chains
    ]
    winners, reason = rule.across_chains(per_chain)
    return EligibilityResponse(
        sender=sender.raw,
        recipient=recipient.raw,
        sender_address=sender_address,
        recipient_address=recipient_address,
        eligible=bool(winners),
        reason=reason,
        eligible_chain_ids=[c.envelope.chain_id for c in winners],
        chains=per_chain,
    )


def _address_pair_statement(*, one_chain: bool) -> Select[Any]:
    """Every chain's checkpoint with the recipient's minimum and the pair's bond on it (NULLs when absent)."""
    sender, recipient = bindparam("sender", type_=String()), bindparam("recipient", type_=String())
    query = (
        select(
            *CHECKPOINT_COLUMNS,
            _MINS.c.amount,
            _MINS.c.block_number,
            _BONDS.c.amount,
            _BONDS.c.accepted,
            _BONDS.c.unlock_time,
            _BONDS.c.block_number,
        )
        .select_from(
            _CHAINS.outerjoin(
                _MINS, and_(_MINS.c.chain_id == _CHAINS.c.chain_id, _MINS.c.recipient == recipient)
            ).outerjoin(
                _BONDS,
                and_(
                    _BONDS.c.chain_id == _CHAINS.c.chain_id,
                    _BONDS.c.sender == sender,
                    _BONDS.c.recipient == recipient,
                ),
            )
        )
        .order_by(_CHAINS.c.chain_id)
    )
    return query.where(_CHAINS.c.chain_id == bindparam("chain_id")) if one_chain else query


_PAIR_ON_EVERY_CHAIN = PreparedSelect(_address_pair_statement(one_chain=False))
_PAIR_ON_ONE_CHAIN = PreparedSelect(_address_pair_statement(one_chain=True))


def address_pair_eligibility(
    engine: Engine, *, sender: Target, recipient: Target, chain_id: int | None, min_finality: Finality
) -> EligibilityResponse:
    """`eligibility` for two addresses, in one prepared statement (no session, no ORM)."""
    sender_address, recipient_address = sender.address, recipient.address
    if sender_address is None or recipient_address is None:
        raise ValueError("address_pair_eligibility takes two addresses; names go through eligibility()")
    params: dict[str, object] = {"sender": sender_address, "recipient": recipient_address}
    if chain_id is not None:
        params["chain_id"] = chain_id
    rows = (_PAIR_ON_ONE_CHAIN if chain_id is not None else _PAIR_ON_EVERY_CHAIN).rows(engine, params)
    if chain_id is not None and not rows:
        raise ApiError(f"chain {chain_id} is not indexed", status=404)
    chains: list[ChainTips] = []
    facts = Facts(minimums={}, bonds={})
    for row in rows:
        (
            cid,
            indexed,
            indexed_hash,
            indexed_at,
            safe,
            final,
            minimum,
            min_block,
            amount,
            accepted,
            unlock,
            block,
        ) = row
        chains.append(ChainRow(cid, indexed, indexed_hash, indexed_at, safe, final))
        if minimum is not None:
            facts.minimums[(cid, recipient_address)] = (int(minimum), min_block)
        if amount is not None:
            facts.bonds[(cid, sender_address, recipient_address)] = BondFacts(
                amount=int(amount),
                accepted=bool(accepted),
                unlock_time=int(unlock) if unlock is not None else None,
                block_number=block,
            )
    return pair_answer(
        chains,
        facts,
        sender=sender,
        recipient=recipient,
        addresses=(sender_address, recipient_address),
        min_finality=min_finality,
    )
