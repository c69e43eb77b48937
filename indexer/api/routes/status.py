"""`/v1/status`, `/health`, `/ready`, `/metrics`."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from indexer.api.deps import SessionDep, SettingsDep
from indexer.api.queries.envelope import load_chains
from indexer.api.schemas import ChainStatus, Health, ProofStatus, Readiness, StatusResponse
from indexer.gateway.proving import ProofUnavailable, Prover
from indexer.proofs.rpc import NodeError
from indexer.redact import redact_urls
from indexer.settings.api import ApiSettings
from indexer.store.models import Chain

log = logging.getLogger(__name__)
router = APIRouter(tags=["status"])


def proof_status(prover: Prover | None, settings: ApiSettings, chain: Chain) -> ProofStatus | None:
    """The newest provable block of `chain`'s parent on the first configured resolver, or None (signed / no
    proof path configured)."""
    if prover is None or not settings.gateway.resolvers or not chain.parent_name:
        return None
    try:
        config = prover.config(settings.gateway.resolvers[0], chain.parent_name)
        if config is None:
            return None
        commitment = prover.commitment(config, chain.chain_id)
    except ProofUnavailable as exc:
        return ProofStatus(error=str(exc))
    except NodeError as exc:
        log.warning("proof status of chain %s: %s", chain.chain_id, exc)
        return ProofStatus(error="the gateway's L1 or L2 node did not answer")
    return ProofStatus(
        kind="op-stack" if commitment.game_index is not None else "arbitrum",
        l2_block=commitment.l2_block,
        l2_block_age_seconds=round(time.time() - commitment.l2_timestamp, 1),
        commitment=commitment.reference,
        game_index=commitment.game_index,
    )


def stale_reason(chain: Chain, settings: ApiSettings, now: datetime) -> str | None:
    """Why `chain`'s answers may be old although its row says otherwise, or None. A chain being followed must
    show a write by the indexer and a head from the node within the bound (a dead indexer stops both, a dead node
    the second); a backfill writes at least every batch."""
    if chain.status not in ("live", "backfilling"):
        return None
    bound = max(settings.stale_after_blocks * (chain.block_time or 0.0), settings.stale_after_min_seconds)
    problems = []
    if chain.status == "live":
        if chain.head_seen_at is None:
            problems.append("no head seen from the node yet")
        elif (seen := (now - _aware(chain.head_seen_at)).total_seconds()) > bound:
            problems.append(f"no head from the node for {seen:.0f} s")
    written = (now - _aware(chain.updated_at)).total_seconds()
    if written > bound:
        problems.append(f"no write by the indexer for {written:.0f} s")
    return f"{' and '.join(problems)} (bound {bound:.0f} s)" if problems else None


def _status(chain: Chain, settings: ApiSettings, now: datetime) -> tuple[ChainStatus, str | None]:
    lag = None
    if chain.head_block is not None and chain.indexed_block is not None:
        lag = max(chain.head_block - chain.indexed_block, 0)
    stale = stale_reason(chain, settings, now)
    status = ChainStatus(
        chain_id=chain.chain_id,
        name=chain.name,
        parent_name=chain.parent_name,
        registry_address=chain.registry_address,
        deposits_address=chain.deposits_address,
        status="stale" if stale else chain.status,
        # Written redacted by the indexer; redacted again for rows an older indexer wrote.
        error=redact_urls(chain.error) if chain.error else chain.error,
        head_block=chain.head_block,
        indexed_block=chain.indexed_block,
        indexed_block_hash=chain.indexed_block_hash,
        indexed_block_timestamp=chain.indexed_block_timestamp,
        safe_block=chain.safe_block,
        finalized_block=chain.finalized_block,
        lag=lag,
        reorg_count=chain.reorg_count,
        updated_at=_aware(chain.updated_at),
        head_seen_at=_aware(chain.head_seen_at) if chain.head_seen_at is not None else None,
        block_time=chain.block_time,
        stale=stale is not None,
    )
    return status, stale


def _aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back naive; the indexer writes UTC, and the API promises RFC 3339 (with offset)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@router.get("/v1/status", response_model=StatusResponse)
def get_status(request: Request, session: SessionDep, settings: SettingsDep) -> StatusResponse:
    """Per chain: head, indexed, safe and finalized blocks, lag, reorgs and indexer status ("stale" when the
    indexer's last write or the node's last head is older than the staleness bound); with proof mode, the newest
    provable L2 block and its age."""
    now = datetime.now(UTC)
    prover = request.app.state.prover
    data = []
    for chain in load_chains(session):
        status = _status(chain, settings, now)[0]
        status.proof = proof_status(prover, settings, chain)
        data.append(status)
    return StatusResponse(data=data, count=len(data))


@router.get("/health", response_model=Health)
def health() -> Health:
    """The process is up (no database access)."""
    return Health(status="ok")


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
def ready(session: SessionDep, settings: SettingsDep) -> Response:
    """200 when every configured chain is indexed within `DM3_API_READY_MAX_LAG_BLOCKS` of its head, not stopped
    and not stale (`DM3_API_STALE_AFTER_BLOCKS`, `DM3_API_STALE_AFTER_MIN_SECONDS`); 503 with the reasons
    otherwise."""
    reasons: list[str] = []
    now = datetime.now(UTC)
    chains = [_status(chain, settings, now) for chain in load_chains(session)]
    if not chains:
        reasons.append("no chain is indexed yet")
    for chain, stale in chains:
        if chain.status == "stopped":
            reasons.append(f"chain {chain.chain_id} stopped: {chain.error or 'no reason recorded'}")
        elif stale is not None:
            reasons.append(f"chain {chain.chain_id} stale: {stale}")
        elif chain.lag is None:
            reasons.append(f"chain {chain.chain_id} has not indexed a block yet")
        elif chain.lag > settings.ready_max_lag_blocks:
            reasons.append(f"chain {chain.chain_id} is {chain.lag} blocks behind its head")
    body = Readiness(ready=not reasons, message="; ".join(reasons) or "ready", reasons=reasons)
    return JSONResponse(status_code=503 if reasons else 200, content=body.model_dump())


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
