"""`AsyncDm3Client`: the operations of `calls` and `changes`, executed on `httpx.AsyncClient` (send, retry,
sleep). Each method is `Dm3Client`'s, awaited."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Any, TypeVar

import httpx
from httpx_sse import EventSource
from tenacity import AsyncRetrying

from indexer.api.queries.changes import ChangeOut, ChangesPage
from indexer.api.routes.relay import RelayAccepted, RelayConfig, RelayStatus
from indexer.api.schemas import (
    BondOut,
    DepositsPage,
    EligibilityResponse,
    Finality,
    ProfileResponse,
    RecipientResponse,
    StatusResponse,
)
from indexer.client import calls
from indexer.client.calls import BATCH_LIMIT, Call, Pause, Plan, raise_for
from indexer.client.changes import STREAM_ERRORS, ChangeStream, poll_changes

Result = TypeVar("Result")


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
        self._backoff = backoff
        self._retry = calls.retry_policy(retries=retries, backoff=backoff)

    async def __aenter__(self) -> AsyncDm3Client:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    @property
    def base_url(self) -> str:
        return str(self._http.base_url)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, call: Call[Result]) -> Result:
        async def once() -> Result:
            return call.read(await self._http.request(**call.request()))

        return await AsyncRetrying(**self._retry)(once)

    async def _run(self, plan: Plan[Result]) -> Result:
        reply: Any = None
        while True:
            try:
                step = plan.send(reply)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            if isinstance(step, Pause):
                await asyncio.sleep(step.seconds)
                reply = None
            else:
                reply = await self._send(step)

    async def eligibility(
        self,
        sender: str,
        recipient: str,
        *,
        chain_id: int | None = None,
        min_finality: Finality = "latest",
        proof: bool = False,
    ) -> EligibilityResponse:
        """With `proof=True`, a `ProvenEligibilityResponse`: check it with `verify_eligibility_proof`."""
        return await self._send(
            calls.eligibility(sender, recipient, chain_id=chain_id, min_finality=min_finality, proof=proof)
        )

    async def eligibility_batch(
        self,
        pairs: Iterable[tuple[str, str]],
        *,
        chain_id: int | None = None,
        min_finality: Finality = "latest",
        chunk_size: int = BATCH_LIMIT,
        proof: bool = False,
    ) -> list[EligibilityResponse]:
        return await self._run(
            calls.eligibility_batch(
                pairs, chain_id=chain_id, min_finality=min_finality, chunk_size=chunk_size, proof=proof
            )
        )

    async def profile(self, name: str) -> ProfileResponse | None:
        return await self._send(calls.profile(name))

    async def address_profile(self, address: str) -> ProfileResponse | None:
        return await self._send(calls.address_profile(address))

    async def deposits(
        self,
        *,
        sender: str | None = None,
        recipient: str | None = None,
        chain_id: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> DepositsPage:
        return await self._send(
            calls.deposits(sender=sender, recipient=recipient, chain_id=chain_id, limit=limit, cursor=cursor)
        )

    async def iter_deposits(
        self, *, sender: str | None = None, recipient: str | None = None, chain_id: int | None = None
    ) -> AsyncIterator[BondOut]:
        pages = calls.DepositPages(sender=sender, recipient=recipient, chain_id=chain_id)
        while (call := pages.next_call()) is not None:
            for bond in pages.bonds(await self._send(call)):
                yield bond

    async def recipient(self, address: str, *, chain_id: int | None = None) -> RecipientResponse:
        return await self._send(calls.recipient(address, chain_id=chain_id))

    async def status(self) -> StatusResponse:
        return await self._send(calls.status())

    # --- relayer ----------------------------------------------------------------------------------------------

    async def relay_config(self, chain_id: int) -> RelayConfig:
        return await self._send(calls.relay_config(chain_id))

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
        return await self._run(
            calls.relay(
                function,
                message,
                chain_id=chain_id,
                signature=signature,
                private_key=private_key,
                permit=permit,
            )
        )

    async def relay_status(self, request_id: str) -> RelayStatus:
        return await self._send(calls.relay_status(request_id))

    async def wait_relayed(
        self, request_id: str, *, timeout: float = 120.0, poll: float = 0.25
    ) -> RelayStatus:
        return await self._run(calls.wait_relayed(request_id, timeout=timeout, poll=poll))

    # --- change feed ------------------------------------------------------------------------------------------

    async def poll_changes(
        self,
        *,
        cursor: int | None = None,
        timeout: float = 0.0,
        chain_id: int | None = None,
        sender: str | None = None,
        recipient: str | None = None,
        kinds: Iterable[str] | None = None,
        signer: str | None = None,
        limit: int | None = None,
    ) -> ChangesPage:
        return await self._send(
            poll_changes(
                cursor=cursor,
                timeout=timeout,
                chain_id=chain_id,
                sender=sender,
                recipient=recipient,
                kinds=kinds,
                limit=limit,
                signer=signer,
            )
        )

    async def changes(
        self,
        *,
        cursor: int | None = None,
        chain_id: int | None = None,
        sender: str | None = None,
        recipient: str | None = None,
        kinds: Iterable[str] | None = None,
        signer: str | None = None,
        reconnect: bool = True,
    ) -> AsyncIterator[ChangeOut]:
        stream = ChangeStream(
            cursor=cursor, chain_id=chain_id, sender=sender, recipient=recipient, kinds=kinds, signer=signer
        )
        while True:
            async with contextlib.AsyncExitStack() as stack:
                async for attempt in AsyncRetrying(
                    **stream.connect_policy(reconnect=reconnect, backoff=self._backoff)
                ):
                    with attempt:
                        response = await stack.enter_async_context(self._http.stream(**stream.request()))
                        if not response.is_success:
                            await response.aread()
                            raise_for(response)
                stream.opened(response)
                try:
                    async for event in EventSource(response).aiter_sse():
                        if (change := stream.read(event)) is not None:
                            yield change
                except STREAM_ERRORS:
                    if not reconnect:
                        raise
            if not reconnect:
                return
