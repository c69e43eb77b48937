"""The server's own hot path (`server.GuardedHttpProtocol._answer_hot`): a plain `GET /v1/eligibility` answered in
the parser's callback from the in-memory state. On real sockets, against the same app behind a protocol that hands
every request to the app: the same bytes on the wire (the `date` header aside) on generated questions; keep-alive,
pipelining behind a slow request, `Connection: close`, HTTP/1.0, the head-size guard and the keep-alive timeout
behave as before; answers are counted in the metrics; the app is not entered for what the protocol answered.

Assertions are about behaviour with generous time bounds, never tight timings.
"""

from __future__ import annotations

import functools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.api.main import create_app
from indexer.api.server import GuardedHttpProtocol, ServerLimits, uvicorn_options
from indexer.settings.api import ApiSettings

S = "0x" + "a1" * 20
R = "0x" + "b2" * 20
OTHER = "0x" + "c3" * 20


class AppOnlyProtocol(GuardedHttpProtocol):
    """The reference: the same protocol, every request handed to the app (the app's own hot path answers)."""

    def _answer_hot(self) -> bool:
        return False


@contextmanager
def serving(settings: ApiSettings, *, reference: bool = False) -> Iterator[tuple[tuple[str, int], object]]:
    """The app under uvicorn with the runner's options in a thread, its in-memory state loaded; yields
    ((host, port), app). `reference`: the protocol never answers itself."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = {**uvicorn_options(settings, log_level="warning"), "log_config": None}
    if reference:
        options["http"] = functools.partial(AppOnlyProtocol, limits=ServerLimits.of(settings))
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not (server.started and app.state.eligibility_state.snapshot() is not None):
        assert time.monotonic() < deadline, "the server or its in-memory state did not start"
        time.sleep(0.02)
    try:
        yield ("127.0.0.1", port), app
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()


@pytest.fixture
def memory_settings(api_settings: ApiSettings, seeded) -> ApiSettings:
    return api_settings.model_copy(update={"memory_state": True})


@pytest.fixture
def servers(memory_settings) -> Iterator[tuple[tuple[str, int], tuple[str, int], object]]:
    """(hot address, reference address, the hot server's app)."""
    with ExitStack() as stack:
        hot, app = stack.enter_context(serving(memory_settings))
        reference, _ = stack.enter_context(serving(memory_settings, reference=True))
        yield hot, reference, app


def read_answers(sock: socket.socket, count: int, *, timeout: float = 5.0) -> list[bytes]:
    """`count` complete answers (head and content-length body) from `sock`."""
    sock.settimeout(timeout)
    data, answers = b"", []
    while len(answers) < count:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            head = data[:head_end]
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            end = head_end + 4 + length
            if len(data) >= end:
                answers.append(data[:end])
                data = data[end:]
                continue
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection after {len(answers)} answers"
        data += chunk
    return answers


def without_date(answer: bytes) -> bytes:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"date:")]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def ask(address: tuple[str, int], request: bytes, count: int = 1) -> list[bytes]:
    with socket.create_connection(address) as sock:
        sock.sendall(request)
        return read_answers(sock, count)


def get(query: str, *, extra: str = "", version: str = "1.1") -> bytes:
    return f"GET /v1/eligibility?{query} HTTP/{version}\r\nHost: x\r\n{extra}\r\n".encode()


TARGETS = [
    S,
    R,
    OTHER,
    S.upper().replace("0X", "0x"),
    "0x" + "zz" * 20,
    "alice.op.dm3.eth",
    "Alice.OP.dm3.eth",
]
TARGETS += ["nobody.op.dm3.eth", "alice.elsewhere.eth", "ali ce.op.dm3.eth", "\u00e9.op.dm3.eth", ""]


@st.composite
def queries(draw: st.DrawFn) -> str:
    params = [("sender", draw(st.sampled_from(TARGETS))), ("recipient", draw(st.sampled_from(TARGETS)))]
    for _ in range(draw(st.integers(0, 2))):
        key = draw(st.sampled_from(["chain_id", "min_finality", "proof", "sender"]))
        value = draw(st.sampled_from(["10", "8453", "010", "7", "safe", "finalized", "final", "true", S, ""]))
        params.append((key, value))
    params = draw(st.permutations(params))
    query = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in params)
    return query + draw(st.sampled_from(["", "#frag", "&"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=queries(), origin=st.booleans(), twice=st.booleans())
def test_wire__same_bytes_as_the_app_answers(servers, query, origin, twice):
    hot, reference, _ = servers
    extra = "Origin: https://app.example\r\n" if origin else ""
    request = get(query, extra=extra) * (2 if twice else 1)  # twice: pipelined, the second from the memo
    count = 2 if twice else 1
    assert [without_date(a) for a in ask(hot, request, count)] == [
        without_date(a) for a in ask(reference, request, count)
    ]


def test_wire__answered_by_the_protocol_without_entering_the_app_and_counted(servers, monkeypatch):
    hot, _, app = servers
    entered: list[str] = []
    original = type(app).__call__

    async def watched(self, scope, receive, send):
        entered.append(scope["path"])
        await original(self, scope, receive, send)

    monkeypatch.setattr(type(app), "__call__", watched)
    for sender in (S, "alice.op.dm3.eth"):
        (answer,) = ask(hot, get(f"sender={sender}&recipient={R}"))
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and b'"reason":"deposit"' in answer
    assert entered == []
    # What the protocol leaves to the app: a question it cannot answer plainly, an Origin, a body, HTTP/1.0, close.
    for request in (
        get(f"sender={S}&recipient={R}&chain_id=7"),
        get(f"sender={S}&recipient={R}", extra="Origin: https://a.b\r\n"),
        get(f"sender={S}&recipient={R}", extra="Content-Length: 2\r\n") + b"{}",
        get(f"sender={S}&recipient={R}", version="1.0"),
        get(f"sender={S}&recipient={R}", extra="Connection: close\r\n"),
    ):
        ask(hot, request)
    assert len(entered) == 5
    metrics = httpx.get(f"http://{hot[0]}:{hot[1]}/metrics").text
    # two answered by the protocol, four by the app, the unknown chain a 404
    assert 'dm3_api_requests_total{method="GET",route="/v1/eligibility",status="200"} 6.0' in metrics
    assert 'dm3_api_requests_total{method="GET",route="/v1/eligibility",status="404"} 1.0' in metrics


def test_wire__keep_alive_many_answers_on_one_connection_under_a_small_head_limit(memory_settings):
    """Each answered request resets the head-size count: 100 requests of ~120 bytes on one connection, with a
    1,024-byte head limit, are all answered (the count of bytes awaiting a head must not add up across them)."""
    with ExitStack() as stack:
        address, _ = stack.enter_context(
            serving(memory_settings.model_copy(update={"max_header_bytes": 1024}))
        )
        sock = stack.enter_context(socket.create_connection(address))
        for i in range(100):
            sock.sendall(get(f"sender={S}&recipient={R}" if i % 2 else f"sender={OTHER}&recipient={R}"))
            (answer,) = read_answers(sock, 1)
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer


def test_wire__pipelined_behind_a_slow_request_stays_in_order(servers):
    """hot, app (a status read), hot, in one write: three answers, in order (the third waits for the second)."""
    hot, _, _ = servers
    one, two = get(f"sender={S}&recipient={R}"), get(f"sender={OTHER}&recipient={R}")
    status = b"GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n"
    answers = ask(hot, one + status + two, 3)
    assert b'"reason":"deposit"' in answers[0]
    assert b'"head_seen_at"' in answers[1]  # the status
    assert b'"reason":"no_deposit"' in answers[2] or b'"eligible":false' in answers[2]


def test_wire__connection_close_and_http10_close_after_the_answer(servers):
    hot, _, _ = servers
    for request in (
        get(f"sender={S}&recipient={R}", extra="Connection: close\r\n"),
        get(f"sender={S}&recipient={R}", version="1.0"),
    ):
        with socket.create_connection(hot) as sock:
            sock.sendall(request)
            read_answers(sock, 1)
            sock.settimeout(5)
            assert sock.recv(100) == b""  # closed by the server


def test_wire__idle_connection_closed_after_the_keep_alive_timeout(memory_settings):
    with ExitStack() as stack:
        address, _ = stack.enter_context(
            serving(memory_settings.model_copy(update={"keep_alive_timeout": 0.5}))
        )
        sock = stack.enter_context(socket.create_connection(address))
        sock.sendall(get(f"sender={S}&recipient={R}"))
        read_answers(sock, 1)
        started = time.monotonic()
        sock.settimeout(5)
        assert sock.recv(100) == b""
        assert time.monotonic() - started < 4


def test_wire__a_partial_head_after_an_answer_is_not_held_open(memory_settings):
    """An answered request and the start of another in one write, then nothing: closed within the keep-alive
    timeout (the slowloris guard of a connection that never finishes its next head)."""
    limits = {"keep_alive_timeout": 0.5, "header_timeout": 1.0}
    with ExitStack() as stack:
        address, _ = stack.enter_context(serving(memory_settings.model_copy(update=limits)))
        sock = stack.enter_context(socket.create_connection(address))
        sock.sendall(get(f"sender={S}&recipient={R}") + b"GET /v1/eligibility?sender=")
        read_answers(sock, 1)
        sock.settimeout(5)
        started = time.monotonic()
        while sock.recv(65536):
            pass
        assert time.monotonic() - started < 4
