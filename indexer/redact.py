"""Secrets never leave the process: RPC URLs shown as scheme and host only.

Hosted RPC providers put the API key in the URL (``https://eth-mainnet.g.alchemy.com/v2/<key>``,
``https://mainnet.infura.io/v3/<key>``, ``https://user:pass@node.example``, ``?apikey=...``), so anything that
leaves the process (the chain's stored error that `/v1/status`, `/ready` and ``dm3-indexer status`` show, log
lines, CLI messages, exception texts) passes through :func:`redact_urls` or names the endpoint with
:func:`redact_url`. One helper, used everywhere, so no call site has its own idea of what is secret.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

# scheme://rest-of-url up to whitespace, a quote or a bracket (how URLs end inside messages and reprs), and not
# ending in punctuation that follows a URL in a sentence ("cannot reach http://host:1: refused").
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'\"<>()\[\]{},]*[^\s'\"<>()\[\]{},:.;!?]")


def redact_url(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: no userinfo, path, query or fragment (they may hold an API key)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:  # an unparseable URL (a bad port, an unclosed IPv6 bracket): show nothing of it
        return "<url>"
    if not parts.scheme:
        return "<url>"
    if not host:  # sqlite:///./data/dm3.db, file:///...: a local path, no host to show
        return f"{parts.scheme}://{parts.path}"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def redact_urls(text: str) -> str:
    """``text`` with every URL in it reduced to its scheme and host (see :func:`redact_url`)."""
    return _URL.sub(lambda match: redact_url(match.group()), text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts URLs in a record's message and in the traceback it carries.

    Installed on the handlers of the indexer CLI and the API server, so a URL inside a third-party exception
    (httpx, websockets) never reaches the logs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_urls(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = redact_urls(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact_urls(record.exc_text)
        return True
