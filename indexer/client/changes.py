"""The change feed, client side, without I/O: the requests (`/v1/changes/poll`, the `/v1/changes` SSE stream and
where it resumes), and what each change kind means for the eligibility of the pairs a cache tracks.

Every change kind the client knows is named here (`BOND_KINDS`, `PRICE_KIND`, `PROFILE_KINDS`); a kind it does
not know makes `CachedPairs` ask the API again instead of guessing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import ServerSentEvent, SSEError
from tenacity import retry_if_exception, stop_after_attempt, stop_never, wait_exponential

from indexer import eligibility_rule as rule
from indexer.api.queries.changes import ChangeOut, ChangesPage
from indexer.api.schemas import EligibilityResponse
from indexer.client.calls import Call, model, retryable
from indexer.store.projection import kinds_touching

#: The server sends a heartbeat every 15 s; a stream silent for this long is dead and is reopened.
STREAM_READ_TIMEOUT = 45.0

#: Changes that carry a pair's absolute bond state (`args.bond`), applied locally.
BOND_KINDS = frozenset(kinds_touching("bond"))
#: A recipient's new minimum deposit (`args.amount`).
(PRICE_KIND,) = kinds_touching("price")
#: Changes of profile records and names: they never change eligibility.
PROFILE_KINDS = frozenset(kinds_touching("profile"))

#: What ends a stream early: the connection, the HTTP stream or the SSE framing failed.
STREAM_ERRORS = (httpx.TransportError, httpx.StreamError, SSEError)


def _filters(
    chain_id: int | None,
    sender: str | None,
    recipient: str | None,
    kinds: Iterable[str] | None,
    signer: str | None = None,
) -> dict[str, Any]:
    values = {
        "chain_id": chain_id,
        "sender": sender,
        "recipient": recipient,
        "kinds": ",".join(kinds) if kinds else None,
        "signer": signer,
    }
    return {k: v for k, v in values.items() if v is not None}


def poll_changes(
    *,
    cursor: int | None,
    timeout: float,
    chain_id: int | None,
    sender: str | None,
    recipient: str | None,
    kinds: Iterable[str] | None,
    limit: int | None,
    signer: str | None = None,
) -> Call[ChangesPage]:
    """Long poll `/v1/changes/poll`. `cursor=None, timeout=0` returns the current cursor (no changes).

    Relay requests come only when asked for: `kinds` naming "relay" (alone or with other kinds) or `signer`; a
    relay change has `action` "relay", `kind` "relay", `event` the request's new state and `args["id"]` the
    request id (docs/relay-api.md)."""
    params = _filters(chain_id, sender, recipient, kinds, signer)
    params.update({"timeout": timeout} | ({"cursor": cursor} if cursor is not None else {}))
    if limit is not None:
        params["limit"] = limit
    http_timeout = httpx.Timeout(10.0, read=timeout + 10.0)
    return Call("GET", "/v1/changes/poll", model(ChangesPage), params=params, timeout=http_timeout)


def _stream_retryable(error: BaseException) -> bool:
    return retryable(error) or isinstance(error, STREAM_ERRORS)


class ChangeStream:
    """`GET /v1/changes` (SSE) as one gapless sequence of changes across reconnections: each (re)connection asks
    for the changes after the last one read (`Last-Event-ID`)."""

    def __init__(
        self,
        *,
        cursor: int | None,
        chain_id: int | None,
        sender: str | None,
        recipient: str | None,
        kinds: Iterable[str] | None,
        signer: str | None = None,
    ) -> None:
        self.params = _filters(chain_id, sender, recipient, kinds, signer)
        self.position = cursor  # the last change read; None = from now on

    def request(self) -> dict[str, Any]:
        """The arguments of `httpx.Client.stream` / `httpx.AsyncClient.stream` for the next connection."""
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
        if self.position is not None:
            headers["Last-Event-ID"] = str(self.position)
        return {
            "method": "GET",
            "url": "/v1/changes",
            "params": self.params,
            "headers": headers,
            "timeout": httpx.Timeout(10.0, read=STREAM_READ_TIMEOUT),
        }

    @staticmethod
    def connect_policy(*, reconnect: bool, backoff: float) -> dict[str, Any]:
        """tenacity's arguments for opening the stream: forever with `reconnect`, else once."""
        return {
            "stop": stop_never if reconnect else stop_after_attempt(1),
            "wait": wait_exponential(multiplier=backoff, max=5),
            "retry": retry_if_exception(_stream_retryable),
            "reraise": True,
        }

    def opened(self, response: httpx.Response) -> None:
        """Pin "from now on" to the server's cursor, so that a reconnection misses nothing."""
        if self.position is None and "x-change-cursor" in response.headers:
            self.position = int(response.headers["x-change-cursor"])

    def read(self, event: ServerSentEvent) -> ChangeOut | None:
        """The change an event carries (None for other events)."""
        if event.event != "change":
            return None
        change = ChangeOut.model_validate_json(event.data)
        self.position = change.id
        return change


# --- the eligibility of tracked pairs, kept from the feed -------------------------------------------------------


@dataclass
class _PairState:
    bond: int = 0
    accepted: bool = False
    withdrawal_pending: bool = False


Pair = tuple[str, str]


class CachedPairs:
    """The facts of a set of (sender, recipient) address pairs on every chain, loaded from eligibility answers
    and kept from changes; `eligible` answers with `indexer.eligibility_rule`, like the API (at `latest`)."""

    def __init__(self) -> None:
        self._pairs: dict[Pair, dict[int, _PairState]] = {}
        self._mins: dict[tuple[int, str], int] = {}

    def __contains__(self, pair: Pair) -> bool:
        return pair in self._pairs

    def load(self, pair: Pair, answer: EligibilityResponse) -> None:
        """Replace what is known of `pair` with the API's answer about it."""
        recipient = pair[1]
        chains = self._pairs.setdefault(pair, {})
        chains.clear()
        for entry in answer.chains:
            cid = entry.envelope.chain_id
            chains[cid] = _PairState(
                bond=int(entry.bond), accepted=entry.accepted, withdrawal_pending=entry.withdrawal_pending
            )
            if entry.inbox_configured and not entry.accepted:
                self._mins[(cid, recipient)] = int(entry.min_deposit)
            elif not entry.inbox_configured:
                self._mins.pop((cid, recipient), None)

    def eligible(self, pair: Pair) -> bool:
        recipient = pair[1]
        verdicts = [
            rule.decide(
                min_deposit=self._mins.get((cid, recipient)),
                bond=state.bond,
                accepted=state.accepted,
                withdrawal_pending=state.withdrawal_pending,
            )
            for cid, state in self._pairs[pair].items()
        ]
        winners, _ = rule.across_chains(verdicts)
        return bool(winners)

    def apply(self, change: ChangeOut) -> list[Pair]:
        """Apply one change; returns the tracked pairs it made unknown (a rollback, a kind this client does not
        know, a chain a pair was not loaded for): ask the API about them and `load` its answers."""
        cid, kind = change.chain_id, change.kind
        if change.action == "relay":
            return []  # a relay request's state: its write changes eligibility once indexed (its own change)
        if kind in PROFILE_KINDS and change.action == "apply":
            return []  # profile records do not change eligibility
        affected = self._affected(change)
        if not affected:
            return []
        if change.action != "apply" or kind not in BOND_KINDS | {PRICE_KIND}:
            return affected  # a rollback or an unknown kind: ask the API for the truth
        if kind == PRICE_KIND:
            self._mins[(cid, str(change.recipient))] = int(change.args["amount"])
            return []
        chains = self._pairs[affected[0]]
        if cid not in chains:
            return affected
        state = chains[cid]
        state.bond = int(change.args.get("bond", 0)) if kind != "withdrawal" else 0
        if kind == "release":
            state.accepted = True
        elif kind == "withdrawal_request":
            state.withdrawal_pending = True
        elif kind == "withdrawal":
            state.withdrawal_pending = False
        return []

    def _affected(self, change: ChangeOut) -> list[Pair]:
        if change.sender is not None and change.recipient is not None:
            key = (change.sender, change.recipient)
            return [key] if key in self._pairs else []
        if change.recipient is not None:  # a price: every tracked pair of the recipient
            return [key for key in self._pairs if key[1] == change.recipient]
        return []
