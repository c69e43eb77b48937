"""The CCIP-read gateway over HTTP: every record type, multicall, missing records, long labels, GET and POST,
every 4xx path, CORS and cache headers. Signatures are checked by recovering the signer."""

from __future__ import annotations

import time

import pytest
from eth_abi import decode, encode
from eth_keys import keys

from harness.api import GATEWAY_ACCOUNT, OP_CHAIN_ID, RESOLVER
from indexer.gateway.codec import (
    ADDR_COIN_SELECTOR,
    ADDR_SELECTOR,
    CONTENTHASH_SELECTOR,
    MULTICALL_SELECTOR,
    RESOLVE_SELECTOR,
    TEXT_SELECTOR,
    encode_dns_name,
    namehash,
)
from indexer.gateway.signer import signature_digest
from indexer.store.models import AddrRecord, Contenthash, TextRecord

pytestmark = pytest.mark.usefixtures("chains")

NAME = "alice.op.dm3.eth"
NODE = namehash(NAME)
ALICE = bytes.fromhex("3e4a844373e4d1bdf8e21df3ae195cf2aa7eeb57")
DEFAULT_EVM = bytes.fromhex("a63606625491f3bb7efed79ff12b5ac58d8b7738")
CONTENT = bytes.fromhex("e30101701220") + b"\x42" * 32


def text_call(key: str, node: bytes = NODE) -> bytes:
    return TEXT_SELECTOR + encode(["bytes32", "string"], [node, key])


def addr_call(node: bytes = NODE) -> bytes:
    return ADDR_SELECTOR + encode(["bytes32"], [node])


def addr_coin_call(coin_type: int, node: bytes = NODE) -> bytes:
    return ADDR_COIN_SELECTOR + encode(["bytes32", "uint256"], [node, coin_type])


def contenthash_call(node: bytes = NODE) -> bytes:
    return CONTENTHASH_SELECTOR + encode(["bytes32"], [node])


def multicall(*calls: bytes) -> bytes:
    return MULTICALL_SELECTOR + encode(["bytes[]"], [list(calls)])


def resolve_call(inner: bytes, name: str = NAME) -> bytes:
    return RESOLVE_SELECTOR + encode(["bytes", "bytes"], [encode_dns_name(name), inner])


@pytest.fixture
def records(seed):
    node = "0x" + NODE.hex()
    seed(
        TextRecord(
            chain_id=OP_CHAIN_ID,
            node=node,
            key="network.dm3.profile",
            value="data:application/json,{}",
            block_number=5,
        ),
        TextRecord(chain_id=OP_CHAIN_ID, node=node, key="url", value="https://alice.example", block_number=5),
        AddrRecord(chain_id=OP_CHAIN_ID, node=node, coin_type=60, address="0x" + ALICE.hex(), block_number=5),
        AddrRecord(
            chain_id=OP_CHAIN_ID,
            node=node,
            coin_type=0x80000000,
            address="0x" + DEFAULT_EVM.hex(),
            block_number=5,
        ),
        AddrRecord(chain_id=OP_CHAIN_ID, node=node, coin_type=0, address="0x00141234", block_number=5),
        Contenthash(chain_id=OP_CHAIN_ID, node=node, hash="0x" + CONTENT.hex(), block_number=5),
    )


def ask(client, call_data: bytes, *, method: str = "GET", sender: str = RESOLVER):
    if method == "GET":
        return client.get(f"/ccip/{sender}/0x{call_data.hex()}.json")
    return client.post("/ccip", json={"sender": sender, "data": "0x" + call_data.hex()})


def verified_result(response, call_data: bytes, *, sender: str = RESOLVER) -> bytes:
    """Check the response like SignatureVerifier.verify and return the signed result."""
    assert response.status_code == 200, response.text
    result, expires, sig = decode(["bytes", "uint64", "bytes"], bytes.fromhex(response.json()["data"][2:]))
    assert len(sig) == 65
    now = int(time.time())
    assert now < expires <= now + 300 + 5
    digest = signature_digest(
        sender=bytes.fromhex(sender[2:]), expires=expires, request=call_data, result=result
    )
    signer = keys.Signature(sig[:64] + bytes([sig[64] - 27])).recover_public_key_from_msg_hash(digest)
    assert signer.to_checksum_address() == GATEWAY_ACCOUNT.address
    max_age = int(response.headers["cache-control"].split("max-age=")[1])
    assert 0 < max_age <= expires - now + 1
    return result


@pytest.mark.usefixtures("records")
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_text(client, method):
    call = resolve_call(text_call("url"))
    assert decode(["string"], verified_result(ask(client, call, method=method), call)) == (
        "https://alice.example",
    )


@pytest.mark.usefixtures("records")
def test_addr__legacy_returns_address(client):
    call = resolve_call(addr_call())
    assert decode(["address"], verified_result(ask(client, call), call)) == ("0x" + ALICE.hex(),)


@pytest.mark.usefixtures("records")
@pytest.mark.parametrize(
    ("coin_type", "expected"),
    [
        (60, ALICE),
        (0, bytes.fromhex("00141234")),
        (0x80000000, DEFAULT_EVM),
        (0x80000000 | 10, DEFAULT_EVM),  # ENSIP-19: no Optimism record -> default EVM address
        (0x80000000 | 8453, DEFAULT_EVM),
        (2, b""),  # not an EVM coin type: no fallback
    ],
)
def test_addr_coin_type(client, coin_type, expected):
    call = resolve_call(addr_coin_call(coin_type))
    assert decode(["bytes"], verified_result(ask(client, call), call)) == (expected,)


@pytest.mark.usefixtures("records")
def test_contenthash(client):
    call = resolve_call(contenthash_call())
    assert decode(["bytes"], verified_result(ask(client, call, method="POST"), call)) == (CONTENT,)


@pytest.mark.usefixtures("records")
def test_multicall__answers_each_call_in_order(client):
    call = resolve_call(multicall(text_call("url"), addr_call(), addr_coin_call(1), contenthash_call()))
    (results,) = decode(["bytes[]"], verified_result(ask(client, call), call))
    assert decode(["string"], results[0]) == ("https://alice.example",)
    assert decode(["address"], results[1]) == ("0x" + ALICE.hex(),)
    assert decode(["bytes"], results[2]) == (b"",)
    assert decode(["bytes"], results[3]) == (CONTENT,)


@pytest.mark.parametrize(
    ("inner", "decoded_as", "empty"),
    [
        (text_call("network.dm3.profile", namehash("bob.op.dm3.eth")), "string", ""),
        (addr_call(namehash("bob.op.dm3.eth")), "address", "0x" + "00" * 20),
        (addr_coin_call(0x80000000 | 10, namehash("bob.op.dm3.eth")), "bytes", b""),
        (contenthash_call(namehash("bob.op.dm3.eth")), "bytes", b""),
    ],
)
def test_missing_record__signed_empty_answer(client, inner, decoded_as, empty):
    call = resolve_call(inner, name="bob.op.dm3.eth")
    assert decode([decoded_as], verified_result(ask(client, call), call)) == (empty,)


def test_parent_name_itself_and_other_chain(client, seed):
    seed(
        TextRecord(
            chain_id=8453,
            node="0x" + namehash("x.base.dm3.eth").hex(),
            key="k",
            value="base!",
            block_number=1,
        )
    )
    call = resolve_call(text_call("k", namehash("x.base.dm3.eth")), name="x.base.dm3.eth")
    assert decode(["string"], verified_result(ask(client, call), call)) == ("base!",)
    call = resolve_call(text_call("k", namehash("op.dm3.eth")), name="op.dm3.eth")
    assert decode(["string"], verified_result(ask(client, call), call)) == ("",)


def test_long_label__255_bytes_is_answered(client):
    name = "a" * 255 + ".op.dm3.eth"
    call = resolve_call(text_call("url", namehash(name)), name=name)
    assert decode(["string"], verified_result(ask(client, call), call)) == ("",)


CAROL = "carol.op.dm3.eth"  # only a default EVM address (coin type 0x80000000)


@pytest.fixture
def default_only(seed):
    node = "0x" + namehash(CAROL).hex()
    seed(
        AddrRecord(
            chain_id=OP_CHAIN_ID,
            node=node,
            coin_type=0x80000000,
            address="0x" + DEFAULT_EVM.hex(),
            block_number=5,
        )
    )


@pytest.mark.usefixtures("default_only")
def test_addr__legacy_falls_back_to_the_default_evm_address(client):
    """ProfileRegistry.addr(node) answers the ENSIP-19 default when coin type 60 is unset; so must ENS on L1."""
    call = resolve_call(addr_call(namehash(CAROL)), name=CAROL)
    assert decode(["address"], verified_result(ask(client, call), call)) == ("0x" + DEFAULT_EVM.hex(),)


@pytest.mark.usefixtures("default_only")
@pytest.mark.parametrize(
    ("coin_type", "expected"),
    [
        (60, DEFAULT_EVM),
        (0x80000000, DEFAULT_EVM),
        (0x80000000 | 10, DEFAULT_EVM),
        (0, b""),  # BTC: not an EVM chain, no fallback
        (0x7FFFFFFF, b""),
        (2**32 | 0x80000000 | 10, b""),  # above the EVM range
    ],
)
def test_addr_coin_type__default_evm_address_for_evm_chains_only(client, coin_type, expected):
    call = resolve_call(addr_coin_call(coin_type, namehash(CAROL)), name=CAROL)
    assert decode(["bytes"], verified_result(ask(client, call), call)) == (expected,)


def test_emoji_name__normalised__answered(client):
    name = "\N{PILE OF POO}.op.dm3.eth"
    call = resolve_call(text_call("url", namehash(name)), name=name)
    assert decode(["string"], verified_result(ask(client, call), call)) == ("",)


@pytest.mark.usefixtures("records")
@pytest.mark.parametrize(
    ("name", "node_of", "reason"),
    [
        # What a client that skips ENSIP-15 sends: the name and the hash of it as typed.
        ("Alice.op.dm3.eth", "Alice.op.dm3.eth", "not in ensip-15 normal form"),
        # The same name with the normal form's node: still refused, never alice's records.
        ("Alice.op.dm3.eth", NAME, "not in ensip-15 normal form"),
        ("\N{HEAVY BLACK HEART}\ufe0f.op.dm3.eth", "\N{HEAVY BLACK HEART}\ufe0f.op.dm3.eth", "normal form"),
        ("a_b.op.dm3.eth", "a_b.op.dm3.eth", "underscore"),
        ("a b.op.dm3.eth", "a b.op.dm3.eth", "disallowed character"),
        ("a\x00b.op.dm3.eth", "a\x00b.op.dm3.eth", "disallowed character"),
    ],
)
def test_name_not_in_normal_form__422_with_the_reason(client, name, node_of, reason):
    response = ask(client, resolve_call(text_call("url", namehash(node_of)), name=name))
    assert response.status_code == 422, response.text
    assert reason in response.json()["message"].lower()
    assert "cache-control" not in response.headers


def test_unknown_parent__404(client):
    call = resolve_call(text_call("url", namehash("alice.eth")), name="alice.eth")
    response = ask(client, call)
    assert response.status_code == 404
    assert "alice.eth" in response.json()["message"]


def _bad_dns(wire: bytes, inner: bytes) -> bytes:
    return RESOLVE_SELECTOR + encode(["bytes", "bytes"], [wire, inner])


def _url(call_data: bytes, sender: str = RESOLVER) -> str:
    return f"/ccip/{sender}/0x{call_data.hex()}.json"


UNKNOWN_SELECTOR = bytes.fromhex("12345678") + bytes(32)
NOT_UTF8_NAME = bytes.fromhex("02fffe00")


@pytest.mark.parametrize(
    ("path_or_body", "status"),
    [
        (f"/ccip/{RESOLVER}/0xzz.json", 400),
        (f"/ccip/{RESOLVER}/1234.json", 400),
        (_url(resolve_call(addr_call()), sender="0x1234"), 400),
        (_url(resolve_call(addr_call()), sender="nothex"), 400),
        (_url(bytes.fromhex("12345678")), 400),  # not resolve(bytes,bytes)
        (_url(RESOLVE_SELECTOR + b"\x00"), 400),  # truncated arguments
        (_url(resolve_call(UNKNOWN_SELECTOR)), 400),  # unknown resolver function
        (_url(resolve_call(addr_call(namehash("bob.op.dm3.eth")))), 400),  # node is not namehash(name)
        (_url(_bad_dns(b"\x05alice", addr_call())), 400),  # no terminator
        (_url(_bad_dns(b"\x09alice\x00", addr_call())), 400),  # label runs past the end
        (_url(_bad_dns(encode_dns_name(NAME) + b"\x00", addr_call())), 400),  # trailing bytes
        (_url(_bad_dns(NOT_UTF8_NAME, addr_call())), 400),
        (_url(resolve_call(multicall(*[addr_call()] * 33))), 413),
        (_url(resolve_call(multicall(b"\x00\x01"))), 400),
        (_url(bytes(9000)), 413),
    ],
)
def test_get__bad_requests__4xx_json(client, path_or_body, status):
    response = client.get(path_or_body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["message"]
    assert "cache-control" not in response.headers


@pytest.mark.parametrize(
    "body",
    [
        {"sender": RESOLVER},
        {"data": "0x"},
        {"sender": RESOLVER, "data": 5},
        {"sender": RESOLVER, "data": "0xabc"},
        [],
        "nonsense",
    ],
)
def test_post__bad_bodies__4xx_json(client, body):
    response = client.post("/ccip", json=body)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["message"]


def test_post__not_json__4xx_json(client):
    response = client.post("/ccip", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["message"]


def test_post__oversized_body__413_json(client):
    response = client.post("/ccip", json={"sender": RESOLVER, "data": "0x" + "00" * 600_000})
    assert response.status_code == 413
    assert response.json()["message"]


def test_wrong_sender__403_when_resolvers_are_configured(api_settings, writer, chains):
    from fastapi.testclient import TestClient

    from indexer.api.main import create_app
    from indexer.gateway.signer import GatewaySigner

    api_settings.gateway.resolvers = [RESOLVER.upper().replace("0X", "0x")]
    app = create_app(api_settings, signer=GatewaySigner(GATEWAY_ACCOUNT, ttl_seconds=60))
    with TestClient(app) as test_client:
        call = resolve_call(addr_call())
        assert ask(test_client, call, sender="0x" + "22" * 20).status_code == 403
        response = ask(test_client, call)
        result = decode(["bytes", "uint64", "bytes"], bytes.fromhex(response.json()["data"][2:]))
        assert result[1] <= int(time.time()) + 60
        assert int(response.headers["cache-control"].split("max-age=")[1]) <= 60


def test_no_key_configured__503(api_settings, writer, chains):
    from fastapi.testclient import TestClient

    from indexer.api.main import create_app

    with TestClient(create_app(api_settings)) as test_client:
        response = ask(test_client, resolve_call(addr_call()))
        assert response.status_code == 503
        assert "key" in response.json()["message"]


def test_cors__preflight_and_simple_requests(client):
    call = resolve_call(addr_call())
    response = client.get(f"/ccip/{RESOLVER}/0x{call.hex()}.json", headers={"Origin": "https://app.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    preflight = client.options(
        "/ccip",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["access-control-allow-methods"]
    error = client.get(f"/ccip/{RESOLVER}/0xzz.json", headers={"Origin": "https://app.example"})
    assert error.headers["access-control-allow-origin"] == "*"


def test_text__keys_by_raw_bytes__nul_and_invalid_utf8_are_their_own_records(client, seed):
    """On-chain a key is any bytes: a NUL key, an invalid UTF-8 key and their U+FFFD lookalike are three records,
    and the gateway finds each by the raw bytes of the request (as the contract would)."""
    node = "0x" + NODE.hex()
    by_key = {b"a\x00b": "nul", b"a\xffb": "invalid", "a\ufffdb".encode(): "lookalike"}
    seed(
        *(
            TextRecord(
                chain_id=OP_CHAIN_ID,
                node=node,
                key_hex="0x" + raw.hex(),
                key="a\ufffdb",
                value=value,
                block_number=5,
            )
            for raw, value in by_key.items()
        )
    )
    for raw, value in by_key.items():
        call = TEXT_SELECTOR + encode(["bytes32", "bytes"], [NODE, raw])
        response = ask(client, resolve_call(call))
        assert response.status_code == 200, response.text
        assert decode(["string"], verified_result(response, resolve_call(call)))[0] == value
