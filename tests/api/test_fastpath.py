"""The `GET /v1/eligibility` fast path answers exactly what the FastAPI route answers, byte for byte, on generated
query strings (plain, unusual, invalid); it serves the plain form itself and counts in the route's metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from eth_utils import to_checksum_address
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from harness.api import BASE_CHAIN_ID, OP_CHAIN_ID, chain_row
from indexer.api import fastpath
from indexer.api.main import create_app
from indexer.store.models import Bond, MinDeposit

S = "0x" + "a1" * 20
R = "0x" + "b2" * 20
OTHER = "0x" + "c3" * 20


@pytest.fixture
def seeded(seed) -> None:
    seed(
        chain_row(OP_CHAIN_ID, "op.dm3.eth", safe_block=60, finalized_block=40),
        chain_row(BASE_CHAIN_ID, "base.dm3.eth"),
        MinDeposit(chain_id=OP_CHAIN_ID, recipient=R, amount=100, block_number=50),
        MinDeposit(chain_id=BASE_CHAIN_ID, recipient=R, amount=10, block_number=99),
        Bond(chain_id=OP_CHAIN_ID, sender=S, recipient=R, amount=150, block_number=55),
        Bond(chain_id=BASE_CHAIN_ID, sender=OTHER, recipient=R, amount=5, unlock_time=2**40, block_number=10),
    )


def wait_for_state(app) -> None:
    """Until the app's in-memory eligibility state has loaded (its refresh task runs on the client's loop)."""
    deadline = time.monotonic() + 10
    while app.state.eligibility_state.snapshot() is None:
        assert time.monotonic() < deadline, "the eligibility state did not load"
        time.sleep(0.01)


@pytest.fixture(params=["memory", "database"])
def clients(request, api_settings, seeded) -> Iterator[tuple[TestClient, TestClient]]:
    """The fast path answering from the in-memory state (loaded after the seed) or from the database, and the
    FastAPI route alone."""
    memory = request.param == "memory"
    fast = create_app(api_settings.model_copy(update={"memory_state": memory}))
    slow = create_app(api_settings.model_copy(update={"fast_path": False}))
    with (
        TestClient(fast, raise_server_exceptions=False) as a,
        TestClient(slow, raise_server_exceptions=False) as b,
    ):
        if memory:
            wait_for_state(fast)
        yield a, b
    fast.state.engine.dispose()
    slow.state.engine.dispose()


ADDRESS_LIKE = [
    S,
    R,
    OTHER,
    to_checksum_address(S),
    S.upper().replace("0X", "0x"),
    "0x" + "zz" * 20,
    S[:-1],
    "0X" + S[2:],
]
VALUES = st.one_of(st.sampled_from([*ADDRESS_LIKE, "alice.op.dm3.eth", ""]), st.text(max_size=50))
KEYS = st.sampled_from(["sender", "recipient", "chain_id", "min_finality", "other"])
PARAM_VALUES = {
    "chain_id": st.one_of(
        st.sampled_from(["10", "8453", "010", "+10", " 10", "1_0", "7", str(2**63), "-1", ""]),
        st.text(max_size=5),
    ),
    "min_finality": st.sampled_from(["latest", "safe", "finalized", "final", ""]),
}


@st.composite
def query_strings(draw: st.DrawFn) -> str:
    params = [
        ("sender", draw(st.sampled_from(ADDRESS_LIKE))),
        ("recipient", draw(st.sampled_from(ADDRESS_LIKE))),
    ]
    for _ in range(draw(st.integers(0, 3))):
        key = draw(KEYS)
        params.append((key, draw(PARAM_VALUES.get(key, VALUES))))
    if draw(st.booleans()):
        params = params[: draw(st.integers(0, len(params)))]
    params = draw(st.permutations(params))
    return "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in params)


@given(query=query_strings())
def test_fast_path__answers_exactly_like_the_route(clients, query):
    fast, slow = clients
    a, b = fast.get(f"/v1/eligibility?{query}"), slow.get(f"/v1/eligibility?{query}")
    assert (a.status_code, a.headers["content-type"], a.content) == (
        b.status_code,
        b.headers["content-type"],
        b.content,
    )


@pytest.mark.parametrize("clients", ["database"], indirect=True)
def test_fast_path__serves_the_plain_form_itself_and_is_counted(clients, monkeypatch):
    fast, _ = clients
    served: list[str] = []
    real = fastpath.address_pair_eligibility

    def spy(*args, **kwargs):
        served.append(kwargs["sender"].raw)
        return real(*args, **kwargs)

    monkeypatch.setattr(fastpath, "address_pair_eligibility", spy)
    body = fast.get("/v1/eligibility", params={"sender": S, "recipient": R, "chain_id": OP_CHAIN_ID}).json()
    assert (body["eligible"], body["reason"]) == (True, "deposit")
    assert served == [S]
    fast.get("/v1/eligibility", params={"sender": "alice.op.dm3.eth", "recipient": R})  # a name: the route's
    assert served == [S]
    metrics = fast.get("/metrics").text
    assert 'dm3_api_requests_total{method="GET",route="/v1/eligibility",status="200"} 2.0' in metrics


def test_fast_path__answers_from_memory_without_reading_the_database(api_settings, seeded, monkeypatch):
    app = create_app(api_settings.model_copy(update={"memory_state": True}))
    with TestClient(app) as client:
        wait_for_state(app)
        monkeypatch.setattr(fastpath, "address_pair_eligibility", None)  # any database read would fail
        body = client.get("/v1/eligibility", params={"sender": S, "recipient": R}).json()
        assert (body["eligible"], body["reason"], body["eligible_chain_ids"]) == (
            True,
            "deposit",
            [OP_CHAIN_ID],
        )
        assert [c["envelope"]["finality"] for c in body["chains"]] == ["safe", "latest"]
        metrics = client.get("/metrics").text
        assert 'dm3_api_requests_total{method="GET",route="/v1/eligibility",status="200"} 1.0' in metrics
    app.state.engine.dispose()


def test_fast_path__unknown_chain_goes_to_the_route(clients):
    fast, _ = clients
    response = fast.get("/v1/eligibility", params={"sender": S, "recipient": R, "chain_id": 7})
    assert response.status_code == 404
    assert response.json() == {"message": "chain 7 is not indexed"}


def test_app_startup__freezes_the_long_lived_heap(api_settings, seeded):
    """A full collection over the modules and the app took ~40 ms and set the API's p99; startup freezes them."""
    import gc

    gc.unfreeze()
    app = create_app(api_settings)
    assert gc.get_freeze_count() == 0
    with TestClient(app):
        assert gc.get_freeze_count() > 50_000
    app.state.engine.dispose()
