"""`Dm3Client` and `AsyncDm3Client` run the same requests (indexer/client/calls.py): the same retries, errors,
404s, chunks and polls, whichever executor sends them. Faults are injected at the transport."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from indexer.client import AsyncDm3Client, Dm3ApiError, Dm3Client

S, R = "0x" + "a1" * 20, "0x" + "b2" * 20
Handler = Callable[[httpx.Request], httpx.Response]


def run_sync(handler: Handler, operation: str, *args: Any, **kwargs: Any) -> Any:
    with Dm3Client("http://api", transport=httpx.MockTransport(handler), retries=2, backoff=0.001) as api:
        return getattr(api, operation)(*args, **kwargs)


def run_async(handler: Handler, operation: str, *args: Any, **kwargs: Any) -> Any:
    async def scenario() -> Any:
        transport = httpx.MockTransport(handler)
        async with AsyncDm3Client("http://api", transport=transport, retries=2, backoff=0.001) as api:
            return await getattr(api, operation)(*args, **kwargs)

    return asyncio.run(scenario())


executors = pytest.mark.parametrize("run", [run_sync, run_async], ids=["sync", "async"])


def recorder(respond: Handler) -> tuple[list[httpx.Request], Handler]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return respond(request)

    return seen, handler


@executors
def test_5xx_and_connection_errors__retried__then_the_last_error(run):
    def flaky(request: httpx.Request) -> httpx.Response:
        if len(seen) == 1:
            raise httpx.ConnectError("refused", request=request)
        if len(seen) == 2:
            return httpx.Response(503, json={"message": "busy"})
        return httpx.Response(200, json={"data": [], "count": 0})

    seen, handler = recorder(flaky)
    assert run(handler, "status").count == 0
    assert len(seen) == 3

    seen, handler = recorder(lambda request: httpx.Response(500, text="<html>proxy error</html>"))
    with pytest.raises(Dm3ApiError) as raised:
        run(handler, "status")
    assert (raised.value.status, raised.value.message) == (500, "<html>proxy error</html>")
    assert len(seen) == 3  # retries=2


@executors
def test_4xx__never_retried__the_apis_message(run):
    seen, handler = recorder(lambda request: httpx.Response(429, json={"message": "slow down"}))
    with pytest.raises(Dm3ApiError) as raised:
        run(handler, "eligibility", S, R)
    assert (raised.value.status, raised.value.message, len(seen)) == (429, "slow down", 1)


@executors
def test_profile__404_is_none__other_4xx_raise(run):
    _, missing = recorder(lambda request: httpx.Response(404, json={"message": "no such name"}))
    assert run(missing, "profile", "nobody.op.dm3.eth") is None
    assert run(missing, "address_profile", S) is None
    _, refused = recorder(lambda request: httpx.Response(400, json={"message": "no"}))
    with pytest.raises(Dm3ApiError):
        run(refused, "profile", "nobody.op.dm3.eth")


@executors
def test_bad_input__the_apis_422__without_a_request(run):
    seen, handler = recorder(lambda request: httpx.Response(200, json={}))
    for operation, args in [
        ("eligibility", ("0x12", R)),
        ("profile", ("a_b.op.dm3.eth",)),
        ("address_profile", ("nobody",)),
    ]:
        with pytest.raises(Dm3ApiError) as raised:
            run(handler, operation, *args)
        assert raised.value.status == 422
    with pytest.raises(ValueError, match="signature or a private_key"):
        run(handler, "relay", "registerWithSig", {}, chain_id=10)
    assert seen == []


def answer(pair: dict[str, str]) -> dict[str, Any]:
    return {
        "sender": pair["sender"],
        "recipient": pair["recipient"],
        "sender_address": pair["sender"],
        "recipient_address": pair["recipient"],
        "eligible": False,
        "reason": "no_deposit",
        "eligible_chain_ids": [],
        "chains": [],
    }


@executors
def test_batch__chunks_of_at_most_the_limit__in_input_order(run):
    def batch(request: httpx.Request) -> httpx.Response:
        pairs = json.loads(request.content)["pairs"]
        return httpx.Response(200, json={"data": [answer(p) for p in pairs], "count": len(pairs)})

    seen, handler = recorder(batch)
    pairs = [("0x" + f"{i:040x}", R) for i in range(2_345)]
    results = run(handler, "eligibility_batch", pairs, chunk_size=5_000)  # capped at BATCH_LIMIT
    assert [len(json.loads(r.content)["pairs"]) for r in seen] == [1_000, 1_000, 345]
    assert [r.sender for r in results] == [s for s, _ in pairs]
    assert run(handler, "eligibility_batch", []) == []


@executors
def test_wait_relayed__polls_until_final__or_times_out(run):
    states = iter(["queued", "sent", "mined"])

    def status(request: httpx.Request) -> httpx.Response:
        state = next(states, "queued")
        return httpx.Response(200, json=relay_status(request.url.path.rsplit("/", 1)[1], state))

    seen, handler = recorder(status)
    assert run(handler, "wait_relayed", "abc", poll=0.001).state == "mined"
    assert len(seen) == 3
    with pytest.raises(TimeoutError, match="still queued"):
        run(handler, "wait_relayed", "abc", timeout=0.05, poll=0.01)


def relay_status(request_id: str, state: str) -> dict[str, Any]:
    return {
        "id": request_id,
        "state": state,
        "chain_id": 10,
        "function": "registerWithSig",
        "signer": S,
        "tx_hash": None,
        "block_number": None,
        "envelope": None,
        "error": None,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
