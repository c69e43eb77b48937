"""`/v1/eligibility`: may this sender reach this inbox?

The hot path of the service. The handlers are `async` and do their work (name parsing, the read, the JSON) in one
threadpool hop (`read` / `read_snapshot`), so a batch of 1,000 names never holds up the event loop. They answer
with the model's own JSON (`model_dump_json`): the models are built validated, so FastAPI's second validation
pass, and its extra threadpool hops for sync handlers, are skipped. The declared `response_model` still documents
the answer (and schemathesis checks every answer against it).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlmodel import Session

from indexer.api.deps import ChainIdQuery, EngineDep, HeavyLimiterDep, SettingsDep, read, read_snapshot
from indexer.api.errors import ApiError
from indexer.api.names import parse_target
from indexer.api.queries.eligibility import address_pair_eligibility, eligibility, eligibility_many
from indexer.api.queries.envelope import load_chains
from indexer.api.schemas import (
    EligibilityBatch,
    EligibilityBatchRequest,
    EligibilityResponse,
    ErrorResponse,
    Finality,
)

router = APIRouter(prefix="/v1/eligibility", tags=["eligibility"])

_ERRORS: dict[int | str, dict[str, object]] = {status: {"model": ErrorResponse} for status in (404, 422)}
# The batch also answers 400 (a body that is not JSON) and 413 (too many pairs, or too many bytes).
_BATCH_ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorResponse} for status in (400, 404, 413, 422)
}


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


@router.get("", response_model=EligibilityResponse, responses=_ERRORS)
async def get_eligibility(
    engine: EngineDep,
    sender: Annotated[str, Query(description="sender address or name", max_length=300)],
    recipient: Annotated[str, Query(description="recipient address or name", max_length=300)],
    chain_id: ChainIdQuery = None,
    min_finality: Annotated[Finality, Query(description="tier the deciding facts must reach")] = "latest",
) -> Response:
    """Eligible when eligible on any indexed chain (or on `chain_id`); one entry per chain with its envelope."""
    sender_target = parse_target(sender, what="sender")
    recipient_target = parse_target(recipient, what="recipient")
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


@router.post("", response_model=EligibilityBatch, responses=_BATCH_ERRORS)
async def post_eligibility(
    body: EligibilityBatchRequest, engine: EngineDep, settings: SettingsDep, heavy: HeavyLimiterDep
) -> Response:
    """Up to `DM3_API_MAX_BATCH` (1,000) pairs in one snapshot; answers in request order."""
    if len(body.pairs) > settings.max_batch:
        raise ApiError(f"at most {settings.max_batch} pairs per request, got {len(body.pairs)}", status=413)

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
