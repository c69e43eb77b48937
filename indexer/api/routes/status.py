"""`/v1/status`, `/health`, `/ready`, `/metrics`."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from indexer.api.chains import load_chains
from indexer.api.deps import SessionDep, SettingsDep
from indexer.api.schemas import ChainStatus, Health, Readiness, StatusResponse
from indexer.redact import redact_urls
from indexer.store.models import Chain

router = APIRouter(tags=["status"])


def _status(chain: Chain) -> ChainStatus:
    lag = None
    if chain.head_block is not None and chain.indexed_block is not None:
        lag = max(chain.head_block - chain.indexed_block, 0)
    return ChainStatus(
        chain_id=chain.chain_id,
        name=chain.name,
        parent_name=chain.parent_name,
        registry_address=chain.registry_address,
        deposits_address=chain.deposits_address,
        status=chain.status,
        # Written redacted by the indexer; redacted again for rows an older indexer wrote.
        error=redact_urls(chain.error) if chain.error else chain.error,
        head_block=chain.head_block,
        indexed_block=chain.indexed_block,
        indexed_block_hash=chain.indexed_block_hash,
        safe_block=chain.safe_block,
        finalized_block=chain.finalized_block,
        lag=lag,
        reorg_count=chain.reorg_count,
        updated_at=_aware(chain.updated_at),
    )


def _aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back naive; the indexer writes UTC, and the API promises RFC 3339 (with offset)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@router.get("/v1/status", response_model=StatusResponse)
def get_status(session: SessionDep) -> StatusResponse:
    """Per chain: head, indexed, safe and finalized blocks, lag, reorgs and indexer status."""
    data = [_status(chain) for chain in load_chains(session)]
    return StatusResponse(data=data, count=len(data))


@router.get("/health", response_model=Health)
def health() -> Health:
    """The process is up (no database access)."""
    return Health(status="ok")


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
def ready(session: SessionDep, settings: SettingsDep) -> Response:
    """200 when every configured chain is indexed within `DM3_API_READY_MAX_LAG_BLOCKS` of its head and not
    stopped; 503 with the reasons otherwise."""
    reasons: list[str] = []
    chains = [_status(chain) for chain in load_chains(session)]
    if not chains:
        reasons.append("no chain is indexed yet")
    for chain in chains:
        if chain.status == "stopped":
            reasons.append(f"chain {chain.chain_id} stopped: {chain.error or 'no reason recorded'}")
        elif chain.lag is None:
            reasons.append(f"chain {chain.chain_id} has not indexed a block yet")
        elif chain.lag > settings.ready_max_lag_blocks:
            reasons.append(f"chain {chain.chain_id} is {chain.lag} blocks behind its head")
    body = Readiness(ready=not reasons, message="; ".join(reasons) or "ready", reasons=reasons)
    return JSONResponse(status_code=503 if reasons else 200, content=body.model_dump())


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
