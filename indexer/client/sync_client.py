"""`Dm3Client`: the operations of `calls` and `changes`, executed on `httpx.Client` (send, retry, sleep)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import httpx
from httpx_sse import EventSource
from tenacity import Retrying

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
        self._retry = calls.retry_policy(retries=retries, backoff=backoff)

    def __enter__(self) -> Dm3Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        return str(self._http.base_url)

    def close(self) -> None:
        self._http.close()

    def _send(self, call: Call[Result]) -> Result:
        return Retrying(**self._retry)(lambda: call.read(self._http.request(**call.request())))

    def _run(self, plan: Plan[Result]) -> Result:
        reply: Any = None
        while True:
            try:
                step = plan.send(reply)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            if isinstance(step, Pause):
                time.sleep(step.seconds)
                reply = None
            else:
                reply = self._send(step)

    def eligibility(
        self,
        sender: str,
        recipient: str,
        *,
        chain_id: int | None = None,
        min_finality: Finality = "latest",
        proof: bool = False,
    ) -> EligibilityResponse:
        """With `proof=True`, a `ProvenEligibilityResponse`: check it with `verify_eligibility_proof`."""
        return self._send(
            calls.eligibility(sender, recipient, chain_id=chain_id, min_finality=min_finality, proof=proof)
        )

    def eligibility_batch(
        self,
        pairs: Iterable[tuple[str, str]],
        *,
        chain_id: int | None = None,
        min_finality: Finality = "latest",
        chunk_size: int = BATCH_LIMIT,
        proof: bool = False,
    ) -> list[EligibilityResponse]:
        """Any number of (sender, recipient) pairs, sent in chunks of at most 1,000 (100 with `proof=True`);
        answers in input order. (Each chunk is one snapshot; different chunks may see different indexed blocks.)"""
        return self._run(
            calls.eligibility_batch(
                pairs, chain_id=chain_id, min_finality=min_finality, chunk_size=chunk_size, proof=proof
            )
        )

    def profile(self, name: str) -> ProfileResponse | None:
        return self._send(calls.profile(name))

    def address_profile(self, address: str) -> ProfileResponse | None:
        return self._send(calls.address_profile(address))

    def deposits(
        self,
        *,
        sender: str | None = None,
        recipient: str | None = None,
        chain_id: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> DepositsPage:
        return self._send(
            calls.deposits(sender=sender, recipient=recipient, chain_id=chain_id, limit=limit, cursor=cursor)
        )

    def iter_deposits(
        self, *, sender: str | None = None, recipient: str | None = None, chain_id: int | None = None
    ) -> Iterator[BondOut]:
        pages = calls.DepositPages(sender=sender, recipient=recipient, chain_id=chain_id)
        while (call := pages.next_call()) is not None:
            yield from pages.bonds(self._send(call))

    def recipient(self, address: str, *, chain_id: int | None = None) -> RecipientResponse:
        return self._send(calls.recipient(address, chain_id=chain_id))

    def status(self) -> StatusResponse:
        return self._send(calls.status())

    # --- relayer ----------------------------------------------------------------------------------------------

    def relay_config(self, chain_id: int) -> RelayConfig:
        """The chain's relayer: its account, batcher, contracts (the EIP-712 domains) and allowed functions."""
        return self._send(calls.relay_config(chain_id))

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
        return self._run(
            calls.relay(
                function,
                message,
                chain_id=chain_id,
                signature=signature,
                private_key=private_key,
                permit=permit,
            )
        )

    def relay_status(self, request_id: str) -> RelayStatus:
        return self._send(calls.relay_status(request_id))

    def wait_relayed(self, request_id: str, *, timeout: float = 120.0, poll: float = 0.25) -> RelayStatus:
        """Poll a relay request until it is mined, failed or expired (raises `TimeoutError` after `timeout` s)."""
        return self._run(calls.wait_relayed(request_id, timeout=timeout, poll=poll))

    # --- change feed ------------------------------------------------------------------------------------------

    def poll_changes(
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
        """Long poll `/v1/changes/poll`. `cursor=None, timeout=0` returns the current cursor (no changes)."""
        return self._send(
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

    def changes(
        self,
        *,
        cursor: int | None = None,
        chain_id: int | None = None,
        sender: str | None = None,
        recipient: str | None = None,
        kinds: Iterable[str] | None = None,
        signer: str | None = None,
        reconnect: bool = True,
    ) -> Iterator[ChangeOut]:
        """Every change after `cursor` (None = from now on), as it is indexed, forever (SSE).

        A dropped connection is reopened (exponential backoff, tenacity) from the last change yielded, so the
        sequence has no gaps and no duplicates. With `reconnect=False` the iterator ends when the stream does.
        """
        stream = ChangeStream(
            cursor=cursor, chain_id=chain_id, sender=sender, recipient=recipient, kinds=kinds, signer=signer
        )
        while True:
            with contextlib.ExitStack() as stack:
                for attempt in Retrying(**stream.connect_policy(reconnect=reconnect, backoff=self._backoff)):
                    with attempt:
                        response = stack.enter_context(self._http.stream(**stream.request()))
                        if not response.is_success:
                            response.read()
                            raise_for(response)
                stream.opened(response)
                try:
                    for event in EventSource(response).iter_sse():
                        if (change := stream.read(event)) is not None:
                            yield change
                except STREAM_ERRORS:
                    if not reconnect:
                        raise
            if not reconnect:
                return
