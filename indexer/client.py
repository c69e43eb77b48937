"""A small typed client of the read API, sync (`Dm3Client`) and async (`AsyncDm3Client`), on httpx.

    with Dm3Client("http://127.0.0.1:8000") as api:
        if api.eligibility(sender, "alice.op.dm3.eth").eligible: ...

Results are the API's own response models. A 4xx answer raises `Dm3ApiError` with the API's message (a 404 for a
profile returns None instead); 5xx answers and connection errors are retried with exponential backoff, then
raise `Dm3ApiError` / the httpx error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel
from tenacity import (
    AsyncRetrying,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

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

__all__ = [
    "AsyncDm3Client",
    "BondOut",
    "DepositsPage",
    "Dm3ApiError",
    "Dm3Client",
    "EligibilityResponse",
    "ProfileResponse",
    "RecipientResponse",
    "StatusResponse",
]

BATCH_LIMIT = 1_000
Model = TypeVar("Model", bound=BaseModel)


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


def _eligibility_params(
    sender: str, recipient: str, chain_id: int | None, min_finality: Finality
) -> dict[str, Any]:
    params: dict[str, Any] = {"sender": sender, "recipient": recipient, "min_finality": min_finality}
    if chain_id is not None:
        params["chain_id"] = chain_id
    return params


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
        "pairs": [{"sender": s, "recipient": r} for s, r in chunk],
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
        self._retrying = Retrying(
            stop=stop_after_attempt(retries + 1),
            wait=wait_exponential(multiplier=backoff, max=5),
            retry=retry_if_exception(_retryable),
            reraise=True,
        )

    def __enter__(self) -> Dm3Client:
        return self

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
        return self._maybe(ProfileResponse, f"/v1/profiles/{name}")

    def address_profile(self, address: str) -> ProfileResponse | None:
        return self._maybe(ProfileResponse, f"/v1/addresses/{address}/profile")

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
        return await self._maybe(ProfileResponse, f"/v1/profiles/{name}")

    async def address_profile(self, address: str) -> ProfileResponse | None:
        return await self._maybe(ProfileResponse, f"/v1/addresses/{address}/profile")

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
