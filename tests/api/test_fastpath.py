"""The `/v1/eligibility` fast paths answer exactly what the FastAPI route answers (status, headers and body, byte for
byte) on generated query strings and batch bodies (plain, unusual, invalid, by address and by name, with and
without `Origin`); the hot path answers before the middleware stack, keeps its metrics and concurrency limit, and a
batch leaves the event loop to others between its slices."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from eth_utils import to_checksum_address
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from harness.api import BASE_CHAIN_ID, OP_CHAIN_ID
from indexer.api import fastpath, main, memory
from indexer.api.main import create_app
from indexer.api.memory import BatchQuestion

S = "0x" + "a1" * 20
R = "0x" + "b2" * 20
OTHER = "0x" + "c3" * 20


def wait_for_state(app) -> None:
    """Until the app's in-memory eligibility state has loaded (its refresh task runs on the client's loop)."""
    deadline = time.monotonic() + 10
    while app.state.eligibility_state.snapshot() is None:
        assert time.monotonic() < deadline, "the eligibility state did not load"
        time.sleep(0.01)


@pytest.fixture(params=["memory", "database"])
def clients(request, api_settings, seeded) -> Iterator[tuple[TestClient, TestClient]]:
    """The fast path answering from the in-memory state (loaded after the seed) or from the database, and the
    FastAPI route alone (both take batches of at most MAX_BATCH pairs)."""
    memory = request.param == "memory"
    api_settings = api_settings.model_copy(update={"max_batch": MAX_BATCH})
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


MAX_BATCH = 6
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
NAME_LIKE = [
    "alice.op.dm3.eth",
    "Alice.OP.dm3.eth",
    "bob.base.dm3.eth",
    "nobody.op.dm3.eth",
    f"{R[2:]}.addr.op.dm3.eth",
    "alice.elsewhere.eth",
    "ali ce.op.dm3.eth",
    "eth",
    "a" * 301 + ".op.dm3.eth",
    "\u00e9.op.dm3.eth",
]
TARGET_LIKE = ADDRESS_LIKE + NAME_LIKE
VALID_TARGETS = [*ADDRESS_LIKE[:5], *NAME_LIKE[:6]]
VALUES = st.one_of(st.sampled_from([*TARGET_LIKE, ""]), st.text(max_size=50))
KEYS = st.sampled_from(["sender", "recipient", "chain_id", "min_finality", "proof", "other"])
PARAM_VALUES = {
    "chain_id": st.one_of(
        st.sampled_from(["10", "8453", "010", "+10", " 10", "1_0", "7", str(2**63), "-1", ""]),
        st.text(max_size=5),
    ),
    "min_finality": st.sampled_from(["latest", "safe", "finalized", "final", ""]),
    "proof": st.sampled_from(["true", "false", "1", "x"]),
}


@st.composite
def query_strings(draw: st.DrawFn) -> str:
    params = [
        ("sender", draw(st.sampled_from(TARGET_LIKE))),
        ("recipient", draw(st.sampled_from(TARGET_LIKE))),
    ]
    for _ in range(draw(st.integers(0, 3))):
        key = draw(KEYS)
        params.append((key, draw(PARAM_VALUES.get(key, VALUES))))
    if draw(st.booleans()):
        params = params[: draw(st.integers(0, len(params)))]
    params = draw(st.permutations(params))
    return "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in params)


def same_answer(a, b) -> None:
    assert (a.status_code, a.headers.raw, a.content) == (b.status_code, b.headers.raw, b.content)


ORIGINS = st.sampled_from([None, "https://app.example", "null"])


@given(query=query_strings(), origin=ORIGINS, twice=st.booleans())
def test_fast_path__answers_exactly_like_the_route(clients, query, origin, twice):
    fast, slow = clients
    headers = {"origin": origin} if origin else {}
    for _ in range(2 if twice else 1):  # asked again: from the snapshot's memo
        a = fast.get(f"/v1/eligibility?{query}", headers=headers)
        b = slow.get(f"/v1/eligibility?{query}", headers=headers)
        same_answer(a, b)


TARGETS = st.one_of(
    st.sampled_from(VALID_TARGETS), st.sampled_from(VALID_TARGETS), st.sampled_from(TARGET_LIKE)
)
PAIRS = st.fixed_dictionaries({"sender": TARGETS, "recipient": TARGETS}, optional={"note": st.just(1)})
ODD_PAIRS = st.one_of(
    PAIRS,
    st.sampled_from(
        [{}, {"sender": S}, {"sender": S, "recipient": 7}, [S, R], S, None, {"sender": S, "recipient": ""}]
    ),
)


@st.composite
def batch_bodies(draw: st.DrawFn) -> bytes:
    body: dict[str, object] = {
        "pairs": draw(st.lists(PAIRS if draw(st.integers(0, 5)) else ODD_PAIRS, max_size=MAX_BATCH + 1))
    }
    if draw(st.booleans()):
        body["chain_id"] = draw(
            st.sampled_from([None, OP_CHAIN_ID, BASE_CHAIN_ID, 7, -1, 2**63, "10", 10.0, True, "x"])
        )
    if draw(st.booleans()):
        body["min_finality"] = draw(st.sampled_from(["latest", "safe", "finalized", "final", None, 1]))
    if draw(st.integers(0, 3)) == 0:
        body[draw(st.sampled_from(["proof", "other"]))] = draw(st.sampled_from([False, True, "no"]))
    text = json.dumps(body)
    mangle = draw(st.integers(0, 15))
    if mangle == 0:
        text = text[: draw(st.integers(0, len(text)))]  # cut short
    elif mangle == 1:
        text = text.replace('"pairs"', '"pairs": "x", "pairs"', 1)  # a duplicate key
    elif mangle == 2:
        text = text.replace(S, "\\ud800", 1)  # a lone surrogate, escaped
    elif mangle == 3:
        text = draw(st.sampled_from(["", "[]", "null", '{"pairs": NaN}', '{"pairs": []}']))
    return text.encode()


CONTENT_TYPES = st.sampled_from(
    [None, "application/json", "application/json; charset=utf-8", "text/plain", "application/x+json"]
)


@given(body=batch_bodies(), content_type=CONTENT_TYPES, origin=ORIGINS)
def test_batch__answers_exactly_like_the_route(clients, body, content_type, origin):
    fast, slow = clients
    headers = {k: v for k, v in {"content-type": content_type, "origin": origin}.items() if v is not None}
    a = fast.post("/v1/eligibility", content=body, headers=headers)
    b = slow.post("/v1/eligibility", content=body, headers=headers)
    same_answer(a, b)


@pytest.mark.parametrize("clients", ["memory"], indirect=True)
def test_batch__answered_from_memory_without_the_route(clients, monkeypatch):
    fast, _ = clients
    monkeypatch.setattr("indexer.api.routes.eligibility.eligibility_many", None)  # the route would fail
    pairs = [{"sender": s, "recipient": R} for s in (S, "alice.op.dm3.eth", "bob.base.dm3.eth", OTHER)]
    response = fast.post("/v1/eligibility", json={"pairs": pairs})
    assert response.status_code == 200
    data = response.json()["data"]
    assert [d["sender_address"] for d in data] == [S, S, R, OTHER]
    assert [d["reason"] for d in data] == ["deposit", "deposit", "no_deposit", "no_deposit"]
    metrics = fast.get("/metrics").text
    assert 'dm3_api_requests_total{method="POST",route="/v1/eligibility",status="200"} 1.0' in metrics


@pytest.mark.parametrize("clients", ["memory"], indirect=True)
def test_hot_path__answers_before_the_middleware_stack(clients):
    """A plain question, by address or by name, never enters the stack, yet is counted as the stack would count
    it; with an `Origin` (CORS headers to write) or at the concurrency limit, the stack answers."""
    fast, _ = clients
    app = fast.app
    stack = app.middleware_stack
    entered: list[str] = []

    async def watched(scope, receive, send):
        entered.append(scope["path"])
        await stack(scope, receive, send)

    app.middleware_stack = watched
    for sender in (S, "Alice.OP.dm3.eth"):
        response = fast.get("/v1/eligibility", params={"sender": sender, "recipient": R})
        assert (response.status_code, response.json()["reason"]) == (200, "deposit")
    assert entered == []
    response = fast.get(
        "/v1/eligibility", params={"sender": S, "recipient": R}, headers={"origin": "https://a.b"}
    )
    assert response.headers["access-control-allow-origin"] == "*" and entered == ["/v1/eligibility"]
    app.hot.in_flight.count["requests"] = app.hot.in_flight.limits["requests"]
    try:
        response = fast.get("/v1/eligibility", params={"sender": S, "recipient": R})
    finally:
        app.hot.in_flight.count["requests"] = 0
    assert response.status_code == 503 and "concurrent requests" in response.json()["message"]
    metrics = fast.get("/metrics").text
    assert 'dm3_api_requests_total{method="GET",route="/v1/eligibility",status="200"} 3.0' in metrics
    assert 'dm3_api_request_seconds_count{route="/v1/eligibility"} 3.0' in metrics  # the 503: unmatched


def test_batch__leaves_the_event_loop_to_others_between_slices(api_settings, seeded, monkeypatch):
    """However long a batch, other work runs between its slices (here every 16 pairs), and the batch still sees
    one snapshot: an update waits for it."""
    app = create_app(api_settings.model_copy(update={"memory_state": True}))
    state = app.state.eligibility_state
    monkeypatch.setattr(memory, "SLICE_SECONDS", 0.0)
    question = BatchQuestion(
        pairs=[(S, R), ("alice.op.dm3.eth", R)] * 80, chain_id=None, min_finality="latest"
    )

    async def run() -> tuple[bytes | None, list[int]]:
        await state.update()
        ticks: list[int] = []
        answered = False

        async def other() -> None:
            while not answered:
                ticks.append(len(ticks))
                await asyncio.sleep(0)

        ticker = asyncio.create_task(other())
        body = await memory.batch_json(state, question)
        answered = True
        await ticker
        return body, ticks

    body, ticks = asyncio.run(run())
    assert body is not None and json.loads(body)["count"] == 160
    assert len(ticks) >= 160 // 16 - 1
    app.state.engine.dispose()


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
    assert gc.get_threshold() == main.GC_THRESHOLDS


def test_state_full_load__freezes_the_snapshot(api_settings, seeded):
    """Each snapshot loaded whole is moved out of the cyclic collector's reach (full collections walked its
    objects every second or two under batch load); one loaded by a delta keeps what it had."""
    import gc

    app = create_app(api_settings.model_copy(update={"memory_state": True}))
    with TestClient(app):
        wait_for_state(app)
        snapshot = app.state.eligibility_state.snapshot()
        tracked = {id(o) for o in gc.get_objects()}  # frozen objects are not listed
        assert gc.is_tracked(snapshot.facts) and id(snapshot.facts) not in tracked
    app.state.engine.dispose()
