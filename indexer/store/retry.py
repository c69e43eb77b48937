"""Transient database errors, retried with bounded exponential backoff (tenacity).

Each retried call is one whole transaction: a failed attempt rolled back, or (when the connection died during
COMMIT) may have committed, which the writer recognises on the next attempt (see ``writer.ChainWriter.apply``).
So a retry never loses or repeats a block. Anything that is not transient (:func:`~indexer.store.db.is_transient`)
is raised at once; a transient error that outlasts the budget becomes :class:`DatabaseUnavailable`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_delay,
    wait_exponential,
)

from indexer.errors import UserError
from indexer.store.db import is_transient

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Backoff between attempts: 0.1 s doubling up to this.
MAX_WAIT_SECONDS = 5.0


class DatabaseUnavailable(UserError, RuntimeError):
    """Transient database errors went on for longer than the retry budget."""


def first_line(exc: BaseException) -> str:
    """SQLAlchemy's messages carry the SQL and a link after the first line: keep the reason only."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _log_retry(what: str) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        log.warning("%s: database error (%s); retrying in %.1fs", what, first_line(exc) if exc else "?", wait)

    return before_sleep


def _unavailable(what: str, seconds: float, exc: BaseException) -> DatabaseUnavailable:
    return DatabaseUnavailable(f"{what}: database unavailable for {seconds:.0f} s ({first_line(exc)})")


def retry_sync(fn: Callable[[], T], *, what: str, seconds: float) -> T:
    """``fn()``, retried on transient database errors for up to ``seconds``."""
    retrying = Retrying(
        retry=retry_if_exception(is_transient),
        wait=wait_exponential(multiplier=0.1, max=MAX_WAIT_SECONDS),
        stop=stop_after_delay(seconds),
        before_sleep=_log_retry(what),
        reraise=True,
    )
    try:
        return retrying(fn)
    except Exception as exc:
        if is_transient(exc):
            raise _unavailable(what, seconds, exc) from exc
        raise


async def retry_async(
    fn: Callable[[], Awaitable[T]],
    *,
    what: str,
    seconds: float,
    sleep: Callable[[float], Awaitable[None]],
) -> T:
    """``await fn()``, retried on transient database errors for up to ``seconds``; ``sleep`` waits between
    attempts (a sleep that returns early on shutdown makes the next attempt come sooner)."""
    retrying = AsyncRetrying(
        retry=retry_if_exception(is_transient),
        wait=wait_exponential(multiplier=0.1, max=MAX_WAIT_SECONDS),
        stop=stop_after_delay(seconds),
        before_sleep=_log_retry(what),
        sleep=sleep,
        reraise=True,
    )
    try:
        return await retrying(fn)
    except Exception as exc:
        if is_transient(exc):
            raise _unavailable(what, seconds, exc) from exc
        raise
