"""May this sender reach this inbox? The rule alone, from the facts: no SQL, no HTTP.

The read API (`indexer.api.queries.eligibility`, facts read from SQL) and the client's `EligibilityCache` (facts kept
from the change feed) both answer with these functions, so they cannot disagree on the rule.

On one chain, the contract's `InboxDeposits.is_eligible`: eligible = accepted, or min deposit 0, or (bond >= min
deposit and no withdrawal pending). A withdrawal is pending from `request_withdrawal` until `withdraw`, whether or
not its unlock time has passed.

Across chains: the chains where the recipient configured its inbox (set a price, even 0, or accepted this sender)
decide; a recipient that configured no chain has an open inbox everywhere. A chain where the recipient never set
a price is open by the contract's rule (min deposit 0), but that is a default, not the recipient's choice: a price
set on Optimism must not be bypassed through Base.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple, Protocol, TypeVar

Reason = Literal[
    "accepted",  # the recipient released (accepted) this sender: eligible for good
    "open_inbox",  # the recipient's minimum deposit is 0 (or was never set)
    "deposit",  # bond >= minimum and no withdrawal pending
    "insufficient_deposit",  # 0 < bond < minimum
    "withdrawal_pending",  # the sender asked to withdraw: the bond no longer counts
    "no_deposit",  # no bond for this pair
    "unknown_recipient",  # the recipient is a name that does not resolve to an address
    "unknown_sender",  # the sender is a name that does not resolve to an address
    "below_min_finality",  # the facts deciding the answer are not yet at the requested finality tier
]

Value = TypeVar("Value")


class Verdict(NamedTuple):
    """One chain's answer. (A named tuple: the API makes one per pair and chain on its hot path.)"""

    eligible: bool
    reason: Reason
    inbox_configured: bool

    def at_finality(self, *, final_enough: bool) -> Verdict:
        """A delivery node that asked for a finality tier is never told "eligible" on the strength of facts a
        reorg could still undo: below the tier, an eligible answer becomes `below_min_finality`."""
        if self.eligible and not final_enough:
            return Verdict(False, "below_min_finality", self.inbox_configured)
        return self


def decide(*, min_deposit: int | None, bond: int, accepted: bool, withdrawal_pending: bool) -> Verdict:
    """The contract's `is_eligible` view on one chain, with the reason behind the answer.

    `min_deposit` None: the recipient never set a price on this chain (the contract reads 0, but the inbox is not
    configured there). A missing bond is the zero bond; `withdrawal_pending`: an unlock time is set. The recipient
    configured its inbox on this chain when it set a price (even 0) or accepted this sender.
    """
    configured = min_deposit is not None or accepted
    if accepted:
        return Verdict(True, "accepted", configured)
    if not min_deposit:
        return Verdict(True, "open_inbox", configured)
    if bond == 0:
        return Verdict(False, "no_deposit", configured)
    if withdrawal_pending:
        return Verdict(False, "withdrawal_pending", configured)
    if bond >= min_deposit:
        return Verdict(True, "deposit", configured)
    return Verdict(False, "insufficient_deposit", configured)


def deciding_facts(reason: Reason, *, minimum: Value, bond: Value) -> tuple[Value, ...]:
    """Of something about each fact (its block, its row), what belongs to the facts the answer rests on, so its
    finality is theirs: `accepted` rests on the bond alone, `open_inbox` on the minimum alone, every other answer
    on both."""
    if reason == "accepted":
        return (bond,)
    if reason == "open_inbox":
        return (minimum,)
    return (minimum, bond)


class ChainAnswer(Protocol):
    """A per-chain answer: a `Verdict`, or the API's `ChainEligibility`."""

    @property
    def eligible(self) -> bool: ...
    @property
    def reason(self) -> Reason: ...
    @property
    def inbox_configured(self) -> bool: ...


Answer = TypeVar("Answer", bound=ChainAnswer)


def across_chains(per_chain: Sequence[Answer]) -> tuple[list[Answer], Reason]:
    """The chains that make the sender eligible (eligible overall when there is one), and the overall reason:
    the first such chain's, else the first deciding chain's (`no_deposit` when no chain is asked about)."""
    deciding = [answer for answer in per_chain if answer.inbox_configured] or list(per_chain)
    winners = [answer for answer in deciding if answer.eligible]
    reason: Reason = (winners or deciding)[0].reason if deciding else "no_deposit"
    return winners, reason
