"""A user without ETH registers and writes a record through the relayer; every state of a request."""

from __future__ import annotations

from typing import Any

from eth_abi import encode as abi_encode
from web3 import Web3

from harness.relayer import RelayEnv, user
from indexer.ens import namehash


def test_register_and_text__zero_eth_user__mined(env: RelayEnv) -> None:
    carol = user(0xC1)
    assert env.anvil.rpc("eth_getBalance", [carol.address, "latest"]) == "0x0"
    accepted = env.post(env.body("registerWithSig", carol, label="carol", owner=carol.address))
    assert accepted.status_code == 202, accepted.text
    request = accepted.json()
    assert request["state"] == "queued" and request["signer"] == carol.address
    assert env.status(request["id"])["tx_hash"] is None
    node = namehash("carol.op.dm3.eth")
    text = env.post(env.body("setTextWithSig", carol, nonce=1, node=node, key="email", value="c@example.org"))
    assert text.status_code == 202, text.text
    done = env.until(request["id"], "mined")
    assert done["tx_hash"] and done["block_number"] and done["envelope"]["chain_id"] == env.chain_id
    env.until(text.json()["id"], "mined")
    assert env.devnet.registry.view("owner", node).lower() == carol.address.lower()
    assert env.devnet.registry.view("text", node, "email") == "c@example.org"
    txs = env.txs()
    assert len(txs) == 1 and txs[0]["batched"] and txs[0]["calls"] == 2  # both writes in one batch


def _wallet(env: RelayEnv, compiled: dict[str, Any], owner: str, *, rejects: bool) -> str:
    code = compiled["MockERC1271Wallet"]["bytecode"] + abi_encode(["address", "bool"], [owner, rejects]).hex()
    tx = env.anvil.rpc(
        "eth_sendTransaction", [{"from": env.devnet.deployer, "data": code, "gas": hex(3_000_000)}]
    )
    return str(Web3.to_checksum_address(env.anvil.receipt(tx)["contractAddress"]))


def test_erc1271_signer__simulation_decides(env: RelayEnv, compiled: dict[str, Any]) -> None:
    owner = user(0x71)
    good = _wallet(env, compiled, owner.address, rejects=False)
    bad = _wallet(env, compiled, owner.address, rejects=True)
    accepted = env.post(env.body("setPrimaryNameWithSig", owner, signer=good, name="wallet.op.dm3.eth"))
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["signer"] == good
    env.until(accepted.json()["id"], "mined")
    assert env.devnet.registry.view("primaryName", good) == "wallet.op.dm3.eth"
    refused = env.post(env.body("setPrimaryNameWithSig", owner, signer=bad, name="wallet.op.dm3.eth"))
    assert refused.status_code == 422 and "invalid signature" in refused.json()["message"]
