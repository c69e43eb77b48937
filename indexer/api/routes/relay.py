"""`POST /v1/relay`, `GET /v1/relay/{id}`, `GET /v1/relay/config`: the relayer's HTTP contract (docs/relay-api.md).

The checks live in `indexer.relayer.accept`; this module turns them into HTTP: 202 with the queued request, a 4xx
`{"message"}` (429 with `Retry-After`) for every refusal.

`RelayFastPath` answers the usual `POST /v1/relay` (a JSON object body, `Content-Type: application/json`) below
FastAPI's routing, with the same service call and the same answers byte for byte (the tests compare both): the
route's request parsing, dependency solving and response-model validation cost more CPU than the rest of the
framework together. Anything else (another content type, a body that is not a JSON object, no relayer configured)
goes on to the route, which stays the reference and documents the endpoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

from indexer import signing
from indexer.api.deps import read
from indexer.api.errors import ApiError
from indexer.api.guards import json_body, read_body, replaying
from indexer.api.schemas import MAX_CHAIN_ID, Envelope, ErrorResponse
from indexer.relayer.accept import Refused, RelayService
from indexer.store.models import finality_of

router = APIRouter(tags=["relay"])

RelayState = Literal["queued", "sent", "mined", "failed", "expired"]


class RelayAccepted(BaseModel):
    id: str
    state: RelayState
    chain_id: int
    function: str
    signer: str


class RelayStatus(BaseModel):
    id: str
    state: RelayState
    chain_id: int
    function: str
    signer: str
    tx_hash: str | None
    block_number: int | None
    envelope: Envelope | None
    error: str | None
    created_at: datetime
    updated_at: datetime


class RelayConfig(BaseModel):
    chain_id: int
    relayer: str | None
    batcher: str | None
    contracts: dict[str, str | None]
    functions: list[str]
    enabled: bool


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 401, 403, 404, 409, 422, 429, 503)
}


def _service(request: Request) -> RelayService:
    service: RelayService | None = request.app.state.relay
    if service is None:
        raise ApiError("this API has no relayer configured (DM3_RELAYER_CHAINS)", status=503)
    return service


def _checksum(address: str | None) -> str | None:
    from eth_utils import to_checksum_address

    return to_checksum_address(address) if address else None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@router.post("/v1/relay", status_code=202, response_model=RelayAccepted, responses=_ERRORS)
async def relay(
    request: Request,
    body: Annotated[
        dict[str, Any],
        Body(
            description="chain_id, function (a signed write), message (its EIP-712 fields), signature, and for "
            "deposit_with_sig an optional token permit {v, r, s}",
        ),
    ],
) -> Any:
    """Check a signed write (signature, nonce, deadline, authority, simulation) and queue it for the relayer."""
    service = _service(request)
    client = request.client.host if request.client else ""
    try:
        row = await service.accept(body, client=client, read=read)
    except Refused as refused:
        headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after is not None else None
        return JSONResponse(status_code=refused.status, content={"message": refused.message}, headers=headers)
    return RelayAccepted(
        id=row.id,
        state="queued",
        chain_id=row.chain_id,
        function=row.function,
        signer=_checksum(row.signer) or "",
    )


@dataclass(frozen=True)
class _RouteTemplate:
    """What `scope["route"]` carries for an answer the fast path gave (metrics read `.path`)."""

    path: str


_JSON = [(b"content-type", b"application/json")]


class RelayFastPath:
    """`POST /v1/relay` below FastAPI's routing (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, service: RelayService | None) -> None:
        self.app = app
        self.service = service
        self.route = _RouteTemplate("/v1/relay")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.service is None
            or scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != "/v1/relay"
            or not json_body(scope)
        ):
            await self.app(scope, receive, send)
            return
        raw = await read_body(receive)
        if raw is None:
            return  # the client left: nobody to answer
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):  # the route answers (its validation error)
            await self.app(scope, replaying(raw, receive), send)
            return
        client = scope["client"][0] if scope.get("client") else ""
        headers = list(_JSON)
        try:
            row = await self.service.accept(body, client=client, read=read)
        except Refused as refused:
            status = refused.status
            answer = json.dumps({"message": refused.message}, ensure_ascii=False, separators=(",", ":"))
            if refused.retry_after is not None:
                headers.append((b"retry-after", str(refused.retry_after).encode()))
        else:
            status = 202
            answer = json.dumps(
                {
                    "id": row.id,
                    "state": "queued",
                    "chain_id": row.chain_id,
                    "function": row.function,
                    "signer": _checksum(row.signer) or "",
                },
                separators=(",", ":"),
            )
        content = answer.encode()
        scope["route"] = self.route
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-length", str(len(content)).encode()), *headers],
            }
        )
        await send({"type": "http.response.body", "body": content})


@router.get("/v1/relay/config", response_model=RelayConfig, responses=_ERRORS)
async def relay_config(
    request: Request, chain_id: Annotated[int, Query(ge=1, le=MAX_CHAIN_ID, description="the chain")]
) -> RelayConfig:
    """The relayer of a chain: its account, batcher, contracts and the functions it carries."""
    service = _service(request)
    if service.settings.chain(chain_id) is None:
        raise ApiError(f"no relayer for chain {chain_id}", status=404)
    facts = await read(lambda: service.sender(chain_id))
    sender: dict[str, Any] | None = facts["sender"]
    chain: dict[str, Any] | None = facts["chain"]
    batcher = service.batcher(chain_id)
    registry = chain["registry_address"] if chain else None
    deposits = chain["deposits_address"] if chain else None
    running = sender is not None and bool(sender["address"])
    funded = sender is not None and int(sender["balance"]) >= service.settings.min_balance
    return RelayConfig(
        chain_id=chain_id,
        relayer=_checksum(sender["address"]) if sender is not None and running else None,
        batcher=batcher,
        contracts={"ProfileRegistry": _checksum(registry), "InboxDeposits": _checksum(deposits)},
        functions=sorted(service.settings.allowed or signing.SIGNED_FUNCTIONS),
        enabled=running and funded and batcher is not None and (registry or deposits) is not None,
    )


@router.get("/v1/relay/{request_id}", response_model=RelayStatus, responses=_ERRORS)
async def relay_status(request: Request, request_id: str) -> RelayStatus:
    """The state of a relay request: queued, sent (tx hash), mined (block, envelope), failed (reason), expired."""
    service = _service(request)
    found = await read(lambda: service.load(request_id)) if len(request_id) <= 64 else None
    if found is None:
        raise ApiError("unknown relay request", status=404)
    row, chain = found
    envelope = None
    if row["state"] in ("mined", "failed") and row["block_number"] is not None:
        tier = finality_of(row["block_number"], _Tags(chain)) if chain else "latest"
        envelope = Envelope(
            chain_id=row["chain_id"],
            block_number=row["block_number"],
            block_hash=row["block_hash"],
            block_timestamp=None,  # the queue keeps the block, not its time
            finality=tier,
        )
    return RelayStatus(
        id=row["id"],
        state=row["state"],
        chain_id=row["chain_id"],
        function=row["function"],
        signer=_checksum(row["signer"]) or "",
        tx_hash=row["tx_hash"] if row["state"] != "queued" else None,
        block_number=row["block_number"],
        envelope=envelope,
        error=row["error"],
        created_at=_aware(row["created_at"]),
        updated_at=_aware(row["updated_at"]),
    )


class _Tags:
    def __init__(self, chain: Any) -> None:
        self.safe_block = chain["safe_block"]
        self.finalized_block = chain["finalized_block"]
