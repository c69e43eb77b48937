"""The API's own server (`python -m indexer.api`: uvicorn with api/server.py's protocol and the app's guards),
started on loopback by each test with small limits: slow and idle clients are cut off or displaced while
others are answered, overload is a 503 in JSON, and heavy batches do not stall a concurrent small request.

Assertions are about behaviour with generous time bounds, never tight timings.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from api_support import OP_CHAIN_ID

from indexer.api.main import create_app
from indexer.api.server import uvicorn_options
from indexer.settings.api import ApiSettings
from indexer.store.models import MinDeposit

pytestmark = pytest.mark.usefixtures("chains")

S = "0x" + "a1" * 20
R = "0x" + "b2" * 20


@contextmanager
def serving(api_settings: ApiSettings, **limits: object) -> Iterator[tuple[str, int]]:
    """The app under uvicorn with the runner's options, in a thread; yields (host, port)."""
    settings = api_settings.model_copy(update=limits)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # log_config=None: the runner's logging setup would replace the handlers pytest captures with.
    options = {**uvicorn_options(settings, log_level="warning"), "log_config": None}
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the server did not start"
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _get(address: tuple[str, int], path: str, *, timeout: float = 5.0) -> httpx.Response:
    host, port = address
    return httpx.get(f"http://{host}:{port}{path}", timeout=timeout)


def _read_answer(sock: socket.socket, *, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection (or `timeout` passes)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        pass
    return data


def _status_and_json(raw: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), raw
    return int(head.split(b" ", 2)[1]), json.loads(body)


def _closed_by_server(sock: socket.socket) -> bool:
    """The server closed (or answered and closed) this connection: recv does not block."""
    sock.settimeout(0.01)
    try:
        sock.recv(65536)
    except TimeoutError:
        return False
    except OSError:
        pass
    return True


def test_slowloris__cut_off_after_the_header_timeout_while_others_are_answered(api_settings):
    with serving(api_settings, header_timeout=1.0) as address:
        slow = socket.create_connection(address)
        slow.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        cut_off = None
        while time.monotonic() - started < 6:
            try:
                slow.sendall(b"X")  # one more header byte every 0.2 s: never finishes its headers
            except OSError:
                cut_off = time.monotonic() - started
                break
            assert _get(address, "/health").status_code == 200  # everyone else is answered meanwhile
            if _closed_by_server(slow):
                cut_off = time.monotonic() - started
                break
            time.sleep(0.2)
        slow.close()
        assert cut_off is not None, "the slow client was never disconnected"
        assert 0.8 <= cut_off < 4, cut_off


def test_slowloris__partial_headers_answered_408_json(api_settings):
    with serving(api_settings, header_timeout=0.5) as address:
        with socket.create_connection(address) as slow:
            slow.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: 1")
            status, body = _status_and_json(_read_answer(slow, timeout=5))
        assert status == 408 and "did not arrive" in str(body["message"])


def test_keep_alive__an_idle_connection_is_closed_after_the_timeout(api_settings):
    with serving(api_settings, keep_alive_timeout=0.5) as address, socket.create_connection(address) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = _read_answer(sock, timeout=3)  # returns when the server closes the idle connection
        assert answer.startswith(b"HTTP/1.1 200"), answer
        sock.settimeout(0.1)
        assert sock.recv(1) == b""  # closed by the server (still open: a timeout error)


def test_idle_connections__bounded_and_never_starve_a_new_client(api_settings):
    """300 silent connections against a limit of 50 (a header timeout too long to help): each new one
    displaces the longest-idle one, so at most 50 stay open and a real client is still answered."""
    with serving(api_settings, max_connections=50, header_timeout=30.0) as address:
        idle = [socket.create_connection(address) for _ in range(300)]
        try:
            started = time.monotonic()
            response = _get(address, "/health")
            assert response.status_code == 200 and time.monotonic() - started < 3
            time.sleep(0.3)
            still_open = sum(not _closed_by_server(sock) for sock in idle)
            assert still_open <= 50, still_open
            assert still_open >= 10  # the limit displaced the oldest, it did not close everything
        finally:
            for sock in idle:
                sock.close()


def test_every_connection_busy__503_json_and_closed(api_settings):
    """When every connection has a request in flight (long polls here), a new one is answered 503 JSON."""
    with serving(api_settings, max_connections=2) as (host, port):
        url = f"http://{host}:{port}/v1/changes/poll?timeout=3"
        with ThreadPoolExecutor(2) as pool:
            polls = [pool.submit(httpx.get, url, timeout=10) for _ in range(2)]
            time.sleep(0.5)  # both polls are waiting
            with socket.create_connection((host, port)) as third:
                status, body = _status_and_json(_read_answer(third, timeout=5))
            assert status == 503 and "connection limit" in str(body["message"])
            assert [poll.result().status_code for poll in polls] == [200, 200]


def test_concurrency_limit__503_json_with_cors_and_retry_after(api_settings):
    with serving(api_settings, max_change_streams=1) as (host, port):
        url = f"http://{host}:{port}/v1/changes/poll?timeout=2"
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(httpx.get, url, timeout=10)
            time.sleep(0.5)
            second = httpx.get(url, headers={"origin": "https://app.example"}, timeout=5)
            assert second.status_code == 503, second.text
            assert second.headers["retry-after"] == "1"
            assert second.headers["access-control-allow-origin"] == "*"
            assert "concurrent change-feed requests" in second.json()["message"]
            assert _get((host, port), "/health").status_code == 200  # ordinary requests have their own limit
            assert first.result().status_code == 200


def test_server_errors__are_json(api_settings):
    with serving(api_settings, max_header_bytes=4096) as address:
        with socket.create_connection(address) as sock:  # the whole head at once
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8000 + b"\r\n\r\n")
            status, body = _status_and_json(_read_answer(sock, timeout=5))
            assert status == 431 and "4096 bytes" in str(body["message"])
        with socket.create_connection(address) as sock:  # an unfinished head that keeps growing
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8000)
            status, body = _status_and_json(_read_answer(sock, timeout=5))
            assert status == 431
        with socket.create_connection(address) as sock:
            sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            status, body = _status_and_json(_read_answer(sock, timeout=5))
            assert status == 400 and body["message"]
        assert _get(address, "/no/such/route").json() == {"message": "Not Found"}


def test_slow_body__408_json(api_settings):
    with serving(api_settings, body_timeout=0.5) as address, socket.create_connection(address) as sock:
        sock.sendall(
            b"POST /v1/eligibility HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
            b"content-length: 100\r\n\r\n{"
        )
        status, body = _status_and_json(_read_answer(sock, timeout=5))
        assert status == 408 and "body" in str(body["message"])


def test_batches_of_names__do_not_stall_a_concurrent_small_request(api_settings, seed):
    """Ten concurrent 1,000-pair batches of names ran on the event loop and held every other request for most
    of a second; with the work in (a few) threads a single-pair request stays quick while they run."""
    seed(MinDeposit(chain_id=OP_CHAIN_ID, recipient=R, amount=5, block_number=1))
    pairs = [{"sender": f"sender{i}.op.dm3.eth", "recipient": f"r{i}.op.dm3.eth"} for i in range(1_000)]
    with serving(api_settings) as (host, port):
        base = f"http://{host}:{port}"
        assert httpx.post(f"{base}/v1/eligibility", json={"pairs": pairs}, timeout=60).status_code == 200
        with ThreadPoolExecutor(10) as pool, httpx.Client(base_url=base, timeout=30) as small:
            batches = [
                pool.submit(httpx.post, f"{base}/v1/eligibility", json={"pairs": pairs}, timeout=120)
                for _ in range(10)
            ]
            time.sleep(0.2)  # the batches are being worked on
            worst = 0.0
            while not all(batch.done() for batch in batches):
                started = time.monotonic()
                answer = small.get("/v1/eligibility", params={"sender": S, "recipient": R})
                worst = max(worst, time.monotonic() - started)
                assert answer.status_code == 200
                time.sleep(0.05)
            assert all(batch.result().status_code == 200 for batch in batches)
        assert worst < 0.5, f"a single-pair request took {worst:.2f} s while the batches ran"
