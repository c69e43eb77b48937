"""The command-line boundary of every program (`dm3-indexer`, `dm3-relayer`, the API server, the devnet).

A :class:`~indexer.errors.UserError`, or a database the environment broke, becomes one line on stderr,
``<program>: error: <message>``, with URLs reduced to scheme and host (RPC URLs carry API keys) and no
traceback; exit status 1. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy.exc import ArgumentError, OperationalError

from indexer.errors import UserError
from indexer.redact import redact_urls

#: What a boundary reports as one line: our user errors, a database that is unreachable or refuses us, and a
#: database URL SQLAlchemy cannot use (unknown scheme or driver).
USER_ERRORS: tuple[type[BaseException], ...] = (UserError, OperationalError, ArgumentError)


class Fail(click.ClickException):
    """A one-line error of `program`; URLs in it are shown as scheme and host only."""

    def __init__(self, message: str, *, program: str) -> None:
        super().__init__(redact_urls(message))
        self.program = program

    def show(self, file: Any = None) -> None:
        click.echo(f"{self.program}: error: {self.message}", err=True)


def user_message(exc: BaseException) -> str:
    """The line to show for one of :data:`USER_ERRORS` (a database error: its first line, saying so)."""
    if isinstance(exc, OperationalError):
        return f"database unavailable: {str(exc).splitlines()[0]}"
    return str(exc)


@contextmanager
def user_errors(program: str) -> Iterator[None]:
    """Turn :data:`USER_ERRORS` raised inside the block into :class:`Fail` lines of `program`."""
    try:
        yield
    except USER_ERRORS as exc:
        raise Fail(user_message(exc), program=program) from None
