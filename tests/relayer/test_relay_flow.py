"""A user without ETH registers and writes a record through the relayer; every state of a request."""

from __future__ import annotations

from relayer_support import RelayEnv, user

from indexer.ens import namehash


def test_register_and_text__zero_eth_user__mined(env: RelayEnv) -> None:
    carol = user(0xC1)
    assert env.anvil.rpc("eth_getBalance", [carol.address, "latest"]) == "0x0"
    accepted = env.post(env.body("registerWithSig", carol, label="carol", owner=carol.address))
    assert accepted.status_code == 202, accepted.text
    request = accepted.json()
    assert request["state"] == "queued" and request["signer"] == carol.address
    assert env.status(request["id"])["tx_hash"] is None
    node = bytes.fromhex(namehash("carol.op.dm3.eth")[2:])
    text = env.post(env.body("setTextWithSig", carol, nonce=1, node=node, key="email", value="c@example.org"))
    assert text.status_code == 202, text.text
    done = env.until(request["id"], "mined")
    assert done["tx_hash"] and done["block_number"] and done["envelope"]["chain_id"] == env.chain_id
    env.until(text.json()["id"], "mined")
    assert env.devnet.registry.view("owner", node).lower() == carol.address.lower()
    assert env.devnet.registry.view("text", node, "email") == "c@example.org"
    txs = env.txs()
    assert len(txs) == 1 and txs[0]["batched"] and txs[0]["calls"] == 2  # both writes in one batch
