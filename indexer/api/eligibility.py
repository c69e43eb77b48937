"""May this sender reach this inbox? The contract's rule, evaluated on the indexed state of every chain.

Eligible(sender, recipient) = accepted, or min deposit 0, or (bond >= min deposit and no withdrawal pending).

Finality: the answer is evaluated at the indexed head. Its `envelope.finality` is the weakest tier among the rows
that decided it (the recipient's min-deposit row and the pair's bond row; a missing row has held since genesis).
With `min_finality` above that tier the chain answers `eligible: false, reason: "below_min_finality"`: a delivery
node that asks for `finalized` is never told "eligible" on the strength of facts a reorg could still undo.
"""

from __future__ import annotations

from sqlmodel import Session

from indexer.api.chains import at_least, envelope, facts_finality
from indexer.api.names import Target, target_address
from indexer.api.schemas import ChainEligibility, EligibilityReason, EligibilityResponse, Finality
from indexer.store.models import Bond, Chain, MinDeposit


def decide(*, bond: Bond | None, min_deposit: int) -> tuple[bool, EligibilityReason]:
    """The contract's `eligible` view, with the reason behind the answer."""
    if bond is not None and bond.accepted:
        return True, "accepted"
    if min_deposit == 0:
        return True, "open_inbox"
    if bond is None or bond.amount == 0:
        return False, "no_deposit"
    if bond.unlock_time is not None:
        return False, "withdrawal_pending"
    if bond.amount >= min_deposit:
        return True, "deposit"
    return False, "insufficient_deposit"


def chain_eligibility(
    session: Session, chain: Chain, *, sender: str, recipient: str, min_finality: Finality
) -> ChainEligibility:
    minimum = session.get(MinDeposit, (chain.chain_id, recipient))
    bond = session.get(Bond, (chain.chain_id, sender, recipient))
    min_amount = minimum.amount if minimum is not None else 0
    eligible, reason = decide(bond=bond, min_deposit=min_amount)
    tier = facts_finality(
        chain,
        minimum.block_number if minimum is not None else None,
        bond.block_number if bond is not None else None,
    )
    if eligible and not at_least(tier, min_finality):
        eligible, reason = False, "below_min_finality"
    return ChainEligibility(
        eligible=eligible,
        reason=reason,
        bond=str(bond.amount if bond is not None else 0),
        min_deposit=str(min_amount),
        accepted=bond.accepted if bond is not None else False,
        withdrawal_pending=bond is not None and bond.unlock_time is not None,
        unlock_time=bond.unlock_time if bond is not None else None,
        envelope=envelope(chain, tier),
    )


def eligibility(
    session: Session, *, sender: Target, recipient: Target, chains: list[Chain], min_finality: Finality
) -> EligibilityResponse:
    """Overall eligible when eligible on any of `chains`; the overall reason is that chain's (or the first
    chain's when none is eligible)."""
    sender_address = target_address(session, sender, chains)
    recipient_address = target_address(session, recipient, chains)
    unresolved: EligibilityReason | None = None
    if recipient_address is None:
        unresolved = "unknown_recipient"
    elif sender_address is None:
        unresolved = "unknown_sender"
    if unresolved is not None or sender_address is None or recipient_address is None:
        return EligibilityResponse(
            sender=sender.raw,
            recipient=recipient.raw,
            sender_address=sender_address,
            recipient_address=recipient_address,
            eligible=False,
            reason=unresolved or "unknown_recipient",
            eligible_chain_ids=[],
            chains=[],
        )
    per_chain = [
        chain_eligibility(
            session, chain, sender=sender_address, recipient=recipient_address, min_finality=min_finality
        )
        for chain in chains
    ]
    winners = [c for c in per_chain if c.eligible]
    reason: EligibilityReason = (winners or per_chain)[0].reason if per_chain else "no_deposit"
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
