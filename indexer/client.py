"""A small typed client of the read API, sync (`Dm3Client`) and async (`AsyncDm3Client`), on httpx.

    with Dm3Client("http://127.0.0.1:8000") as api:
        if api.eligibility(sender, "alice.op.dm3.eth").eligible: ...
        for change in api.changes(recipient=inbox):  # SSE; reconnects from the last change id by itself
            ...

`EligibilityCache` keeps eligibility answers for a set of pairs in memory, correct from the change stream (a
delivery node answers from it without any request).

Results are the API's own response models. A 4xx answer raises `Dm3ApiError` with the API's message (a 404 for a
profile returns None instead); 5xx answers and connection errors are retried with exponential backoff, then
raise `Dm3ApiError` / the httpx error. Names are normalised (ENSIP-15) here with the API's own rule before they are
sent, so `Alice.OP.dm3.eth` asks for `alice.op.dm3.eth`; a name or address the API would refuse raises the
`Dm3ApiError(422, message)` the API would answer, without a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from httpx_sse import EventSource, SSEError
from pydantic import BaseModel
from tenacity import (
    AsyncRetrying,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_never,
    wait_exponential,
)

from indexer.api.changes import ChangeOut, ChangesPage
from indexer.api.errors import ApiError
from indexer.api.names import parse_address, parse_name, parse_target
from indexer.api.routes.relay import RelayAccepted, RelayConfig, RelayStatus
from indexer.api.schemas import (
    BondOut,
    DepositsPage,
    EligibilityBatch,
    EligibilityResponse,
    Finality,
    ProfileResponse,
    RecipientResponse,
    StatusResponse,
)
from indexer.signing import SIGNED_FUNCTIONS, sign, typed_data
from indexer.store.projection import kinds_touching

__all__ = [
    "AsyncDm3Client",
    "BondOut",
    "ChangeOut",
    "ChangesPage",
    "DepositsPage",
    "Dm3ApiError",
    "Dm3Client",
    "EligibilityCache",
    "EligibilityResponse",
    "ProfileResponse",
    "RecipientResponse",
    "RelayAccepted",
    "RelayConfig",
    "RelayStatus",
    "StatusResponse",
    "relay_body",
    "typed_data",
]

BATCH_LIMIT = 1_000
#: The server sends a heartbeat every 15 s; a stream silent for this long is dead and is reopened.
STREAM_READ_TIMEOUT = 45.0
Model = TypeVar("Model", bound=BaseModel)
Parsed = TypeVar("Parsed")


class Dm3ApiError(Exception):
    """The API refused the request (4xx) or kept failing (5xx); `message` is the API's explanation."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def _retryable(error: BaseException) -> bool:
    if isinstance(error, Dm3ApiError):
        return error.status >= 500
    return isinstance(error, httpx.TransportError)


def _raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        message = str(response.json().get("message", response.text))
    except ValueError:
        message = response.text[:200]
    raise Dm3ApiError(response.status_code, message)


def _checked(parse: Callable[..., Parsed], value: str, *, what: str) -> Parsed:
    """`parse(value, what=what)` from the API's own input rules; what it refuses is the API's 422, here."""
    try:
        return parse(value, what=what)
    except ApiError as error:
        raise Dm3ApiError(error.status, error.message) from None


def _target(value: str, *, what: str) -> str:
    """A sender or recipient as sent: a name in ENSIP-15 normal form, an address as given."""
    target = _checked(parse_target, value, what=what)
    return value if target.name is None else target.name


def _profile_path(name: str) -> str:
    return "/v1/profiles/" + quote(_checked(parse_name, name, what="name"), safe="")


def _address_profile_path(address: str) -> str:
    return f"/v1/addresses/{_checked(parse_address, address, what='address')}/profile"


def relay_body(
    function: str,
    message: dict[str, Any],
    signature: bytes,
    *,
    chain_id: int,
    permit: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `POST /v1/relay` body (docs/relay-api.md): uint256 as decimal strings, bytes as 0x hex."""

    def encode(value: Any) -> Any:
        if isinstance(value, bytes):
            return "0x" + value.hex()
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    body: dict[str, Any] = {
        "chain_id": chain_id,
        "function": function,
        "message": {name: encode(value) for name, value in message.items()},
        "signature": "0x" + signature.hex(),
    }
    if permit is not None:
        body["permit"] = {name: encode(value) if name != "v" else value for name, value in permit.items()}
    return body


def _eligibility_params(
    sender: str, recipient: str, chain_id: int | None, min_finality: Finality
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "sender": _target(sender, what="sender"),
        "recipient": _target(recipient, what="recipient"),
        "min_finality": min_finality,
    }
    if chain_id is not None:
        params["chain_id"] = chain_id
    return params


class StreamEnded(Exception):
    """The server closed the change stream (a restart, a proxy timeout): reconnect from the last cursor."""


def _stream_retryable(error: BaseException) -> bool:
    return _retryable(error) or isinstance(error, StreamEnded | SSEError | httpx.StreamError)


def _change_params(
    chain_id: int | None, sender: str | None, recipient: str | None, kinds: Iterable[str] | None
) -> dict[str, Any]:
    values = {
        "chain_id": chain_id,
        "sender": sender,
        "recipient": recipient,
        "kinds": ",".join(kinds) if kinds else None,
    }
    return {k: v for k, v in values.items() if v is not None}


def _stream_request(params: dict[str, Any], cursor: int | None) -> dict[str, Any]:
    headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
    if cursor is not None:
        headers["Last-Event-ID"] = str(cursor)
    return {
        "params": params,
        "headers": headers,
        "timeout": httpx.Timeout(10.0, read=STREAM_READ_TIMEOUT),
    }


def _chunks(pairs: Iterable[tuple[str, str]], size: int) -> Iterator[list[tuple[str, str]]]:
    chunk: list[tuple[str, str]] = []
    for pair in pairs:
        chunk.append(pair)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _batch_body(chunk: list[tuple[str, str]], chain_id: int | None, min_finality: Finality) -> dict[str, Any]:
    return {
        "pairs": [
            {
                "sender": _target(s, what=f"pairs.{i}.sender"),
                "recipient": _target(r, what=f"pairs.{i}.recipient"),
            }
            for i, (s, r) in enumerate(chunk)
        ],
        "chain_id": chain_id,
        "min_finality": min_finality,
    }


def _deposit_params(
    sender: str | None, recipient: str | None, chain_id: int | None, limit: int | None, cursor: str | None
) -> dict[str, Any]:
    values = {
        "sender": sender,
        "recipient": recipient,
        "chain_id": chain_id,
        "limit": limit,
        "cursor": cursor,
    }
    return {k: v for k, v in values.items() if v is not None}


class Dm3Client:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 0.2,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)
        self._backoff = backoff
        self._retrying = Retrying(
            stop=stop_after_attempt(retries + 1),
            wait=wait_exponential(multiplier=backoff, max=5),
            retry=retry_if_exception(_retryable),
            reraise=True,
        )

    def __enter__(self) -> Dm3Client:
        return self

    @property
    def base_url(self) -> str:
        return str(self._http.base_url)

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, model: type[Model], method: str, path: str, **kwargs: Any) -> Model:
        def once() -> Model:
            response = self._http.request(method, path, **kwargs)
            _raise_for(response)
            return model.model_validate(response.json())

        return self._retrying(once)

    def _maybe(self, model: type[Model], path: str) -> Model | None:
        try:
            return self._request(model, "GET", path)
        except Dm3ApiError as error:
            if error.status == 404:
                return None
            raise

    def eligibility(
        self, sender: str, recipient: str, *, chain_id: int | None = None, min_finality: Finality = "latest"
    ) -> EligibilityResponse:
        params = _eligibility_params(sender, recipient, chain_id, min_finality)
        return self._request(EligibilityResponse, "GET", "/v1/eligibility", params=params)

    def eligibility_batch(
        self,
        pairs: Iterable[tuple[str, str]],
        *,
        chain_id: int | None = None,
        min_finality: Finality = "latest",
        chunk_size: int = BATCH_LIMIT,
    ) -> list[EligibilityResponse]:
        """Any number of (sender, recipient) pairs, sent in chunks of at most 1,000; answers in input order.
        (Each chunk is one snapshot; different chunks may see different indexed blocks.)"""
        results: list[EligibilityResponse] = []
        for chunk in _chunks(pairs, min(chunk_size, BATCH_LIMIT)):
            body = _batch_body(chunk, chain_id, min_finality)
            results += self._request(EligibilityBatch, "POST", "/v1/eligibility", json=body).data
        return results

    def profile(self, name: str) -> ProfileResponse | None:
        return self._maybe(ProfileResponse, _profile_path(name))

    def address_profile(self, address: str) -> ProfileResponse | None:
        return self._maybe(ProfileResponse, _address_profile_path(address))

    def deposits(
        self,
        *,
        sender: str | None = None,
        recipient: str | None = None,
        chain_id: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> DepositsPage:
        params = _deposit_params(sender, recipient, chain_id, limit, cursor)
        return self._request(DepositsPage, "GET", "/v1/deposits", params=params)

    def iter_deposits(
        self, *, sender: str | None = None, recipient: str | None = None, chain_id: int | None = None
    ) -> Iterator[BondOut]:
        cursor: str | None = None
        while True:
            page = self.deposits(sender=sender, recipient=recipient, chain_id=chain_id, cursor=cursor)
            yield from page.data
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def recipient(self, address: str, *, chain_id: int | None = None) -> RecipientResponse:
        params = {"chain_id": chain_id} if chain_id is not None else {}
        return self._request(RecipientResponse, "GET", f"/v1/recipients/{address}", params=params)

    def status(self) -> StatusResponse:
        return self._request(StatusResponse, "GET", "/v1/status")

    # --- relayer ----------------------------------------------------------------------------------------------

    def relay_config(self, chain_id: int) -> RelayConfig:
        """The chain's relayer: its account, batcher, contracts (the EIP-712 domains) and allowed functions."""
        return self._request(RelayConfig, "GET", "/v1/relay/config", params={"chain_id": chain_id})

    def relay(
        self,
        function: str,
        message: dict[str, Any],
        *,
        chain_id: int,
        signature: bytes | None = None,
        private_key: str | bytes | None = None,
        permit: dict[str, Any] | None = None,
    ) -> RelayAccepted:
        """Queue a signed write with the relayer (202) or raise `Dm3ApiError` with the reason it was refused.

        Pass the `signature`, or a `private_key` to sign here (the domain's contract comes from the relay config).
        A retried request that the server had queued already answers 409 (its nonce is taken): nothing runs twice.
        """
        if signature is None:
            if private_key is None:
                raise ValueError("pass a signature or a private_key")
            contract = self.relay_config(chain_id).contracts.get(SIGNED_FUNCTIONS[function].contract)
            if contract is None:
                raise Dm3ApiError(
                    503, f"chain {chain_id}: the relayer knows no {SIGNED_FUNCTIONS[function].contract}"
                )
            signature = sign(function, message, private_key, chain_id=chain_id, verifying_contract=contract)
        body = relay_body(function, message, signature, chain_id=chain_id, permit=permit)
        return self._request(RelayAccepted, "POST", "/v1/relay", json=body)

    def relay_status(self, request_id: str) -> RelayStatus:
        return self._request(RelayStatus, "GET", f"/v1/relay/{request_id}")

    def wait_relayed(self, request_id: str, *, timeout: float = 120.0, poll: float = 0.25) -> RelayStatus:
        """Poll a relay request until it is mined, failed or expired (raises `TimeoutError` after `timeout` s)."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.relay_status(request_id)
            if status.state in ("mined", "failed", "expired"):
                return status
            if time.monotonic() > deadline:
                raise TimeoutError(f"relay request {request_id} is still {status.state} after {timeout} s")
            time.sleep(poll)

    def poll_changes(
        self,
        *,
        cursor: int | None = None,
        timeout: float = 0.0,
        chain_id: int | None = None,
        sender: str | None = None,
        recipient: str | None = None,
        kinds: Iterable[str] | None = None,
        limit: int | None = None,
    ) -> ChangesPage:
        """Long poll `/v1/changes/poll`. `cursor=None, timeout=0` returns the current cursor (no changes)."""
        params = _change_params(chain_id, sender, recipient, kinds)
        params.update({"timeout": timeout} | ({"cursor": cursor} if cursor is not None else {}))
        if limit is not None:
            params["limit"] = limit
        http_timeout = httpx.Timeout(10.0, read=timeout + 10.0)
        return self._request(ChangesPage, "GET", "/v1/changes/poll", params=params, timeout=http_timeout)

    def changes(
        self,
        *,
        cursor: int | None = None,
        chain_id: int | None = None,
        sender: str | None = None,
        recipient: str | None = None,
        kinds: Iterable[str] | None = None,
        reconnect: bool = True,
    ) -> Iterator[ChangeOut]:
        """Every change after `cursor` (None = from now on), as it is indexed, forever (SSE).

        A dropped connection is reopened (exponential backoff, tenacity) from the last change yielded, so the
        sequence has no gaps and no duplicates. With `reconnect=False` the iterator ends when the stream does.
        """
        params = _change_params(chain_id, sender, recipient, kinds)
        position = cursor
        while True:
            with contextlib.ExitStack() as stack:
                retrying = Retrying(
                    stop=stop_never if reconnect else stop_after_attempt(1),
                    wait=wait_exponential(multiplier=self._backoff, max=5),
                    retry=retry_if_exception(_stream_retryable),
                    reraise=True,
                )
                for attempt in retrying:
                    with attempt:
                        response = stack.enter_context(
                            self._http.stream("GET", "/v1/changes", **_stream_request(params, position))
                        )
                        if not response.is_success:
                            response.read()
                            _raise_for(response)
                if position is None and "x-change-cursor" in response.headers:
                    position = int(response.headers["x-change-cursor"])  # pin "from now on" for reconnects
                try:
                    for event in EventSource(response).iter_sse():
                        if event.event != "change":
                            continue
                        change = ChangeOut.model_validate_json(event.data)
                        position = change.id
                        yield change
                except (httpx.TransportError, httpx.StreamError, SSEError):
                    if not reconnect:
                        raise
            if not reconnect:
                return


class AsyncDm3Client:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 0.2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)
        self._retries = retries
        self._backoff = backoff

    async def __aenter__(self) -> AsyncDm3Client:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(self, model: type[Model], method: str, path: str, **kwargs: Any) -> Model:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._retries + 1),
            wait=wait_exponential(multiplier=self._backoff, max=5),
            retry=retry_if_exception(_retryable),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                response = await self._http.request(method, path, **kwargs)
                _raise_for(response)
                return model.model_validate(response.json())
        raise AssertionError("unreachable: tenacity reraises the last error")

    async def _maybe(self, model: type[Model], path: str) -> Model | None:
        try:
            return await self._request(model, "GET", path)
        except Dm3ApiError as error:
            if error.status == 404:
                return None
            raise

    async def eligibility(
        self, sender: str, recipient: str, *, chain_id: int | None = None, min_finality: Finality = "latest"
    ) -> EligibilityResponse:
        params = _eligibility_params(sender, recipient, chain_id, min_finality)
        return await self._request(EligibilityResponse, "GET", "/v1/eligibility", params=params)

    async def eligibility_batch(
        self,
        pairs: Iterable[tuple[str, str]],
        *,
        chain_id: int | None = None,
        min_finality: Finality = "latest",
        chunk_size: int = BATCH_LIMIT,
    ) -> list[EligibilityResponse]:
        results: list[EligibilityResponse] = []
        for chunk in _chunks(pairs, min(chunk_size, BATCH_LIMIT)):
            body = _batch_body(chunk, chain_id, min_finality)
            results += (await self._request(EligibilityBatch, "POST", "/v1/eligibility", json=body)).data
        return results

    async def profile(self, name: str) -> ProfileResponse | None:
        return await self._maybe(ProfileResponse, _profile_path(name))

    async def address_profile(self, address: str) -> ProfileResponse | None:
        return await self._maybe(ProfileResponse, _address_profile_path(address))

    async def deposits(
        self,
        *,
        sender: str | None = None,
        recipient: str | None = None,
        chain_id: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> DepositsPage:
        params = _deposit_params(sender, recipient, chain_id, limit, cursor)
        return await self._request(DepositsPage, "GET", "/v1/deposits", params=params)

    async def iter_deposits(
        self, *, sender: str | None = None, recipient: str | None = None, chain_id: int | None = None
    ) -> AsyncIterator[BondOut]:
        cursor: str | None = None
        while True:
            page = await self.deposits(sender=sender, recipient=recipient, chain_id=chain_id, cursor=cursor)
            for bond in page.data:
                yield bond
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def recipient(self, address: str, *, chain_id: int | None = None) -> RecipientResponse:
        params = {"chain_id": chain_id} if chain_id is not None else {}
        return await self._request(RecipientResponse, "GET", f"/v1/recipients/{address}", params=params)

    async def status(self) -> StatusResponse:
        return await self._request(StatusResponse, "GET", "/v1/status")

    async def relay_config(self, chain_id: int) -> RelayConfig:
        return await self._request(RelayConfig, "GET", "/v1/relay/config", params={"chain_id": chain_id})

    async def relay(
        self,
        function: str,
        message: dict[str, Any],
        *,
        chain_id: int,
        signature: bytes | None = None,
        private_key: str | bytes | None = None,
        permit: dict[str, Any] | None = None,
    ) -> RelayAccepted:
        """`Dm3Client.relay`, async."""
        if signature is None:
            if private_key is None:
                raise ValueError("pass a signature or a private_key")
            contract_name = SIGNED_FUNCTIONS[function].contract
            contract = (await self.relay_config(chain_id)).contracts.get(contract_name)
            if contract is None:
                raise Dm3ApiError(503, f"chain {chain_id}: the relayer knows no {contract_name}")
            signature = sign(function, message, private_key, chain_id=chain_id, verifying_contract=contract)
        body = relay_body(function, message, signature, chain_id=chain_id, permit=permit)
        return await self._request(RelayAccepted, "POST", "/v1/relay", json=body)

    async def relay_status(self, request_id: str) -> RelayStatus:
        return await self._request(RelayStatus, "GET", f"/v1/relay/{request_id}")

    async def wait_relayed(
        self, request_id: str, *, timeout: float = 120.0, poll: float = 0.25
    ) -> RelayStatus:
        """`Dm3Client.wait_relayed`, async."""
        deadline = time.monotonic() + timeout
        while True:
            status = await self.relay_status(request_id)
            if status.state in ("mined", "failed", "expired"):
                return status
            if time.monotonic() > deadline:
                raise TimeoutError(f"relay request {request_id} is still {status.state} after {timeout} s")
            await asyncio.sleep(poll)

    async def poll_changes(
        self,
        *,
        cursor: int | None = None,
        timeout: float = 0.0,
        chain_id: int | None = None,
        sender: str | None = None,
        recipient: str | None = None,
        kinds: Iterable[str] | None = None,
        limit: int | None = None,
    ) -> ChangesPage:
        params = _change_params(chain_id, sender, recipient, kinds)
        params.update({"timeout": timeout} | ({"cursor": cursor} if cursor is not None else {}))
        if limit is not None:
            params["limit"] = limit
        http_timeout = httpx.Timeout(10.0, read=timeout + 10.0)
        return await self._request(
            ChangesPage, "GET", "/v1/changes/poll", params=params, timeout=http_timeout
        )

    async def changes(
        self,
        *,
        cursor: int | None = None,
        chain_id: int | None = None,
        sender: str | None = None,
        recipient: str | None = None,
        kinds: Iterable[str] | None = None,
        reconnect: bool = True,
    ) -> AsyncIterator[ChangeOut]:
        """As :meth:`Dm3Client.changes`, for asyncio."""
        params = _change_params(chain_id, sender, recipient, kinds)
        position = cursor
        while True:
            async with contextlib.AsyncExitStack() as stack:
                retrying = AsyncRetrying(
                    stop=stop_never if reconnect else stop_after_attempt(1),
                    wait=wait_exponential(multiplier=self._backoff, max=5),
                    retry=retry_if_exception(_stream_retryable),
                    reraise=True,
                )
                async for attempt in retrying:
                    with attempt:
                        response = await stack.enter_async_context(
                            self._http.stream("GET", "/v1/changes", **_stream_request(params, position))
                        )
                        if not response.is_success:
                            await response.aread()
                            _raise_for(response)
                if position is None and "x-change-cursor" in response.headers:
                    position = int(response.headers["x-change-cursor"])
                try:
                    async for event in EventSource(response).aiter_sse():
                        if event.event != "change":
                            continue
                        change = ChangeOut.model_validate_json(event.data)
                        position = change.id
                        yield change
                except (httpx.TransportError, httpx.StreamError, SSEError):
                    if not reconnect:
                        raise
            if not reconnect:
                return


# --- a local eligibility cache kept correct by the change stream -------------------------------------------------


@dataclass
class _PairState:
    bond: int = 0
    accepted: bool = False
    withdrawal_pending: bool = False


def _eligible(state: _PairState | None, minimum: int) -> bool:
    """The contract's rule (indexer.api.eligibility.decide): accepted, or open inbox, or bond >= min and no
    withdrawal pending."""
    if state is not None and state.accepted:
        return True
    if minimum == 0:
        return True
    if state is None or state.bond == 0 or state.withdrawal_pending:
        return False
    return state.bond >= minimum


_BOND_KINDS = kinds_touching("bond")
_PRICE_KINDS = kinds_touching("price")
_PROFILE_KINDS = kinds_touching("profile")


class EligibilityCache:
    """Eligibility of a set of (sender, recipient) address pairs, answered from memory and kept correct by the
    change stream (the `latest` tier, like `GET /v1/eligibility` by default).

        cache = EligibilityCache(api)
        cache.track(pairs)                                    # seeds from the batch API
        threading.Thread(target=cache.follow, daemon=True).start()
        cache.eligible(sender, recipient)                     # no request

    Deposit events carry the pair's absolute state, so they are applied locally; a price change updates every
    tracked pair of that recipient. A rollback (reorg) or a change kind this client does not know re-fetches the
    affected pairs from the API. Pairs are lowercase 0x addresses.
    """

    def __init__(self, api: Dm3Client, *, chain_id: int | None = None) -> None:
        self.api = api
        self.chain_id = chain_id
        self.cursor: int | None = None  # last change applied
        self.refetches = 0
        self._pairs: dict[tuple[str, str], dict[int, _PairState]] = {}
        self._mins: dict[tuple[int, str], int] = {}
        self._lock = threading.RLock()

    def track(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Add pairs, seeded from the batch API. The stream cursor is taken first, so no change is missed."""
        wanted = [(s.lower(), r.lower()) for s, r in pairs]
        if self.cursor is None:
            self.cursor = self.api.poll_changes(timeout=0, chain_id=self.chain_id).next_cursor
        self._seed(wanted)

    def eligible(self, sender: str, recipient: str) -> bool:
        """Eligible on any chain where the recipient configured its inbox (on any chain when it configured none),
        like the API; an untracked pair is tracked (one API request) first."""
        key = (sender.lower(), recipient.lower())
        with self._lock:
            if key not in self._pairs:
                self.track([key])
            chains = self._pairs[key]
            # The API's cross-chain rule: the chains where the recipient configured its inbox decide.
            configured = [
                cid for cid, state in chains.items() if (cid, key[1]) in self._mins or state.accepted
            ]
            deciding = configured or list(chains)
            return any(_eligible(chains[cid], self._mins.get((cid, key[1]), 0)) for cid in deciding)

    def follow(self, stop: threading.Event | None = None) -> None:
        """Apply the change stream until `stop` is set (checked after each change); run it in a thread."""
        for change in self.api.changes(cursor=self.cursor, chain_id=self.chain_id):
            self.apply(change)
            if stop is not None and stop.is_set():
                return

    def apply(self, change: ChangeOut) -> None:
        with self._lock:
            self._apply(change)
            self.cursor = change.id

    def _apply(self, change: ChangeOut) -> None:
        cid, kind = change.chain_id, change.kind
        if kind in _PROFILE_KINDS and change.action == "apply":
            return  # profile records do not change eligibility
        affected = self._affected(change)
        if not affected:
            return
        if change.action != "apply" or kind not in _BOND_KINDS | _PRICE_KINDS:
            self._seed(affected)  # a rollback or an unknown kind: ask the API for the truth
            return
        if kind in _PRICE_KINDS:
            self._mins[(cid, str(change.recipient))] = int(change.args["amount"])
            return
        chains = self._pairs[affected[0]]
        if cid not in chains:
            self._seed(affected)  # a chain this pair was not seeded for
            return
        state = chains[cid]
        state.bond = int(change.args.get("bond", 0)) if kind != "withdrawal" else 0
        if kind == "release":
            state.accepted = True
        elif kind == "withdrawal_request":
            state.withdrawal_pending = True
        elif kind == "withdrawal":
            state.withdrawal_pending = False

    def _affected(self, change: ChangeOut) -> list[tuple[str, str]]:
        if change.sender is not None and change.recipient is not None:
            key = (change.sender, change.recipient)
            return [key] if key in self._pairs else []
        if change.recipient is not None:  # a price: every tracked pair of the recipient
            return [key for key in self._pairs if key[1] == change.recipient]
        return []

    def _seed(self, pairs: list[tuple[str, str]]) -> None:
        if not pairs:
            return
        answers = self.api.eligibility_batch(pairs, chain_id=self.chain_id)
        with self._lock:
            self.refetches += 1
            for (sender, recipient), answer in zip(pairs, answers, strict=True):
                chains = self._pairs.setdefault((sender, recipient), {})
                chains.clear()
                for entry in answer.chains:
                    cid = entry.envelope.chain_id
                    chains[cid] = _PairState(
                        bond=int(entry.bond),
                        accepted=entry.accepted,
                        withdrawal_pending=entry.withdrawal_pending,
                    )
                    if entry.inbox_configured and not entry.accepted:
                        self._mins[(cid, recipient)] = int(entry.min_deposit)
                    elif not entry.inbox_configured:
                        self._mins.pop((cid, recipient), None)
