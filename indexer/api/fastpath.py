"""The delivery nodes' hot path, `GET /v1/eligibility` for two addresses, answered below FastAPI's routing.

Measured on the benchmark box, FastAPI's per-request parameter solving cost more than the whole database read, so
this ASGI middleware answers the plain form of the question itself: `sender` and `recipient` as 0x addresses, an
optional canonical decimal `chain_id`, an optional `min_finality`, each given once and nothing else. It builds the
same answer with the same functions (`parse_target`, the rule and the response models of `eligibility`) and sets the
route template on the scope so metrics still count it under `/v1/eligibility`. With the in-memory state
(`indexer.api.state`) loaded and fresh, it answers from that snapshot on the event loop (a few dictionary lookups);
otherwise it reads the database in the thread pool (`address_pair_eligibility`). Anything else (names, bad or unusual input,
an unknown chain, any error) goes on to the FastAPI route unchanged, which stays the reference: the tests compare
both on generated query strings, byte for byte.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast
from urllib.parse import parse_qsl

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from indexer import eligibility_rule as rule
from indexer.api.errors import ApiError
from indexer.api.names import Target, parse_target
from indexer.api.queries.eligibility import address_pair_eligibility
from indexer.api.queries.envelope import ChainRow, at_least, facts_finality
from indexer.api.schemas import MAX_CHAIN_ID, EligibilityResponse, Finality
from indexer.api.state import EligibilityState, Snapshot

log = logging.getLogger(__name__)

PATH = "/v1/eligibility"
_PARAMS = frozenset({"sender", "recipient", "chain_id", "min_finality"})
_FINALITIES: frozenset[str] = frozenset({"latest", "safe", "finalized"})
_CANONICAL_INT = re.compile(r"^(0|[1-9][0-9]{0,18})$")
_HEADERS = [(b"content-type", b"application/json")]


@dataclass(frozen=True)
class RouteTemplate:
    """What `scope["route"]` carries for an answer the fast path gave (metrics read `.path`)."""

    path: str


class EligibilityFastPath:
    def __init__(self, app: ASGIApp, *, engine: Engine, state: EligibilityState | None = None) -> None:
        self.app = app
        self.engine = engine
        self.state = state
        self.route = RouteTemplate(PATH)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == PATH:
            question = _plain_question(scope["query_string"])
            if question is not None:
                body = await self._answer(*question)
                if body is not None:
                    scope["route"] = self.route
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 200,
                            "headers": [(b"content-length", str(len(body)).encode()), *_HEADERS],
                        }
                    )
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)

    async def _answer(
        self, sender: str, recipient: str, chain_id: int | None, min_finality: Finality
    ) -> bytes | None:
        snapshot = self.state.snapshot() if self.state is not None else None
        if snapshot is not None:
            try:
                sender_target = parse_target(sender, what="sender")
                recipient_target = parse_target(recipient, what="recipient")
            except ApiError:
                return None  # the route answers it (a 4xx with its message)
            return _from_snapshot(snapshot, sender_target, recipient_target, chain_id, min_finality)

        def read() -> EligibilityResponse:
            return address_pair_eligibility(
                self.engine,
                sender=parse_target(sender, what="sender"),
                recipient=parse_target(recipient, what="recipient"),
                chain_id=chain_id,
                min_finality=min_finality,
            )

        try:
            answer = await run_in_threadpool(read)  # never on the event loop (see deps.read)
        except ApiError:
            return None  # the route answers it (a 4xx with its message)
        except Exception:
            log.debug("fast path failed; handing over to the route", exc_info=True)
            return None
        return answer.model_dump_json().encode()


def _from_snapshot(
    snapshot: Snapshot, sender: Target, recipient: Target, chain_id: int | None, min_finality: Finality
) -> bytes | None:
    """The answer from the in-memory snapshot; None for an unknown chain (the route answers its 404)."""
    chains = snapshot.chains
    if chain_id is not None:
        chains = tuple(chain for chain in chains if chain.chain_id == chain_id)
        if not chains:
            return None
    return answer_json(chains, snapshot, sender=sender, recipient=recipient, min_finality=min_finality)


def answer_json(
    chains: Sequence[ChainRow],
    snapshot: Snapshot,
    *,
    sender: Target,
    recipient: Target,
    min_finality: Finality,
) -> bytes:
    """`queries.eligibility._answer(...).model_dump_json()`, byte for byte, written directly (a fraction of the time).

    The same rule (`eligibility_rule.decide`, `deciding_facts`, `at_finality`, `across_chains`) and finality tiers
    as `queries.eligibility.chain_eligibility`; the envelopes come encoded from the snapshot. Every string written
    here is an address, a decimal or a literal (nothing to escape). The tests compare both on generated states.
    """
    sender_address, recipient_address = sender.address, recipient.address
    assert sender_address is not None and recipient_address is not None
    minimums, bonds = snapshot.facts.minimums, snapshot.facts.bonds
    parts: list[str] = []
    verdicts: list[rule.Verdict] = []
    for chain in chains:
        cid = chain.chain_id
        minimum = minimums.get((cid, recipient_address))
        bond = bonds.get((cid, sender_address, recipient_address))
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
        verdicts.append(verdict)
        parts.append(
            f'{{"eligible":{_BOOL[verdict.eligible]},"reason":"{verdict.reason}",'
            f'"inbox_configured":{_BOOL[verdict.inbox_configured]},"bond":"{amount}","min_deposit":"{min_amount or 0}",'
            f'"accepted":{_BOOL[accepted]},"withdrawal_pending":{_BOOL[unlock is not None]},'
            f'"unlock_time":{"null" if unlock is None else unlock},"envelope":'
            + snapshot.envelopes[cid][tier].decode()
            + "}"
        )
    winners, reason = rule.across_chains(verdicts)
    winner_ids = [
        chain.chain_id
        for chain, verdict in zip(chains, verdicts, strict=True)
        if any(verdict is w for w in winners)
    ]
    return (
        f'{{"sender":"{sender.raw}","recipient":"{recipient.raw}","sender_address":"{sender_address}",'
        f'"recipient_address":"{recipient_address}","eligible":{_BOOL[bool(winners)]},"reason":"{reason}",'
        f'"eligible_chain_ids":[{",".join(map(str, winner_ids))}],"chains":[{",".join(parts)}]}}'
    ).encode()


_BOOL = {True: "true", False: "false"}


def _plain_question(query_string: bytes) -> tuple[str, str, int | None, Finality] | None:
    """The parameters when the query is the plain form (see the module docstring), else None."""
    try:
        pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    params = dict(pairs)
    if len(params) != len(pairs) or not params.keys() <= _PARAMS:
        return None
    sender, recipient = params.get("sender", ""), params.get("recipient", "")
    if not _is_address(sender) or not _is_address(recipient):
        return None
    chain_id: int | None = None
    if "chain_id" in params:
        if not _CANONICAL_INT.match(params["chain_id"]) or int(params["chain_id"]) > MAX_CHAIN_ID:
            return None
        chain_id = int(params["chain_id"])
    min_finality = params.get("min_finality", "latest")
    if min_finality not in _FINALITIES:
        return None
    return sender, recipient, chain_id, cast(Finality, min_finality)


def _is_address(value: str) -> bool:
    """0x and 40 more characters (`parse_target`, inside the read, checks the hex and any checksum)."""
    return len(value) == 42 and value[:2] == "0x" and "." not in value
