"""`/v1/changes`: eligibility- and profile-relevant changes as they are indexed (SSE), and a long-poll fallback.

SSE framing, one event per change (``data`` is the :class:`~indexer.api.queries.changes.ChangeOut` JSON)::

    id: 1234
    event: change
    data: {"id":1234,"action":"apply","kind":"deposit","event":"Deposited",...}

plus a ``: ping`` comment every `heartbeat` seconds. Resume after a disconnect with the last seen id, as the
``Last-Event-ID`` header (what browsers' EventSource send) or ``?cursor=``; without either the stream starts
with changes indexed from now on. ``cursor=0`` replays the whole feed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from sse_starlette import EventSourceResponse, ServerSentEvent

from indexer.api.names import parse_address
from indexer.api.queries.changes import (
    CHANGE_KIND_NAMES,
    MAX_CHANGE_ID,
    ChangeFeed,
    ChangeFilter,
    ChangesPage,
    parse_change_id,
    parse_kinds,
    read_changes,
)
from indexer.api.schemas import ErrorResponse

router = APIRouter(prefix="/v1/changes", tags=["changes"])

_ERRORS: dict[int | str, dict[str, object]] = {status: {"model": ErrorResponse} for status in (404, 422, 503)}
_KINDS_HELP = f"comma-separated kinds: {', '.join(CHANGE_KIND_NAMES)} (rollbacks of those kinds included)"

ChainIdQuery = Annotated[int | None, Query(description="only this chain", ge=1, le=2**63 - 1)]
SenderQuery = Annotated[
    str | None, Query(description="only changes of pairs with this sender", max_length=100)
]
RecipientQuery = Annotated[
    str | None,
    Query(description="only changes of pairs with this recipient, and its price changes", max_length=100),
]
KindsQuery = Annotated[str | None, Query(description=_KINDS_HELP, max_length=400)]
CursorQuery = Annotated[
    int | None,
    Query(description="last change id seen; omit to start from now", ge=0, le=MAX_CHANGE_ID),
]


def change_feed(request: Request) -> ChangeFeed:
    """The process's change feed (created on first use, so the app factory needs no change-feed wiring)."""
    state = request.app.state
    feed: ChangeFeed | None = getattr(state, "change_feed", None)
    if feed is None:
        feed = state.change_feed = ChangeFeed(state.engine, state.settings.changes)
    return feed


def _filter(
    chain_id: int | None, sender: str | None, recipient: str | None, kinds: str | None
) -> ChangeFilter:
    return ChangeFilter(
        chain_id=chain_id,
        sender=parse_address(sender, what="sender") if sender is not None else None,
        recipient=parse_address(recipient, what="recipient") if recipient is not None else None,
        kinds=parse_kinds(kinds),
    )


def _last_event_id(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    return parse_change_id(value, what="Last-Event-ID")


@router.get(
    "",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "a stream of `change` events"},
        **_ERRORS,
    },
)
async def stream_changes(
    request: Request,
    chain_id: ChainIdQuery = None,
    sender: SenderQuery = None,
    recipient: RecipientQuery = None,
    kinds: KindsQuery = None,
    cursor: CursorQuery = None,
    last_event_id: Annotated[str | None, Header(description="resume after this change id")] = None,
) -> EventSourceResponse:
    """Server-Sent Events: every change after the cursor, then each new one as it is indexed."""
    where = _filter(chain_id, sender, recipient, kinds)
    resume = _last_event_id(last_event_id)
    start = resume if resume is not None else cursor
    feed = change_feed(request)
    settings = feed.settings
    # The first page is read before the response starts, so a bad chain_id is a 404, not a broken stream.
    first = await run_in_threadpool(
        read_changes,
        feed.engine,
        cursor=start,
        where=where,
        limit=settings.page_size,
        scan_span=settings.scan_span,
    )

    async def events() -> AsyncIterator[ServerSentEvent]:
        async with feed.subscribed():
            page = first
            while True:
                for change in page.data:
                    yield ServerSentEvent(data=change.model_dump_json(), id=str(change.id), event="change")
                position = page.next_cursor
                if not page.data and position >= feed.latest:
                    await feed.wait_beyond(position, settings.heartbeat)
                page = await run_in_threadpool(
                    read_changes,
                    feed.engine,
                    cursor=position,
                    where=where,
                    limit=settings.page_size,
                    scan_span=settings.scan_span,
                )

    # Where this stream starts: a client that asked for "from now on" resumes from here after a disconnect.
    origin = start if start is not None else first.next_cursor
    headers = {"Cache-Control": "no-store", "X-Change-Cursor": str(origin)}
    return EventSourceResponse(events(), ping=settings.heartbeat, headers=headers)


@router.get("/poll", response_model=ChangesPage, responses=_ERRORS)
async def poll_changes(
    request: Request,
    chain_id: ChainIdQuery = None,
    sender: SenderQuery = None,
    recipient: RecipientQuery = None,
    kinds: KindsQuery = None,
    cursor: CursorQuery = None,
    timeout: Annotated[float, Query(description="seconds to wait for a change", ge=0)] = 25.0,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> ChangesPage:
    """Long poll: the changes after `cursor`, waiting up to `timeout` seconds for one. Continue with
    `next_cursor`. Without `cursor`: the changes from now on (`timeout=0` just returns the current cursor)."""
    where = _filter(chain_id, sender, recipient, kinds)
    feed = change_feed(request)
    settings = feed.settings
    size = min(limit or settings.page_size, settings.page_size)
    wait = min(timeout, settings.max_wait)
    async with feed.subscribed():
        page = await run_in_threadpool(
            read_changes, feed.engine, cursor=cursor, where=where, limit=size, scan_span=settings.scan_span
        )
        deadline = feed_time() + wait
        while not page.data:
            remaining = deadline - feed_time()
            if remaining <= 0:
                break
            if page.next_cursor >= feed.latest and not await feed.wait_beyond(page.next_cursor, remaining):
                break
            page = await run_in_threadpool(
                read_changes,
                feed.engine,
                cursor=page.next_cursor,
                where=where,
                limit=size,
                scan_span=settings.scan_span,
            )
    return page


def feed_time() -> float:
    return anyio.current_time()
