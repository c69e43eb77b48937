"""`/v1/eligibility`: may this sender reach this inbox?

The hot path of the service. The handlers are `async` and do their work (name parsing, the read, the JSON) in one
threadpool hop (`read` / `read_snapshot`), so a batch of 1,000 names never holds up the event loop. They answer
with the model's own JSON (`model_dump_json`): the models are built validated, so FastAPI's second validation
pass, and its extra threadpool hops for sync handlers, are skipped. The declared `response_model` still documents
the answer (and schemathesis checks every answer against it).

`proof=true` (and `"proof": true` in a batch) attaches the InboxDeposits storage proofs each chain's answer rests
on, fetched from the chain's node at the envelope block (`queries/eligibility_proofs.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from anyio import CapacityLimiter
from fastapi import APIRouter, Query, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from indexer.api.deps import ChainIdQuery, EngineDep, HeavyLimiterDep, SettingsDep, read, read_snapshot
from indexer.api.errors import ApiError
from indexer.api.names import Target, parse_target
from indexer.api.queries.eligibility import address_pair_eligibility, eligibility, eligibility_many
from indexer.api.queries.eligibility_proofs import prove_answers
from indexer.api.queries.envelope import load_chains
from indexer.api.schemas import (
    EligibilityBatch,
    EligibilityBatchRequest,
    EligibilityResponse,
    ErrorResponse,
    Finality,
    ProvenEligibilityBatch,
    ProvenEligibilityResponse,
)
from indexer.settings.api import ApiSettings

router = APIRouter(prefix="/v1/eligibility", tags=["eligibility"])

# 503: a proof was asked for and the chain's node is not configured or could not prove the block; 502: the node's
# proof does not hold for the envelope block (a lying or broken node).
_ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorResponse} for status in (404, 422, 502, 503)
}
# The batch also answers 400 (a body that is not JSON) and 413 (too many pairs, or too many bytes).
_BATCH_ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorResponse} for status in (400, 404, 413, 422, 502, 503)
}


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


async def _proven(
    engine: Engine,
    settings: ApiSettings,
    targets: Sequence[tuple[Target, Target]],
    *,
    chain_id: int | None,
    min_finality: Finality,
    limiter: CapacityLimiter | None = None,
) -> list[ProvenEligibilityResponse]:
    """The answers from one snapshot, then their proofs from the chains' nodes (off the database threads)."""

    def answer(session: Session) -> tuple[list[EligibilityResponse], dict[int, str | None]]:
        chains = load_chains(session, chain_id)
        data = eligibility_many(session, targets, chains=chains, min_finality=min_finality)
        return data, {chain.chain_id: chain.deposits_address for chain in chains}

    data, contracts = await read_snapshot(engine, answer, limiter=limiter)
    return await prove_answers(
        data, contracts=contracts, rpc_urls=settings.rpc_urls, timeout=settings.proof_rpc_timeout
    )


@router.get("", response_model=EligibilityResponse | ProvenEligibilityResponse, responses=_ERRORS)
async def get_eligibility(
    engine: EngineDep,
    settings: SettingsDep,
    sender: Annotated[str, Query(description="sender address or name", max_length=300)],
    recipient: Annotated[str, Query(description="recipient address or name", max_length=300)],
    chain_id: ChainIdQuery = None,
    min_finality: Annotated[Finality, Query(description="tier the deciding facts must reach")] = "latest",
    proof: Annotated[
        bool, Query(description="attach each chain's InboxDeposits storage proofs at the envelope block")
    ] = False,
) -> Response:
    """Eligible when eligible on any indexed chain (or on `chain_id`); one entry per chain with its envelope."""
    sender_target = parse_target(sender, what="sender")
    recipient_target = parse_target(recipient, what="recipient")
    if proof:
        proven = await _proven(
            engine,
            settings,
            [(sender_target, recipient_target)],
            chain_id=chain_id,
            min_finality=min_finality,
        )
        return _json(proven[0].model_dump_json().encode())
    if sender_target.name is None and recipient_target.name is None:  # the hot path: one prepared statement
        return _json(
            await read(
                lambda: (
                    address_pair_eligibility(
                        engine,
                        sender=sender_target,
                        recipient=recipient_target,
                        chain_id=chain_id,
                        min_finality=min_finality,
                    )
                    .model_dump_json()
                    .encode()
                )
            )
        )

    def answer(session: Session) -> bytes:
        return (
            eligibility(
                session,
                sender=sender_target,
                recipient=recipient_target,
                chains=load_chains(session, chain_id),
                min_finality=min_finality,
            )
            .model_dump_json()
            .encode()
        )

    return _json(await read_snapshot(engine, answer))


@router.post("", response_model=EligibilityBatch | ProvenEligibilityBatch, responses=_BATCH_ERRORS)
async def post_eligibility(
    body: EligibilityBatchRequest, engine: EngineDep, settings: SettingsDep, heavy: HeavyLimiterDep
) -> Response:
    """Up to `DM3_API_MAX_BATCH` (1,000) pairs in one snapshot; answers in request order. With `"proof": true`,
    up to `DM3_API_MAX_PROOF_BATCH` (100) pairs, each chain proven with one `eth_getProof`."""
    if len(body.pairs) > settings.max_batch:
        raise ApiError(f"at most {settings.max_batch} pairs per request, got {len(body.pairs)}", status=413)
    if body.proof:
        if len(body.pairs) > settings.max_proof_batch:
            raise ApiError(
                f"at most {settings.max_proof_batch} pairs per proven request, got {len(body.pairs)}",
                status=413,
            )
        targets = [
            (
                parse_target(p.sender, what=f"pairs.{i}.sender"),
                parse_target(p.recipient, what=f"pairs.{i}.recipient"),
            )
            for i, p in enumerate(body.pairs)
        ]
        proven = await _proven(
            engine, settings, targets, chain_id=body.chain_id, min_finality=body.min_finality, limiter=heavy
        )
        return _json(ProvenEligibilityBatch(data=proven, count=len(proven)).model_dump_json().encode())

    def answer(session: Session) -> bytes:
        targets = [
            (
                parse_target(p.sender, what=f"pairs.{i}.sender"),
                parse_target(p.recipient, what=f"pairs.{i}.recipient"),
            )
            for i, p in enumerate(body.pairs)
        ]
        chains = load_chains(session, body.chain_id)
        data = eligibility_many(session, targets, chains=chains, min_finality=body.min_finality)
        return EligibilityBatch(data=data, count=len(data)).model_dump_json().encode()

    return _json(await read_snapshot(engine, answer, limiter=heavy))
