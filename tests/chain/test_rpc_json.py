"""What a node's answer parses to (msgspec, `rpc._decode_json`): the same values as json.loads, and a body that is
not JSON is a transient error naming it, never a stack trace of the parser."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from indexer.chain.rpc import RetryPolicy, RpcClient, RpcTransientError

_ONCE = RetryPolicy(attempts=1)


def _call(body: bytes) -> object:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))

    async def go() -> object:
        async with RpcClient("http://node", retry=_ONCE, transport=transport) as rpc:
            return await rpc.call("eth_getLogs", [{}])

    return asyncio.run(go())


def test_answer__same_values_as_json_loads() -> None:
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "result": [
                {"data": "0x" + "ab" * 64, "logIndex": "0x1", "removed": False, "topics": ["0x" + "00" * 32]},
                {"big": 2**256 - 1, "neg": -(2**70), "float": 1.5, "text": 'é\u2603\\"', "none": None},
            ],
        }
    ).encode()
    assert _call(body) == json.loads(body)["result"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html>502 Bad Gateway</html>",
        b'{"jsonrpc": "2.0", "id": 1, "result": [',
        b'{"result": NaN}',
        b"\xff\xfe",
    ],
)
def test_answer__not_json__transient_error(body: bytes) -> None:
    with pytest.raises(RpcTransientError, match="response is not JSON"):
        _call(body)
