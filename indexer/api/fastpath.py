"""The delivery nodes' hot paths, `GET` and `POST /v1/eligibility`, answered below FastAPI's routing.

Measured on the benchmark box, FastAPI's per-request parameter solving cost more than the whole database read, and
the middleware stack every route shares (metrics, CORS, the guards, Starlette's and FastAPI's own layers) several
times the answer itself (bench/api). So:

- `HotPath`: a `GET` in plain form (below) with the in-memory state (`indexer.api.state`) loaded and fresh is
  answered by the app object itself, before its middleware stack (`main.Dm3Api.__call__`), from the snapshot
  (`indexer.api.memory`), with what that stack would have done to it: counted in the route's metrics (status,
  latency), CORS's `Vary: Origin`, the concurrency limit's 503 (at the limit it hands over). A request that
  carries an `Origin` (CORS headers to write) or a body (the body guard's business) goes through the stack.
- `EligibilityFastPath`, innermost middleware (inside the guards, CORS and metrics): a plain `GET` the hot path did
  not take (the state is off or stale) is read from the database in the thread pool (`address_pair_eligibility`,
  addresses only); a `POST` batch is answered from the in-memory state in slices (`memory.batch_json`).

The plain form: `sender` and `recipient` (addresses or, from the in-memory state, names; at most 300 characters
each, the route's limit), an optional canonical decimal `chain_id`, an optional `min_finality`, each given once and
nothing else. Anything else (bad or unusual input, an unknown chain, a batch body the request model would coerce or
refuse, any error) goes on to the FastAPI route unchanged, which stays the reference: the tests compare both on
generated questions, status, headers and body byte for byte.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import cast
from urllib.parse import parse_qsl

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from indexer.api.errors import ApiError
from indexer.api.guards import InFlight, json_body, read_body, replaying
from indexer.api.memory import FINALITIES, MAX_TARGET_CHARS, batch_json, parse_batch, single_json
from indexer.api.metrics import ApiMetrics
from indexer.api.names import parse_target
from indexer.api.queries.eligibility import address_pair_eligibility
from indexer.api.schemas import MAX_CHAIN_ID, EligibilityResponse, Finality
from indexer.api.state import EligibilityState

log = logging.getLogger(__name__)

PATH = "/v1/eligibility"
_PARAMS = frozenset({"sender", "recipient", "chain_id", "min_finality"})
_CANONICAL_INT = re.compile(r"(0|[1-9][0-9]{0,18})\Z")
_PLAIN_QUERY = re.compile(rb"[A-Za-z0-9_.=&-]*\Z")  # nothing to decode: split it directly
_JSON = (b"content-type", b"application/json")
#: What the middleware stack adds to an answer without `Origin` (CORS: the answer varies with it).
_VARY = (b"vary", b"Origin")
#: Request headers the hot path leaves to the stack: CORS answers `Origin`, the body guard reads bodies.
_STACK_HEADERS = frozenset({b"origin", b"content-length", b"transfer-encoding"})


@dataclass(frozen=True)
class RouteTemplate:
    """What `scope["route"]` carries for an answer the fast path gave (metrics read `.path`)."""

    path: str


def plain_question(query_string: bytes, *, names: bool) -> tuple[str, str, int | None, Finality] | None:
    """The parameters when the query is the plain form (see the module docstring; `names`: names allowed, else
    addresses only), else None."""
    query = query_string.decode("latin-1")
    if _PLAIN_QUERY.match(query_string):
        fields = [field.split("=", 1) for field in query.split("&")]
        if any(len(field) != 2 for field in fields):
            return None  # parse_qsl's strict parsing refuses a field without "=" too
        pairs = cast(list[tuple[str, str]], [tuple(field) for field in fields])
    else:
        try:
            pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
        except ValueError:
            return None
    params = dict(pairs)
    if len(params) != len(pairs) or not params.keys() <= _PARAMS:
        return None
    sender, recipient = params.get("sender", ""), params.get("recipient", "")
    if names:
        if not 0 < len(sender) <= MAX_TARGET_CHARS or not 0 < len(recipient) <= MAX_TARGET_CHARS:
            return None
    elif not _is_address(sender) or not _is_address(recipient):
        return None
    chain_id: int | None = None
    if "chain_id" in params:
        if not _CANONICAL_INT.match(params["chain_id"]) or int(params["chain_id"]) > MAX_CHAIN_ID:
            return None
        chain_id = int(params["chain_id"])
    min_finality = params.get("min_finality", "latest")
    if min_finality not in FINALITIES:
        return None
    return sender, recipient, chain_id, cast(Finality, min_finality)


def _is_address(value: str) -> bool:
    """0x and 40 more characters (`parse_target`, inside the read, checks the hex and any checksum)."""
    return len(value) == 42 and value[:2] == "0x" and "." not in value


class HotPath:
    """`GET /v1/eligibility` in plain form from the in-memory state, for `main.Dm3Api` to answer before its
    middleware stack (see the module docstring)."""

    def __init__(self, state: EligibilityState, *, metrics: ApiMetrics, in_flight: InFlight) -> None:
        self.state = state
        self.in_flight = in_flight
        self.metrics = metrics

    def answer(self, scope: Scope) -> bytes | None:
        """The answer's body, or None when the stack must answer (then nothing was counted or sent)."""
        for name, value in scope["headers"]:
            if name in _STACK_HEADERS and not (name == b"content-length" and value == b"0"):
                return None
        if self.in_flight.full("requests"):
            return None  # the concurrency limit answers 503
        snapshot = self.state.snapshot()
        if snapshot is None:
            return None
        query: bytes = scope["query_string"]
        body: bytes | None = snapshot.memo.get(query)
        if body is None:
            question = plain_question(query, names=True)
            if question is None:
                return None
            body = single_json(snapshot, *question)
            if body is None:
                return None
            snapshot.memo.put(query, body)
        return body

    async def send(self, send: Send, body: bytes, started: float) -> None:
        """Send `body` as the stack would (its headers), and count it as the metrics middleware would."""
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(body)).encode()), _JSON, _VARY],
            }
        )
        await send({"type": "http.response.body", "body": body})
        self.metrics.count("GET", PATH, 200, started)


class EligibilityFastPath:
    def __init__(
        self, app: ASGIApp, *, engine: Engine, state: EligibilityState | None = None, max_batch: int = 1_000
    ) -> None:
        self.app = app
        self.engine = engine
        self.state = state
        self.max_batch = max_batch
        self.route = RouteTemplate(PATH)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH:
            if scope["method"] == "GET":
                question = plain_question(scope["query_string"], names=self.state is not None)
                if question is not None:
                    body = await self._answer(*question)
                    if body is not None:
                        await self._send(scope, send, body)
                        return
            elif scope["method"] == "POST" and self.state is not None:
                body = await read_body(receive)
                if body is None:
                    return  # the client left: nobody to answer
                receive = replaying(body, receive)
                batch = parse_batch(body) if json_body(scope) else None
                if batch is not None and len(batch.pairs) <= self.max_batch:
                    answer = await batch_json(self.state, batch)
                    if answer is not None:
                        await self._send(scope, send, answer)
                        return
        await self.app(scope, receive, send)

    async def _send(self, scope: Scope, send: Send, body: bytes) -> None:
        scope["route"] = self.route
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(body)).encode()), _JSON],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _answer(
        self, sender: str, recipient: str, chain_id: int | None, min_finality: Finality
    ) -> bytes | None:
        snapshot = self.state.snapshot() if self.state is not None else None
        if snapshot is not None:
            return single_json(snapshot, sender, recipient, chain_id, min_finality)
        if not (_is_address(sender) and _is_address(recipient)):
            return None  # names: the route reads them in a snapshot session

        def read() -> EligibilityResponse:
            return address_pair_eligibility(
                self.engine,
                sender=parse_target(sender, what="sender"),
                recipient=parse_target(recipient, what="recipient"),
                chain_id=chain_id,
                min_finality=min_finality,
            )

        try:
            answer = await run_in_threadpool(read)  # never on the event loop (see deps.read)
        except ApiError:
            return None  # the route answers it (a 4xx with its message)
        except Exception:
            log.debug("fast path failed; handing over to the route", exc_info=True)
            return None
        return answer.model_dump_json().encode()
