"""CCIP-read (EIP-3668) gateway: `GET /ccip/{sender}/{data}.json` and `POST /ccip`."""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Request, Response
from sqlmodel import Session

from indexer.api.deps import OptionalSignerDep, SessionDep, SettingsDep
from indexer.api.errors import ApiError
from indexer.api.queries.envelope import load_chains
from indexer.api.schemas import CcipRequest, CcipResponse, ErrorResponse
from indexer.gateway.codec import decode_resolve_call
from indexer.gateway.proving import ProofConfig, ProofUnavailable, ProvenAnswer, Prover
from indexer.gateway.records import SqlRecordSource
from indexer.gateway.service import ParentZone, RecordSource, answer_request, zone_for_name
from indexer.gateway.signer import GatewaySigner
from indexer.proofs.rpc import NodeError
from indexer.settings.api import ApiSettings

log = logging.getLogger(__name__)
router = APIRouter(prefix="/ccip", tags=["ccip-read gateway"])

_ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorResponse} for status in (400, 403, 404, 413, 422, 502, 503)
}


def _hex(value: str, *, what: str) -> bytes:
    if not value.startswith("0x"):
        raise ApiError(f"{what} must be 0x-prefixed hex")
    try:
        return bytes.fromhex(value[2:])
    except ValueError as error:
        raise ApiError(f"{what} is not valid hex") from error


def _prove(
    prover: Prover, sender_hex: str, call_data: bytes, zones: list[ParentZone], *, can_sign: bool
) -> ProvenAnswer | None:
    """The proof answer when the name's parent is in a proof mode on `sender`, else None (the signed path; also in
    mode 2, proven or signed, when no proof can be built now)."""
    request = decode_resolve_call(call_data)
    zone = zone_for_name(request.name, zones)
    try:
        config = prover.config(sender_hex, zone.parent_name)
    except NodeError as exc:
        log.warning("proof settings of %s: %s", zone.parent_name, exc)
        raise ApiError(
            "cannot tell how to answer: the gateway's L1 node did not answer", status=503
        ) from None
    if config is None:
        return None
    try:
        return prover.prove(request, config, zone.chain_id)
    except (ProofUnavailable, NodeError) as exc:
        if can_sign and _allows_signed(prover, sender_hex, config):
            log.warning("no proof for %s, answering signed (mode 2): %s", request.name, exc)
            return None
        if isinstance(exc, ProofUnavailable):
            raise ApiError(f"cannot prove the answer: {exc}", status=503) from None
        log.warning(
            "proof answer failed: %s", exc
        )  # names the node by host at most; the client gets none of it
        raise ApiError(
            "cannot prove the answer: the gateway's L1 or L2 node did not answer", status=503
        ) from None


def _allows_signed(prover: Prover, sender_hex: str, config: ProofConfig) -> bool:
    """The parent's mode is 2 (proven or signed); an L1 node that does not answer the question: no fallback."""
    try:
        return prover.allows_signed(sender_hex, config)
    except (NodeError, ProofUnavailable) as exc:
        log.warning("proof mode of %s: %s", sender_hex, exc)
        return False


def _answer(
    *,
    sender_hex: str,
    data_hex: str,
    session: Session,
    settings: ApiSettings,
    signer: GatewaySigner | None,
    prover: Prover | None,
    response: Response,
) -> CcipResponse:
    gateway = settings.gateway
    if len(data_hex) > 2 + 2 * gateway.max_calldata_bytes:
        raise ApiError(f"callData is larger than {gateway.max_calldata_bytes} bytes", status=413)
    sender = _hex(sender_hex, what="sender")
    if len(sender) != 20:
        raise ApiError("sender must be a 20-byte address")
    allowed = {address.lower() for address in gateway.resolvers}
    if allowed and sender_hex.lower() not in allowed:
        raise ApiError("sender is not a resolver this gateway serves", status=403)
    call_data = _hex(data_hex, what="callData")
    chains = load_chains(session)
    zones = [ParentZone(parent_name=c.parent_name, chain_id=c.chain_id) for c in chains if c.parent_name]

    def source_for_chain(chain_id: int) -> RecordSource:
        return SqlRecordSource(session, chain_id)

    if prover is not None:
        proven = _prove(prover, sender_hex, call_data, zones, can_sign=signer is not None)
        if proven is not None:
            commitment = proven.commitment
            op = commitment.game_index is not None
            response.headers["X-Dm3-Proof-Kind"] = "op-stack" if op else "arbitrum"
            response.headers["X-Dm3-Proof-L2-Block"] = str(commitment.l2_block)
            response.headers["X-Dm3-Proof-L2-Block-Hash"] = "0x" + proven.witness.block_hash.hex()
            if op:
                response.headers["X-Dm3-Proof-Game-Index"] = str(commitment.game_index)
            response.headers["X-Dm3-Proof-Commitment"] = commitment.reference
            response.headers["Cache-Control"] = f"public, max-age={int(prover.commitment_ttl)}"
            return CcipResponse(data="0x" + proven.response.hex())
    if signer is None:
        raise ApiError("the CCIP-read gateway has no signing key configured", status=503)
    now = int(time.time())
    signed = answer_request(
        sender=sender,
        call_data=call_data,
        zones=zones,
        source_for_chain=source_for_chain,
        signer=signer,
        now=now,
    )
    response.headers["Cache-Control"] = f"public, max-age={max(signed.expires - now, 0)}"
    return CcipResponse(data="0x" + signed.data.hex())


@router.get("/{sender}/{data}.json", response_model=CcipResponse, responses=_ERRORS)
def ccip_get(
    sender: str,
    data: str,
    session: SessionDep,
    settings: SettingsDep,
    signer: OptionalSignerDep,
    request: Request,
    response: Response,
) -> CcipResponse:
    """EIP-3668 GET: the URL template `{sender}/{data}.json` filled in by the client. A parent in a proof mode is
    answered with proofs (headers `X-Dm3-Proof-*` name the L2 block and the game/assertion), others signed."""
    return _answer(
        sender_hex=sender,
        data_hex=data,
        session=session,
        settings=settings,
        signer=signer,
        prover=request.app.state.prover,
        response=response,
    )


@router.post("", response_model=CcipResponse, responses=_ERRORS)
def ccip_post(
    body: CcipRequest,
    session: SessionDep,
    settings: SettingsDep,
    signer: OptionalSignerDep,
    request: Request,
    response: Response,
) -> CcipResponse:
    """EIP-3668 POST: `{sender, data}` in the body (clients use it when the URL template has no `{data}`)."""
    return _answer(
        sender_hex=body.sender,
        data_hex=body.data,
        session=session,
        settings=settings,
        signer=signer,
        prover=request.app.state.prover,
        response=response,
    )
