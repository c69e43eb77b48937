"""Hostile input through the app (ASGI, no server): lone surrogates, change ids and cursors at and past their
bound, oversized bodies declared or chunked, and errors nobody expected. Every answer is JSON, below 500 unless
the server is at fault, and carries the CORS headers a browser needs to read it."""

from __future__ import annotations

import base64
import json

import pytest
from api_support import chain_row

from indexer.api.queries.changes import MAX_CHANGE_ID
from indexer.api.queries.deposits import encode_cursor
from indexer.store.models import Bond

pytestmark = pytest.mark.usefixtures("chains")

S = "0x" + "a1" * 20
R = "0x" + "b2" * 20
ORIGIN = {"origin": "https://app.example"}
JSON = {**ORIGIN, "content-type": "application/json"}


def _json_error(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["access-control-allow-origin"] == "*", response.headers
    message = response.json()["message"]
    assert "Traceback" not in message
    return message


# --- lone surrogates ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/eligibility", b'{"pairs": [{"sender": "\\ud800", "recipient": "alice.op.dm3.eth"}]}'),
        ("/v1/eligibility", b'{"pairs": [{"sender": "bob\\udfff.op.dm3.eth", "recipient": "0xb2"}]}'),
        ("/v1/eligibility", b'{"pairs": [{"sender": "0xa1", "recipient": "\\ud800"}]}'),
        ("/v1/eligibility", b'{"pairs": [], "min_finality": "\\ud800"}'),
        ("/ccip", b'{"sender": "\\ud800", "data": "0x"}'),
        ("/ccip", b'{"sender": "0x1111111111111111111111111111111111111111", "data": "0x\\udc00"}'),
    ],
)
def test_json_body__lone_surrogate__422(client, path, body):
    assert b"\\u" in body  # a JSON escape: valid JSON, a string UTF-8 cannot encode
    message = _json_error(client.post(path, content=body, headers=JSON), 422)
    assert "string" in message or "UTF-8" in message


def test_text_strings__bytes_that_are_not_utf8__never_5xx(client):
    """Query, path and header strings are decoded from bytes by the server: a percent-encoded surrogate or
    invalid UTF-8 becomes U+FFFD, never a lone surrogate. Every string parameter of every GET route, hit."""
    bad = "%ED%A0%80%FF"
    schema = client.get("/openapi.json").json()
    hits = 0
    for path, operations in schema["paths"].items():
        operation = operations.get("get")
        if operation is None:
            continue
        url, query = path, ["timeout=0"] if path == "/v1/changes/poll" else []
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                url = url.replace("{" + parameter["name"] + "}", bad)
            elif parameter["in"] == "query" and "string" in json.dumps(parameter["schema"]):
                query.append(f"{parameter['name']}={bad}")
            hits += 1
        response = client.get(url + ("?" + "&".join(query) if query else ""), headers=ORIGIN)
        # The relay routes answer 503 (a documented state, not a crash) on an API without a relayer configured.
        unconfigured_relayer = url.startswith("/v1/relay") and "no relayer configured" in response.text
        assert response.status_code < 500 or unconfigured_relayer, (url, response.text)
        assert response.headers["content-type"].startswith(("application/json", "text/")), url
    assert hits >= 14


# --- change ids and cursors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [str(MAX_CHANGE_ID + 1), str(2**64), "-1", "1e3", "0x10", "12a", "\u00b9", "9" * 40, "1 2"]
)
def test_last_event_id__beyond_the_bound_or_not_a_number__422_with_cors(client, value):
    response = client.get("/v1/changes", headers={**ORIGIN, "Last-Event-ID": value.encode("latin-1")})
    assert "Last-Event-ID" in _json_error(response, 422)


@pytest.mark.parametrize("route", ["/v1/changes", "/v1/changes/poll"])
@pytest.mark.parametrize("value", [str(MAX_CHANGE_ID + 1), "-1", "x", "1.5"])
def test_change_cursor__beyond_the_bound_or_not_a_number__422_with_cors(client, route, value):
    response = client.get(route, params={"cursor": value, "timeout": 0}, headers=ORIGIN)
    assert "cursor" in _json_error(response, 422)


def test_change_cursor__at_the_bound__an_empty_page(client):
    response = client.get("/v1/changes/poll", params={"cursor": MAX_CHANGE_ID, "timeout": 0}, headers=ORIGIN)
    assert response.status_code == 200, response.text
    assert response.json()["data"] == []


def _raw_cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        _raw_cursor([10, "\ud800", R]),  # a lone surrogate: the driver cannot encode it (a 500 before)
        _raw_cursor([10, S, "a\x00b"]),
        _raw_cursor([10, "not an address", R]),
        _raw_cursor([True, S, R]),
        _raw_cursor([2**63, S, R]),
        _raw_cursor([10, S]),
        "%%%",
    ],
)
def test_deposits_cursor__not_one_the_api_issued__422_with_cors(client, cursor):
    response = client.get("/v1/deposits", params={"recipient": R, "cursor": cursor}, headers=ORIGIN)
    assert "cursor" in _json_error(response, 422)


def test_deposits_cursor__one_the_api_issued__still_works(client):
    cursor = encode_cursor(Bond(chain_id=10, sender=S, recipient=R, amount=0, block_number=0))
    response = client.get("/v1/deposits", params={"recipient": R, "cursor": cursor})
    assert response.status_code == 200, response.text


# --- bodies -------------------------------------------------------------------------------------------------------


def _pairs_body(size: int) -> bytes:
    pair = b'{"sender": "0x' + b"a1" * 20 + b'", "recipient": "0x' + b"b2" * 20 + b'"}, '
    count = size // len(pair)
    return b'{"pairs": [' + pair * count + b'{"sender": "0xa1", "recipient": "0xb2"}]}'


def _chunked(body: bytes, size: int = 8192):
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_body__declared_oversized__413(client):
    body = _pairs_body(600 * 1024)
    message = _json_error(client.post("/v1/eligibility", content=body, headers=JSON), 413)
    assert "larger than 524288 bytes" in message


def test_body__chunked_oversized__413_not_400(client):
    """Without a Content-Length the body limit tripped while FastAPI read the body, which answered 400."""
    body = _pairs_body(600 * 1024)
    response = client.post("/v1/eligibility", content=_chunked(body), headers=JSON)
    assert "larger than 524288 bytes" in _json_error(response, 413)


def test_body__chunked_within_the_limit__answered(client):
    body = json.dumps({"pairs": [{"sender": S, "recipient": R}] * 3}).encode()
    response = client.post("/v1/eligibility", content=_chunked(body, 50), headers=JSON)
    assert response.status_code == 200, response.text
    assert response.json()["count"] == 3


# --- errors nobody expected ----------------------------------------------------------------------------------------


def test_unexpected_error__500_json_with_cors_and_no_traceback(client, caplog):
    def boom() -> None:
        raise RuntimeError("secret detail https://user:pw@rpc.example/v3/KEY")

    client.app.add_api_route("/boom", boom)
    response = client.get("/boom", headers=ORIGIN)
    assert _json_error(response, 500) == "internal error"
    assert "secret" not in response.text and "KEY" not in response.text
    assert any("unhandled error on GET /boom" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/no/such/route", 404), ("DELETE", "/v1/status", 405), ("PUT", "/v1/eligibility", 405)],
)
def test_routing_errors__json_with_cors(client, method, path, status):
    _json_error(client.request(method, path, headers=ORIGIN), status)


# --- secrets -------------------------------------------------------------------------------------------------------

SECRET_URL = "https://user:hunter2@opt-mainnet.g.example.com:8443/v2/SECRETKEY?apikey=SECRETQUERY#frag"


def _stopped_with_url(seed) -> None:
    seed(
        chain_row(
            10,
            "op.dm3.eth",
            status="stopped",
            error=f"chain optimism: {SECRET_URL} serves chain id 5, configured 10",
        )
    )


def _assert_redacted(text: str) -> None:
    assert "opt-mainnet.g.example.com:8443" in text
    for secret in ("hunter2", "user:", "SECRETKEY", "SECRETQUERY", "/v2", "frag"):
        assert secret not in text, (secret, text)


def test_status_and_ready__show_the_rpc_host_only(client, seed):
    _stopped_with_url(seed)
    status = client.get("/v1/status")
    assert status.status_code == 200
    _assert_redacted(status.text)
    ready = client.get("/ready")
    assert ready.status_code == 503
    _assert_redacted(ready.text)
