"""FastAPI dependencies: settings, the snapshot session, the gateway signer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlmodel import Session

from indexer.api.errors import ApiError
from indexer.api.schemas import MAX_CHAIN_ID
from indexer.api.settings import ApiSettings
from indexer.gateway.signer import GatewaySigner
from indexer.store.db import snapshot_session


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """One read transaction per request: every row an answer uses, chain checkpoints included, comes from the same
    snapshot (SQLite WAL read transaction / PostgreSQL REPEATABLE READ READ ONLY)."""
    with snapshot_session(request.app.state.engine) as session:
        yield session


def get_signer(request: Request) -> GatewaySigner:
    signer: GatewaySigner | None = request.app.state.signer
    if signer is None:
        raise ApiError("the CCIP-read gateway has no signing key configured", status=503)
    return signer


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
SignerDep = Annotated[GatewaySigner, Depends(get_signer)]
#: The optional `chain_id` filter every chain-scoped route takes.
ChainIdQuery = Annotated[int | None, Query(ge=0, le=MAX_CHAIN_ID, description="only this chain")]
