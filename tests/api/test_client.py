"""The typed client: against a real uvicorn server (sync), through ASGI (async), and its retry behaviour."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from api_support import OP_CHAIN_ID, chain_row

from indexer.api.main import create_app
from indexer.client import AsyncDm3Client, Dm3ApiError, Dm3Client
from indexer.store.models import Bond, MinDeposit

S = "0x" + "a1" * 20
R = "0x" + "b2" * 20


@pytest.fixture
def seeded(seed):
    seed(
        chain_row(OP_CHAIN_ID, "op.dm3.eth"),
        MinDeposit(chain_id=OP_CHAIN_ID, recipient=R, amount=5, block_number=50),
        *[
            Bond(chain_id=OP_CHAIN_ID, sender="0x" + f"{i:040x}", recipient=R, amount=i, block_number=50)
            for i in range(1, 8)
        ],
    )


@pytest.fixture
def server_url(api_settings, writer, seeded):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(api_settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_sync_client__against_a_real_server(server_url):
    with Dm3Client(server_url) as api:
        assert api.eligibility(S, R).reason == "no_deposit"
        assert api.eligibility("0x" + f"{7:040x}", R, chain_id=OP_CHAIN_ID).eligible is True
        pairs = [("0x" + f"{i % 8:040x}", R) for i in range(2_500)]
        results = api.eligibility_batch(pairs, chunk_size=1_000)
        assert len(results) == 2_500
        assert [r.sender for r in results[:3]] == [p[0] for p in pairs[:3]]
        assert [r.eligible for r in results[:8]] == [False] * 5 + [
            True
        ] * 3  # bonds 0..7 against a minimum of 5
        assert api.profile("nobody.op.dm3.eth") is None
        assert api.address_profile(S) is None
        assert [b.bond for b in api.iter_deposits(recipient=R)] == [str(i) for i in range(1, 8)]
        assert api.deposits(recipient=R, limit=3).next_cursor is not None
        assert api.recipient(R).chains[0].min_deposit == "5"
        assert api.status().data[0].chain_id == OP_CHAIN_ID
        with pytest.raises(Dm3ApiError) as raised:
            api.eligibility("0x12", R)
        assert raised.value.status == 422 and "sender" in raised.value.message


def test_async_client__through_asgi(api_settings, writer, seeded):
    app = create_app(api_settings)

    async def scenario() -> None:
        async with AsyncDm3Client("http://api", transport=httpx.ASGITransport(app=app)) as api:
            assert (await api.eligibility(S, R)).reason == "no_deposit"
            assert len(await api.eligibility_batch([(S, R)] * 1_001)) == 1_001
            assert [b.bond async for b in api.iter_deposits(recipient=R)] == [str(i) for i in range(1, 8)]
            assert (await api.status()).count == 1
            assert await api.profile("nobody.op.dm3.eth") is None
            with pytest.raises(Dm3ApiError):
                await api.deposits()

    asyncio.run(scenario())


def test_retries_5xx_and_connection_errors_then_gives_up():
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ConnectError("refused", request=request)
        if calls["n"] == 2:
            return httpx.Response(503, json={"message": "busy"})
        return httpx.Response(200, json={"data": [], "count": 0})

    with Dm3Client("http://api", transport=httpx.MockTransport(flaky), backoff=0.001) as api:
        assert api.status().count == 0
    assert calls["n"] == 3

    always = httpx.MockTransport(lambda request: httpx.Response(500, json={"message": "boom"}))
    with (
        Dm3Client("http://api", transport=always, retries=2, backoff=0.001) as api,
        pytest.raises(Dm3ApiError) as raised,
    ):
        api.status()
    assert (raised.value.status, raised.value.message) == (500, "boom")

    refused = {"n": 0}

    def bad_request(request: httpx.Request) -> httpx.Response:
        refused["n"] += 1
        return httpx.Response(422, json={"message": "nope"})

    with (
        Dm3Client("http://api", transport=httpx.MockTransport(bad_request), backoff=0.001) as api,
        pytest.raises(Dm3ApiError),
    ):
        api.status()
    assert refused["n"] == 1  # 4xx is never retried
