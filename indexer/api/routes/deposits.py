"""`/v1/deposits` and `/v1/recipients/{address}`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from indexer.api.deps import ChainIdQuery, SessionDep, SettingsDep
from indexer.api.errors import ApiError
from indexer.api.names import parse_address
from indexer.api.queries.deposits import list_bonds, recipient_stats
from indexer.api.queries.envelope import load_chains
from indexer.api.schemas import DepositsPage, ErrorResponse, RecipientResponse

router = APIRouter(prefix="/v1", tags=["deposits"])

_ERRORS: dict[int | str, dict[str, object]] = {status: {"model": ErrorResponse} for status in (404, 422)}


@router.get("/deposits", response_model=DepositsPage, responses=_ERRORS)
def get_deposits(
    session: SessionDep,
    settings: SettingsDep,
    sender: Annotated[str | None, Query(max_length=100)] = None,
    recipient: Annotated[str | None, Query(max_length=100)] = None,
    chain_id: ChainIdQuery = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> DepositsPage:
    """Bonds of a sender and/or a recipient (at least one), ordered by (chain, sender, recipient); pass
    `next_cursor` back as `cursor` for the next page. `count` is the total over all pages."""
    if sender is None and recipient is None:
        raise ApiError("give sender, recipient or both", status=422)
    page_size = min(limit or settings.page_size, settings.max_page_size)
    return list_bonds(
        session,
        chains=load_chains(session, chain_id),
        sender=parse_address(sender, what="sender") if sender is not None else None,
        recipient=parse_address(recipient, what="recipient") if recipient is not None else None,
        limit=page_size,
        cursor=cursor,
    )


@router.get("/recipients/{address}", response_model=RecipientResponse, responses=_ERRORS)
def get_recipient(
    session: SessionDep, address: Annotated[str, Path(max_length=100)], chain_id: ChainIdQuery = None
) -> RecipientResponse:
    """Per chain: minimum deposit, open bonds, deposits, burns, releases, withdrawals and burn rate."""
    return recipient_stats(session, address=parse_address(address), chains=load_chains(session, chain_id))
