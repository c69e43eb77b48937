"""`/v1/profiles/{name}` and `/v1/addresses/{address}/profile`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from indexer.api.deps import SessionDep
from indexer.api.errors import ApiError
from indexer.api.names import parse_address, parse_name
from indexer.api.queries.envelope import load_chains
from indexer.api.queries.profiles import profile_for_address, profile_for_name
from indexer.api.schemas import ErrorResponse, ProfileResponse

router = APIRouter(prefix="/v1", tags=["profiles"])

_ERRORS: dict[int | str, dict[str, object]] = {status: {"model": ErrorResponse} for status in (404, 422)}


@router.get("/profiles/{name}", response_model=ProfileResponse, responses=_ERRORS)
def get_profile(session: SessionDep, name: Annotated[str, Path(max_length=300)]) -> ProfileResponse:
    """A name's owner, addresses, text records and parsed dm3 profile (with `signature_valid`)."""
    parsed = parse_name(name)
    profile = profile_for_name(session, parsed, load_chains(session))
    if profile is None:
        raise ApiError(f"no indexed registry holds the name {parsed!r}", status=404)
    return profile


@router.get("/addresses/{address}/profile", response_model=ProfileResponse, responses=_ERRORS)
def get_address_profile(
    session: SessionDep, address: Annotated[str, Path(max_length=100)]
) -> ProfileResponse:
    """The profile an address publishes: its primary name's if that resolves back to it, else its address name's."""
    parsed = parse_address(address)
    profile = profile_for_address(session, parsed, load_chains(session))
    if profile is None:
        raise ApiError(f"address {parsed} publishes no profile on any indexed chain", status=404)
    return profile
