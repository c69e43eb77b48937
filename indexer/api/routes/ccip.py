"""CCIP-read (EIP-3668) gateway: `GET /ccip/{sender}/{data}.json` and `POST /ccip`."""

from __future__ import annotations

import time

from fastapi import APIRouter, Response
from sqlmodel import Session

from indexer.api.deps import SessionDep, SettingsDep, SignerDep
from indexer.api.errors import ApiError
from indexer.api.queries.envelope import load_chains
from indexer.api.schemas import CcipRequest, CcipResponse, ErrorResponse
from indexer.gateway.records import SqlRecordSource
from indexer.gateway.service import ParentZone, RecordSource, answer_request
from indexer.gateway.signer import GatewaySigner
from indexer.settings.api import ApiSettings

router = APIRouter(prefix="/ccip", tags=["ccip-read gateway"])

_ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorResponse} for status in (400, 403, 404, 413, 422, 503)
}


def _hex(value: str, *, what: str) -> bytes:
    if not value.startswith("0x"):
        raise ApiError(f"{what} must be 0x-prefixed hex")
    try:
        return bytes.fromhex(value[2:])
    except ValueError as error:
        raise ApiError(f"{what} is not valid hex") from error


def _answer(
    *,
    sender_hex: str,
    data_hex: str,
    session: Session,
    settings: ApiSettings,
    signer: GatewaySigner,
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
    sender: str, data: str, session: SessionDep, settings: SettingsDep, signer: SignerDep, response: Response
) -> CcipResponse:
    """EIP-3668 GET: the URL template `{sender}/{data}.json` filled in by the client."""
    return _answer(
        sender_hex=sender, data_hex=data, session=session, settings=settings, signer=signer, response=response
    )


@router.post("", response_model=CcipResponse, responses=_ERRORS)
def ccip_post(
    body: CcipRequest, session: SessionDep, settings: SettingsDep, signer: SignerDep, response: Response
) -> CcipResponse:
    """EIP-3668 POST: `{sender, data}` in the body (clients use it when the URL template has no `{data}`)."""
    return _answer(
        sender_hex=body.sender,
        data_hex=body.data,
        session=session,
        settings=settings,
        signer=signer,
        response=response,
    )
