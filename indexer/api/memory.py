"""Eligibility answers from the in-memory state (`indexer.api.state`): one pair or a batch, by address or by name.

The same questions as `queries.eligibility` with the same rule (`eligibility_rule`: `decide`, `deciding_facts`,
`at_finality`, `across_chains`), the same finality tiers and the same name resolution (`names.chain_for_name`,
`address_name`, `record_address`), read from a `Snapshot` instead of SQL, and written as JSON directly: byte for
byte what the route's response models dump (`model_dump_json`), in a fraction of the time; the tests compare the
two on generated states and questions. Strings a client sent are encoded by pydantic's own encoder; everything
else written here is an address, a decimal, a reason or a literal (nothing to escape).

Each pair's answer is kept in the snapshot's memo (`Snapshot.memo`) by the question as sent, so a pair asked again
while the snapshot lasts costs one dictionary lookup. A sender without a bond on a chain gets the part of that
chain every such sender gets from that recipient: it is written once (`Snapshot.strangers`), which makes a pair
asked for the first time about twice as cheap when it is between strangers. A batch is answered in slices of at most `SLICE_SECONDS` of
work, holding the state's lock (`EligibilityState.lock`): between two slices the event loop serves everything
else (single pairs answer within a slice or two however many batches are queued), and no update changes the
snapshot under the batch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pydantic_core

from indexer import eligibility_rule as rule
from indexer.api.errors import ApiError
from indexer.api.names import (
    ADDR_COIN_TYPES,
    Target,
    address_name,
    chain_for_name,
    node_of,
    parse_target,
    record_address,
    records_of,
)
from indexer.api.queries.envelope import ChainRow, at_least, facts_finality
from indexer.api.schemas import MAX_CHAIN_ID, Finality
from indexer.api.state import EligibilityState, ParentName, Snapshot

log = logging.getLogger(__name__)

#: The longest stretch of batch work between two turns of the event loop.
SLICE_SECONDS = 0.0005
#: `Query(max_length=...)` of the route and `EligibilityPair`'s field limit.
MAX_TARGET_CHARS = 300
FINALITIES: frozenset[str] = frozenset({"latest", "safe", "finalized"})
_BOOL = {True: "true", False: "false"}
#: The `EligibilityBatchRequest` fields this path answers (`proof` only when false).
_BATCH_KEYS = frozenset({"pairs", "chain_id", "min_finality", "proof"})


@dataclass(frozen=True, slots=True)
class Selection:
    """The chains a question is about (all, or the one `chain_id` names), with their parent names."""

    chains: tuple[ChainRow, ...]
    parents: tuple[ParentName, ...]


def select_chains(snapshot: Snapshot, chain_id: int | None) -> Selection | None:
    """Every chain, or only `chain_id`; None when that chain is not indexed (the route answers its 404)."""
    if chain_id is None:
        return Selection(snapshot.chains, snapshot.parents)
    chains = tuple(chain for chain in snapshot.chains if chain.chain_id == chain_id)
    if not chains:
        return None
    return Selection(chains, tuple(parent for parent in snapshot.parents if parent.chain_id == chain_id))


def resolve(snapshot: Snapshot, parents: Sequence[ParentName], name: str) -> str | None:
    """What `name` resolves to on `parents`' chains (`names.resolve_addresses`, from the snapshot)."""
    chain = chain_for_name(name, parents)
    if chain is None:
        return None
    address = address_name(name, chain)
    if address is not None:
        return address
    node = node_of(name)
    owner = snapshot.names.owners.get((chain.chain_id, node))
    if owner is None:  # not registered
        return None
    addresses = snapshot.names.addresses
    eth, default = (addresses.get((chain.chain_id, node, coin_type)) for coin_type in ADDR_COIN_TYPES)
    return record_address(records_of(eth, default), owner)


def _string(target: Target) -> str:
    """`target.raw` as a JSON string: an address as it is (hex), a name through pydantic's encoder."""
    return f'"{target.raw}"' if target.name is None else pydantic_core.to_json(target.raw).decode()


def pair_json(
    snapshot: Snapshot, selection: Selection, sender: Target, recipient: Target, min_finality: Finality
) -> str:
    """`queries.eligibility.pair_answer(...).model_dump_json()` for one pair, from the snapshot."""
    parents = selection.parents
    sender_address = sender.address if sender.name is None else resolve(snapshot, parents, sender.name)
    recipient_address = (
        recipient.address if recipient.name is None else resolve(snapshot, parents, recipient.name)
    )
    head = (
        f'{{"sender":{_string(sender)},"recipient":{_string(recipient)},'
        f'"sender_address":{"null" if sender_address is None else f"{chr(34)}{sender_address}{chr(34)}"},'
        f'"recipient_address":{"null" if recipient_address is None else f"{chr(34)}{recipient_address}{chr(34)}"},'
    )
    if sender_address is None or recipient_address is None:
        reason = "unknown_recipient" if recipient_address is None else "unknown_sender"
        return head + f'"eligible":false,"reason":"{reason}","eligible_chain_ids":[],"chains":[]}}'
    minimums, bonds = snapshot.facts.minimums, snapshot.facts.bonds
    chains = selection.chains
    parts: list[str] = []
    verdicts: list[rule.Verdict] = []
    strangers = snapshot.strangers
    for chain in chains:
        cid = chain.chain_id
        minimum = minimums.get((cid, recipient_address))
        bond = bonds.get((cid, sender_address, recipient_address))
        if bond is None:  # a sender without a bond here: the part is the recipient's (and every stranger's)
            known = strangers.get((cid, minimum, min_finality))
            if known is not None:
                verdicts.append(known[0])
                parts.append(known[1])
                continue
        min_amount = minimum[0] if minimum is not None else None
        amount = bond.amount if bond is not None else 0
        accepted = bond is not None and bond.accepted
        unlock = bond.unlock_time if bond is not None else None
        verdict = rule.decide(
            min_deposit=min_amount, bond=amount, accepted=accepted, withdrawal_pending=unlock is not None
        )
        deciding = rule.deciding_facts(
            verdict.reason,
            minimum=minimum[1] if minimum is not None else None,
            bond=bond.block_number if bond is not None else None,
        )
        tier = facts_finality(chain, *deciding)
        verdict = verdict.at_finality(final_enough=at_least(tier, min_finality))
        part = (
            f'{{"eligible":{_BOOL[verdict.eligible]},"reason":"{verdict.reason}",'
            f'"inbox_configured":{_BOOL[verdict.inbox_configured]},"bond":"{amount}","min_deposit":"{min_amount or 0}",'
            f'"accepted":{_BOOL[accepted]},"withdrawal_pending":{_BOOL[unlock is not None]},'
            f'"unlock_time":{"null" if unlock is None else unlock},"envelope":{snapshot.envelopes[cid][tier]}}}'
        )
        if bond is None:
            strangers.put((cid, minimum, min_finality), (verdict, part))
        verdicts.append(verdict)
        parts.append(part)
    winners, reason = rule.across_chains(verdicts)
    winner_ids = [
        chain.chain_id
        for chain, verdict in zip(chains, verdicts, strict=True)
        if any(verdict is w for w in winners)
    ]
    return (
        head + f'"eligible":{_BOOL[bool(winners)]},"reason":"{reason}",'
        f'"eligible_chain_ids":[{",".join(map(str, winner_ids))}],"chains":[{",".join(parts)}]}}'
    )


def single_json(
    snapshot: Snapshot, sender: str, recipient: str, chain_id: int | None, min_finality: Finality
) -> bytes | None:
    """The answer of `GET /v1/eligibility` for a question in plain form; None when the route must answer (an
    input it refuses, an unknown chain)."""
    selection = select_chains(snapshot, chain_id)
    if selection is None:
        return None
    try:
        sender_target = parse_target(sender, what="sender")
        recipient_target = parse_target(recipient, what="recipient")
    except ApiError:
        return None  # the route answers it (a 4xx with its message)
    return pair_json(snapshot, selection, sender_target, recipient_target, min_finality).encode()


@dataclass(frozen=True, slots=True)
class BatchQuestion:
    """A `POST /v1/eligibility` body as `EligibilityBatchRequest` reads it."""

    pairs: list[tuple[str, str]]
    chain_id: int | None
    min_finality: Finality


def parse_batch(body: bytes) -> BatchQuestion | None:
    """The body when it is valid JSON that `EligibilityBatchRequest` takes as it is (no coercion, no other key, no
    proof asked for), else None: the route then reads it and answers (or refuses) it. Lone surrogates never get
    here: the parser refuses them."""
    try:
        data = pydantic_core.from_json(body)
    except ValueError:
        return None
    if type(data) is not dict or not data.keys() <= _BATCH_KEYS or data.get("proof", False) is not False:
        return None  # a key this path does not know (proofs: the route fetches them from the chains' nodes)
    raw_pairs = data.get("pairs")
    if type(raw_pairs) is not list:
        return None
    pairs: list[tuple[str, str]] = []
    for pair in raw_pairs:
        if type(pair) is not dict:
            return None
        sender, recipient = pair.get("sender"), pair.get("recipient")
        if (
            type(sender) is not str
            or type(recipient) is not str
            or len(sender) > MAX_TARGET_CHARS
            or len(recipient) > MAX_TARGET_CHARS
        ):
            return None
        pairs.append((sender, recipient))
    chain_id = data.get("chain_id")
    if chain_id is not None and (type(chain_id) is not int or not 0 <= chain_id <= MAX_CHAIN_ID):
        return None
    min_finality = data.get("min_finality", "latest")
    if type(min_finality) is not str or min_finality not in FINALITIES:
        return None
    return BatchQuestion(pairs=pairs, chain_id=chain_id, min_finality=min_finality)  # type: ignore[arg-type]


async def batch_json(state: EligibilityState, question: BatchQuestion) -> bytes | None:
    """`EligibilityBatch(...).model_dump_json()` from one snapshot no older than the database when the batch
    arrived (`EligibilityState.catch_up`), in slices (see the module docstring); None when the route must answer
    (no fresh snapshot, the database unreadable, an unknown chain, a pair it refuses)."""
    try:
        await state.catch_up()
    except Exception:
        log.debug("cannot catch up with the change feed; the route answers", exc_info=True)
        return None  # the route reads the database itself (and says what is wrong with it)
    async with state.lock():
        snapshot = state.snapshot()
        if snapshot is None:
            return None
        selection = select_chains(snapshot, question.chain_id)
        if selection is None:
            return None
        memo, chain_id, min_finality = snapshot.memo, question.chain_id, question.min_finality
        parts: list[str] = []
        clock = time.perf_counter
        deadline = clock() + SLICE_SECONDS
        for index, (sender, recipient) in enumerate(question.pairs):
            key = (sender, recipient, chain_id, min_finality)
            part = memo.get(key)
            if part is None:
                try:
                    sender_target = parse_target(sender, what=f"pairs.{index}.sender")
                    recipient_target = parse_target(recipient, what=f"pairs.{index}.recipient")
                except ApiError:
                    return None  # the route refuses the batch with this pair's message
                part = memo.put(
                    key, pair_json(snapshot, selection, sender_target, recipient_target, min_finality)
                )
            parts.append(part)
            if index & 15 == 15 and clock() > deadline:
                await asyncio.sleep(0)  # let the event loop serve what arrived meanwhile
                deadline = clock() + SLICE_SECONDS
    return f'{{"data":[{",".join(parts)}],"count":{len(parts)}}}'.encode()
