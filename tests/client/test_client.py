"""The typed client: against a real uvicorn server (sync), through ASGI (async), and its retry behaviour."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import httpx
import pytest
import uvicorn

from harness.api import OP_CHAIN_ID, chain_row
from indexer.api.main import create_app
from indexer.client import AsyncDm3Client, Dm3ApiError, Dm3Client
from indexer.ens import namehash
from indexer.store.models import Bond, MinDeposit, Name

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


BAD_NAMES = [
    ("a_b.op.dm3.eth", "underscore"),
    ("a..b.op.dm3.eth", "empty label"),
    ("a b.op.dm3.eth", "disallowed character"),
    ("a/b.op.dm3.eth", "disallowed character"),  # never a request for another path
    ("a\ud800.op.dm3.eth", "disallowed character"),  # a lone surrogate: no UnicodeEncodeError
    ("x" * 260 + ".eth", "longer than 255 bytes"),
]


@pytest.fixture
def alice(seed):
    parent = "0x" + namehash("op.dm3.eth").hex()
    node = "0x" + namehash("alice.op.dm3.eth").hex()
    seed(
        Name(
            chain_id=OP_CHAIN_ID,
            node=node,
            label="alice",
            parent_node=parent,
            name="alice.op.dm3.eth",
            owner=R,
            block_number=1,
        )
    )


@pytest.mark.usefixtures("alice")
def test_sync_client__names_normalised_like_the_api(server_url):
    with Dm3Client(server_url) as api:
        expected = api.profile("alice.op.dm3.eth")
        assert expected is not None
        assert api.profile("Alice.OP.dm3.eth") == expected
        assert api.profile("\N{PILE OF POO}.op.dm3.eth") is None  # normalised, not registered: 404
        assert api.eligibility(S, "ALICE.op.dm3.eth").recipient_address == R
        assert [a.recipient_address for a in api.eligibility_batch([(S, "Alice.op.dm3.eth")])] == [R]


@pytest.mark.parametrize(("name", "reason"), BAD_NAMES)
def test_sync_client__bad_names__the_apis_422(server_url, name, reason):
    with Dm3Client(server_url) as api:
        for call in (
            lambda: api.profile(name),
            lambda: api.eligibility(S, name),
            lambda: api.eligibility_batch([(S, R), (S, name)]),
        ):
            with pytest.raises(Dm3ApiError) as refused:
                call()
            assert refused.value.status == 422
            assert reason in refused.value.message.lower()
        with pytest.raises(Dm3ApiError) as refused:
            api.profile(name)
    # The same message the API answers for the same name.
    encodable = name.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if encodable == name:
        response = httpx.get(f"{server_url}/v1/eligibility", params={"sender": S, "recipient": name})
        assert response.status_code == 422
        assert response.json()["message"].replace("recipient", "name", 1) == refused.value.message


def test_async_client__names(api_settings, writer, seeded, alice):
    app = create_app(api_settings)

    async def scenario() -> None:
        async with AsyncDm3Client("http://api", transport=httpx.ASGITransport(app=app)) as api:
            assert (await api.profile("ALICE.op.dm3.eth")) == (await api.profile("alice.op.dm3.eth"))
            assert (await api.eligibility(S, "Alice.op.dm3.eth")).recipient_address == R
            with pytest.raises(Dm3ApiError) as refused:
                await api.profile("a\ud800.op.dm3.eth")
            assert refused.value.status == 422

    asyncio.run(scenario())
