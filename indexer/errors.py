"""The project's error root: every error of ours derives from :class:`Dm3Error`.

:class:`UserError` is the part a person can act on (a setting, an argument, the database or node they point
at, another process holding what this one needs): the command-line boundaries catch it and print its message
(URLs reduced to scheme and host, see ``indexer/redact.py``) without a stack trace. Anything else that reaches a
boundary is a bug and keeps its traceback.
"""

from __future__ import annotations


class Dm3Error(Exception):
    """Base of every error this project raises on purpose."""


class UserError(Dm3Error):
    """An error whose message tells the operator what to fix; shown as one line, never with a traceback."""
