"""`Dm3Client.relay` / `wait_relayed` against a real uvicorn server and a `dm3-relayer run` process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from harness.relayer import RelayEnv, serve_with_relayer, user
from indexer.client import AsyncDm3Client, Dm3ApiError, Dm3Client
from indexer.ens import namehash


@pytest.fixture
def served(env: RelayEnv) -> Iterator[str]:
    with serve_with_relayer(env) as url:
        yield url


def test_relay_and_wait(env: RelayEnv, served: str) -> None:
    dave = user(0xD1)
    with Dm3Client(served) as api:
        config = api.relay_config(env.chain_id)
        assert config.enabled and config.relayer == env.relayer.address
        message: dict[str, Any] = {
            "signer": dave.address,
            "label": "dave",
            "owner": dave.address,
            "nonce": 0,
            "deadline": 2**40,
        }
        accepted = api.relay("registerWithSig", message, chain_id=env.chain_id, private_key=dave.key)
        assert accepted.state == "queued" and accepted.signer == dave.address
        done = api.wait_relayed(accepted.id, timeout=30)
        assert done.state == "mined" and done.envelope is not None and done.tx_hash
        node = namehash("dave.op.dm3.eth")
        assert env.devnet.registry.view("owner", node).lower() == dave.address.lower()
        with pytest.raises(Dm3ApiError) as refused:  # the same nonce again
            api.relay("registerWithSig", message, chain_id=env.chain_id, private_key=dave.key)
        assert refused.value.status in (403, 409)


def test_async_relay_and_wait(env: RelayEnv, served: str) -> None:
    erin = user(0xE1)
    message = {"signer": erin.address, "name": "erin.op.dm3.eth", "nonce": 0, "deadline": 2**40}

    async def run() -> Any:
        async with AsyncDm3Client(served) as api:
            accepted = await api.relay(
                "setPrimaryNameWithSig", message, chain_id=env.chain_id, private_key=erin.key
            )
            return await api.wait_relayed(accepted.id, timeout=30)

    done = asyncio.run(run())
    assert done.state == "mined" and done.signer == erin.address
    assert env.devnet.registry.view("primaryName", erin.address) == "erin.op.dm3.eth"
