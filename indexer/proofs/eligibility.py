"""Checking a proven eligibility answer (`GET /v1/eligibility?proof=true`) without trusting the indexer.

For each chain entry of the answer, against the caller's own node of that chain:
1. the header of the envelope's block, fetched from that node and hashed here, must have the envelope's block hash
   (else the answer is about a block the node does not have: a lie, or a reorg since);
2. the InboxDeposits account proof must verify against that header's state root (and be of the expected contract,
   when the caller names it), and the storage proofs of exactly the slots computed here from the answer's sender
   and recipient addresses (`_bonds[sender][recipient]`, `min_deposit[recipient]`) against its storage root;
3. the answer's facts (bond, minimum, accepted, withdrawal pending, unlock time) must equal the proven ones, and the
   one eligibility rule (`indexer.eligibility_rule`) applied to the proven facts must give the answer's verdict,
   per chain and across chains.

What storage cannot show: whether a recipient whose minimum is 0 ever *set* it (`inbox_configured`, read from the
indexed events). Where the proven minimum is 0 and the pair is not accepted, the answer's `inbox_configured` is
taken as claimed and the chain is listed in `VerifiedEligibility.configured_unproven`. Names: the proofs cover the
addresses the answer names; when the question was an address, the answer must name that same address.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_utils import is_address, to_checksum_address
from pydantic import ValidationError

from indexer import eligibility_rule as rule
from indexer.api.schemas import ProvenChainEligibility, ProvenEligibilityResponse
from indexer.proofs import slots
from indexer.proofs.rpc import JsonRpc, NodeError, UrlRpc, Web3Rpc, connect, fetch_header
from indexer.proofs.verify import AccountProof, ProofError, verify_storage


class EligibilityProofError(ProofError):
    """The answer's proofs do not show what the answer says (or cannot be checked): the message says which."""


@dataclass(frozen=True, slots=True)
class ProvenChain:
    chain_id: int
    block_number: int
    block_hash: str
    contract: str
    verdict: rule.Verdict
    min_deposit: int
    bond: slots.BondWord


@dataclass(frozen=True, slots=True)
class VerifiedEligibility:
    """What the proofs show: the overall verdict recomputed from proven facts, and each chain's."""

    eligible: bool
    reason: rule.Reason
    eligible_chain_ids: list[int]
    chains: list[ProvenChain]
    #: Chains where the recipient's minimum is proven 0: whether it configured its inbox there is the indexer's word.
    configured_unproven: list[int]


def verify_eligibility_proof(
    answer: ProvenEligibilityResponse | Mapping[str, Any],
    w3_or_rpc_url: Any,
    *,
    deposits: str | Mapping[int, str] | None = None,
) -> VerifiedEligibility:
    """Check `answer` against the caller's own node(s); raise `EligibilityProofError` when anything does not hold.

    `w3_or_rpc_url`: a node URL, `web3.Web3` or `indexer.proofs.rpc.UrlRpc` (reuse one to save a connection per
    check) for the answer's chain, or a mapping chain id -> any of those when the answer spans several chains (every chain in the answer must be checked). `deposits`: the InboxDeposits address
    (one for every chain, as the deterministic deployment gives, or by chain id); without it the contract the answer
    names is taken as is, so pass it to rule out a proof of some other contract's storage.
    """
    proven = _parse(answer)
    sender, recipient = proven.sender_address, proven.recipient_address
    if sender is None or recipient is None or not proven.chains:
        raise EligibilityProofError(
            f"nothing to verify: the answer is {proven.reason!r} without chain entries "
            "(the proofs cover deposits, not name resolution)"
        )
    for asked, named, what in ((proven.sender, sender, "sender"), (proven.recipient, recipient, "recipient")):
        if is_address(asked) and asked.lower() != named.lower():
            raise EligibilityProofError(
                f"the answer is about {what} {named}, not the {what} {asked} asked about"
            )
    nodes, owned = _nodes(w3_or_rpc_url, [entry.envelope.chain_id for entry in proven.chains])
    try:
        chains = [
            _verify_chain(
                entry, nodes[entry.envelope.chain_id], sender=sender, recipient=recipient, deposits=deposits
            )
            for entry in proven.chains
        ]
    finally:
        _close(owned)
    claimed = {entry.envelope.chain_id: entry for entry in proven.chains}
    final = [_at_claimed_finality(chain, claimed[chain.chain_id]) for chain in chains]
    winners, reason = rule.across_chains(final)
    eligible_ids = [chain.chain_id for chain in winners]
    if (
        bool(winners) != proven.eligible
        or reason != proven.reason
        or eligible_ids != proven.eligible_chain_ids
    ):
        raise EligibilityProofError(
            f"across chains the proven facts give eligible={bool(winners)} ({reason}, chains {eligible_ids}), "
            f"the answer says eligible={proven.eligible} ({proven.reason}, chains {proven.eligible_chain_ids})"
        )
    unproven = [
        c.chain_id
        for c in chains
        if c.min_deposit == 0 and not c.bond.accepted and c.verdict.inbox_configured
    ]
    return VerifiedEligibility(
        eligible=bool(winners),
        reason=reason,
        eligible_chain_ids=eligible_ids,
        chains=chains,
        configured_unproven=unproven,
    )


def _parse(answer: ProvenEligibilityResponse | Mapping[str, Any]) -> ProvenEligibilityResponse:
    if isinstance(answer, ProvenEligibilityResponse):
        return answer
    raw = answer.model_dump() if hasattr(answer, "model_dump") else answer
    try:
        return ProvenEligibilityResponse.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise EligibilityProofError(
            f"not a proven answer: {where}: {first['msg']} (ask with proof=true)"
        ) from None


def _nodes(w3_or_rpc_url: Any, chain_ids: list[int]) -> tuple[dict[int, JsonRpc], list[UrlRpc | Web3Rpc]]:
    """A node per chain of the answer, and those made here (closed afterwards; the caller's own stay open)."""
    given = w3_or_rpc_url if isinstance(w3_or_rpc_url, Mapping) else None
    if given is not None:
        missing = [c for c in chain_ids if c not in given]
        if missing:
            raise EligibilityProofError(
                f"no node given for chain(s) {missing}: every chain of the answer is checked"
            )
        nodes = {c: connect(given[c]) for c in set(chain_ids)}
        return dict(nodes), [n for c, n in nodes.items() if n is not given[c]]
    if len(set(chain_ids)) > 1:
        raise EligibilityProofError(
            f"the answer spans chains {sorted(set(chain_ids))}: give a node per chain (a mapping), or ask for one chain"
        )
    node = connect(w3_or_rpc_url)
    owned = [node] if node is not w3_or_rpc_url else []
    try:
        node_chain = int(node("eth_chainId", []), 16)
    except NodeError:
        _close(owned)
        raise
    if node_chain != chain_ids[0]:
        _close(owned)
        raise EligibilityProofError(
            f"the answer is about chain {chain_ids[0]}, the node given is chain {node_chain}"
        )
    return {chain_ids[0]: node}, owned


def _close(nodes: list[UrlRpc | Web3Rpc]) -> None:
    for node in nodes:
        node.close()


def _verify_chain(
    entry: ProvenChainEligibility,
    node: JsonRpc,
    *,
    sender: str,
    recipient: str,
    deposits: str | Mapping[int, str] | None,
) -> ProvenChain:
    env = entry.envelope
    where = f"chain {env.chain_id}"
    if env.block_number is None or env.block_hash is None:
        raise EligibilityProofError(f"{where}: the answer names no block")
    header = fetch_header(node, env.block_number)
    if "0x" + header.hash.hex() != env.block_hash.lower():
        raise EligibilityProofError(
            f"{where}: block {env.block_number} is 0x{header.hash.hex()} on your node, the answer says "
            f"{env.block_hash} (a reorg since, or not this chain's block)"
        )
    expected = deposits.get(env.chain_id) if isinstance(deposits, Mapping) else deposits
    try:
        proof = AccountProof.from_rpc(entry.proof.account.model_dump())
    except ProofError as exc:
        raise EligibilityProofError(f"{where}: {exc}") from None
    if expected is not None and proof.address != to_checksum_address(expected):
        raise EligibilityProofError(f"{where}: the proof is of {proof.address}, not InboxDeposits {expected}")
    if to_checksum_address(entry.proof.contract) != proof.address:
        raise EligibilityProofError(
            f"{where}: the proof is of {proof.address}, the answer names {entry.proof.contract}"
        )
    bond_slot = slots.bond_slot(sender=sender, recipient=recipient)
    min_slot = slots.min_deposit_slot(recipient)
    try:
        values = verify_storage(header.state_root, proof, [bond_slot, min_slot])
    except ProofError as exc:
        raise EligibilityProofError(f"{where}, block {env.block_number}: {exc}") from None
    bond = slots.unpack_bond(values[bond_slot])
    minimum = values[min_slot]
    facts = {
        "bond": (entry.bond, str(bond.amount)),
        "min_deposit": (entry.min_deposit, str(minimum)),
        "accepted": (entry.accepted, bond.accepted),
        "withdrawal_pending": (entry.withdrawal_pending, bond.unlock_time != 0),
        "unlock_time": (entry.unlock_time, bond.unlock_time or None),
    }
    for name, (claimed, actual) in facts.items():
        if claimed != actual:
            raise EligibilityProofError(
                f"{where}: the answer says {name} {claimed}, the proof shows {actual}"
            )
    # storage cannot tell an unset minimum from a 0 set on purpose: there, `inbox_configured` is as claimed
    configured_by_storage = minimum != 0 or bond.accepted
    if configured_by_storage and not entry.inbox_configured:
        raise EligibilityProofError(f"{where}: the proof shows a configured inbox, the answer says it is not")
    verdict = rule.decide(
        min_deposit=minimum if (configured_by_storage or entry.inbox_configured) else None,
        bond=bond.amount,
        accepted=bond.accepted,
        withdrawal_pending=bond.unlock_time != 0,
    )
    claimed_ok = (entry.eligible, entry.reason) == (verdict.eligible, verdict.reason)
    below_tier = entry.reason == "below_min_finality" and verdict.eligible and not entry.eligible
    if not (claimed_ok or below_tier):
        raise EligibilityProofError(
            f"{where}: the proven facts give eligible={verdict.eligible} ({verdict.reason}), the answer says "
            f"eligible={entry.eligible} ({entry.reason})"
        )
    return ProvenChain(
        chain_id=env.chain_id,
        block_number=env.block_number,
        block_hash=env.block_hash,
        contract=proof.address,
        verdict=verdict,
        min_deposit=minimum,
        bond=bond,
    )


@dataclass(frozen=True, slots=True)
class _ChainVerdict:
    """A chain's proven verdict as `eligibility_rule.across_chains` takes it."""

    chain_id: int
    eligible: bool
    reason: rule.Reason
    inbox_configured: bool


def _at_claimed_finality(chain: ProvenChain, entry: ProvenChainEligibility) -> _ChainVerdict:
    """The proven verdict under the tier the answer says its facts reached (finality is the indexer's word: it
    can only make an answer stricter, `below_min_finality`, never turn a proven refusal into eligible)."""
    verdict = chain.verdict.at_finality(final_enough=entry.reason != "below_min_finality")
    return _ChainVerdict(chain.chain_id, verdict.eligible, verdict.reason, verdict.inbox_configured)
