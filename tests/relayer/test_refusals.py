"""Every refusal of `POST /v1/relay` is a 4xx JSON `{"message"}` with the reason, and nothing is queued."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from web3 import Web3

from harness.relayer import FAR, RelayEnv, user
from indexer.ens import namehash

NODE_CAROL = namehash("carol.op.dm3.eth")


def refused(env: RelayEnv, body: Any, status: int, phrase: str) -> dict[str, Any]:
    response = env.post(body)
    assert response.status_code == status, response.text
    message = response.json()["message"]
    assert phrase in message, message
    assert env.requests() == []
    return dict(response.json())


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        ([], "body"),
        ({"chain_id": "x"}, "chain_id"),
        ({"chain_id": True}, "chain_id"),
        ({"chain_id": 31_337, "function": "mint"}, "not a signed write"),
        ({"chain_id": 31_337, "function": "burn_with_sig", "message": []}, "message"),
        ({"chain_id": 31_337, "function": "burn_with_sig", "message": {}}, "lacks"),
        ({"chain_id": 31_337, "bogus": 1}, "unknown field"),
    ],
)
def test_malformed_bodies__422(env: RelayEnv, body: Any, phrase: str) -> None:
    refused(env, body, 422, phrase)


def test_unknown_chain__404(env: RelayEnv) -> None:
    body = env.body("setPrimaryNameWithSig", user(1), name="x.op.dm3.eth")
    refused(env, {**body, "chain_id": 5}, 404, "no relayer for chain 5")


def test_not_json__422(env: RelayEnv) -> None:
    response = env.client.post("/v1/relay", content=b"\xff{", headers={"content-type": "application/json"})
    assert response.status_code in (400, 422) and "message" in response.json()


@pytest.mark.parametrize(
    ("field", "value", "phrase"),
    [
        ("name", 5, "must be a string"),
        ("nonce", -1, "uint256"),
        ("nonce", "1e3", "decimal"),
        ("nonce", str(2**256), "uint256"),
        ("nonce", 1.5, "unsigned integer"),
        ("signer", "0x1234", "20-byte address"),
        ("signer", "0x" + "00" * 20, "zero address"),
    ],
)
def test_bad_fields__422(env: RelayEnv, field: str, value: Any, phrase: str) -> None:
    body = env.body("setPrimaryNameWithSig", user(1), name="x.op.dm3.eth")
    body["message"][field] = value
    refused(env, body, 422, phrase)


def test_lone_surrogate__422(env: RelayEnv) -> None:
    body = env.body("setPrimaryNameWithSig", user(1), name="PLACEHOLDER")
    raw = json.dumps(body).replace("PLACEHOLDER", "\\ud800").encode()
    response = env.client.post("/v1/relay", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422 and "lone surrogate" in response.json()["message"], response.text
    assert env.requests() == []


@pytest.mark.parametrize(
    ("signature", "phrase"),
    [("0x", "64 or 65 bytes"), ("0x" + "11" * 66, "64 or 65 bytes"), ("0xzz", "hex"), (None, "hex")],
)
def test_bad_signature_shape__422(env: RelayEnv, signature: Any, phrase: str) -> None:
    body = env.body("setPrimaryNameWithSig", user(1), name="x.op.dm3.eth")
    refused(env, {**body, "signature": signature}, 422, phrase)


def test_signature_of_someone_else__401(env: RelayEnv) -> None:
    body = env.body("setPrimaryNameWithSig", user(2), name="x.op.dm3.eth")
    body["message"]["signer"] = user(1).address
    refused(env, body, 401, "not 0x")


def test_signature_for_another_contract__401(env: RelayEnv) -> None:
    """A registry signature replayed with the deposits domain (same message shape, other verifying contract)."""
    body = env.body("setPrimaryNameWithSig", user(1), name="x.op.dm3.eth")
    body["signature"] = "0x" + bytes(65).hex()
    refused(env, body, 401, "signature")


def test_wrong_nonce__409(env: RelayEnv) -> None:
    refused(env, env.body("setPrimaryNameWithSig", user(1), nonce=3, name="x.op.dm3.eth"), 409, "next nonce")


@pytest.mark.parametrize("deadline", [0, "now", "margin"])
def test_expired_or_too_close__422(env: RelayEnv, deadline: Any) -> None:
    now = int(time.time())
    value = {0: 0, "now": now, "margin": now + env.settings.deadline_margin - 1}[deadline]
    refused(env, env.body("setPrimaryNameWithSig", user(1), deadline=value, name="x"), 422, "deadline")


def test_no_authority__unregistered_node__403(env: RelayEnv) -> None:
    body = env.body("setTextWithSig", user(1), node=NODE_CAROL, key="k", value="v")
    refused(env, body, 403, "is not registered")


def test_no_authority__someone_elses_node__403(env: RelayEnv) -> None:
    owner = env.devnet.accounts[1]
    assert env.devnet.send(env.devnet.registry, owner, "register", "carol", Web3.to_checksum_address(owner))
    env.index()
    body = env.body("setTextWithSig", user(1), node=NODE_CAROL, key="k", value="v")
    refused(env, body, 403, "neither the owner")


def test_no_authority__burn_without_bond__403(env: RelayEnv) -> None:
    body = env.body("burn_with_sig", user(1), sender=user(2).address, recipient=user(1).address, amount=1)
    body["message"]["recipient"] = user(1).address
    refused(env, body, 403, "no bond")


def test_register_taken__403(env: RelayEnv) -> None:
    owner = env.devnet.accounts[1]
    assert env.devnet.send(env.devnet.registry, owner, "register", "carol", Web3.to_checksum_address(owner))
    env.index()
    refused(
        env,
        env.body("registerWithSig", user(1), label="carol", owner=user(1).address),
        403,
        "already registered",
    )


def test_simulation_fails__422_with_reason(env: RelayEnv) -> None:
    """Valid signature, nonce and authority by the index, but the contract refuses: an invalid label."""
    body = env.body("registerWithSig", user(1), label="Not-Valid", owner=user(1).address)
    refused(env, body, 422, "registry:")


def test_deposit_without_tokens__simulation_422(env: RelayEnv) -> None:
    body = env.body("deposit_with_sig", user(1), recipient=user(2).address, amount=10**18)
    refused(env, body, 422, "simulation")


def test_permit_on_other_function__422(env: RelayEnv) -> None:
    body = env.body("setPrimaryNameWithSig", user(1), name="x")
    refused(env, {**body, "permit": {"v": 27, "r": "0x" + "11" * 32, "s": "0x" + "22" * 32}}, 422, "permit")


def test_function_not_allowed__422(make_env: Any) -> None:
    env = make_env(functions=["burn_with_sig"])
    refused(env, env.body("setPrimaryNameWithSig", user(1), name="x"), 422, "does not carry")


def test_unknown_request__404(env: RelayEnv) -> None:
    for request_id in ("nope", "x" * 500, "%00"):
        response = env.client.get(f"/v1/relay/{request_id}")
        assert response.status_code == 404 and response.json() == {"message": "unknown relay request"}


def test_config_route(env: RelayEnv) -> None:
    config = env.client.get(f"/v1/relay/config?chain_id={env.chain_id}").json()
    assert config["relayer"] == env.relayer.address and config["enabled"] is True
    assert config["batcher"] == Web3.to_checksum_address(env.batcher.address)
    assert config["contracts"]["ProfileRegistry"] == Web3.to_checksum_address(env.devnet.registry.address)
    assert "burn_with_sig" in config["functions"]
    assert env.client.get("/v1/relay/config?chain_id=5").status_code == 404
    assert env.client.get("/v1/relay/config").status_code == 422


def test_far_deadline_accepted(env: RelayEnv) -> None:
    assert env.post(env.body("setPrimaryNameWithSig", user(1), deadline=FAR, name="x")).status_code == 202


def test_node_down__503_without_the_rpc_url(make_env: Any) -> None:
    env = make_env()
    body = env.body("setPrimaryNameWithSig", user(1), name="x")
    secret = "http://user:secret@127.0.0.1:9/key123"
    chain = env.app.state.relay.settings.chains[0]
    env.app.state.relay.settings.chains[0] = chain.model_copy(update={"rpc_url": secret})
    env.app.state.relay._rpc.clear()
    response = env.post(body)
    assert response.status_code == 503 and "cannot simulate" in response.json()["message"]
    assert "secret" not in response.text and "key123" not in response.text
    assert env.requests() == []
