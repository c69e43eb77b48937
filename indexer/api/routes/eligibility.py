"""`/v1/eligibility`: may this sender reach this inbox?"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from indexer.api.chains import load_chains
from indexer.api.deps import ChainIdQuery, SessionDep, SettingsDep
from indexer.api.eligibility import eligibility
from indexer.api.errors import ApiError
from indexer.api.names import parse_target
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


@router.get("", response_model=EligibilityResponse, responses=_ERRORS)
def get_eligibility(
    session: SessionDep,
    sender: Annotated[str, Query(description="sender address or name", max_length=300)],
    recipient: Annotated[str, Query(description="recipient address or name", max_length=300)],
    chain_id: ChainIdQuery = None,
    min_finality: Annotated[Finality, Query(description="tier the deciding facts must reach")] = "latest",
) -> EligibilityResponse:
    """Eligible when eligible on any indexed chain (or on `chain_id`); one entry per chain with its envelope."""
    chains = load_chains(session, chain_id)
    return eligibility(
        session,
        sender=parse_target(sender, what="sender"),
        recipient=parse_target(recipient, what="recipient"),
        chains=chains,
        min_finality=min_finality,
    )


@router.post("", response_model=EligibilityBatch, responses=_BATCH_ERRORS)
def post_eligibility(
    body: EligibilityBatchRequest, session: SessionDep, settings: SettingsDep
) -> EligibilityBatch:
    """Up to `DM3_API_MAX_BATCH` (1,000) pairs in one snapshot; answers in request order."""
    if len(body.pairs) > settings.max_batch:
        raise ApiError(f"at most {settings.max_batch} pairs per request, got {len(body.pairs)}", status=413)
    chains = load_chains(session, body.chain_id)
    targets = [
        (
            parse_target(p.sender, what=f"pairs[{i}].sender"),
            parse_target(p.recipient, what=f"pairs[{i}].recipient"),
        )
        for i, p in enumerate(body.pairs)
    ]
    data = [
        eligibility(session, sender=s, recipient=r, chains=chains, min_finality=body.min_finality)
        for s, r in targets
    ]
    return EligibilityBatch(data=data, count=len(data))
