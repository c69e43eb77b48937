"""SIGKILL of `dm3-relayer run` at every point of the pipeline: after a restart every accepted request ends mined
exactly once (each signer's on-chain nonce moved once per request, the relayer's account sent one transaction per
recorded nonce, no write failed as a replay would), and the change feed holds each of its states exactly once."""

from __future__ import annotations

import signal
import time
from typing import Any

import pytest
from web3 import Web3

from harness.relayer import RelayEnv, relay_changes, user, wait_exit

POINTS = ("after_sign", "before_broadcast", "after_broadcast", "before_settle")


def _accept_writes(env: RelayEnv) -> list[str]:
    bodies = [
        env.body("setPrimaryNameWithSig", user(1), name="one.op.dm3.eth"),
        env.body("setPrimaryNameWithSig", user(2), name="two.op.dm3.eth"),
        env.body("setPrimaryNameWithSig", user(1), nonce=1, name="uno.op.dm3.eth"),
    ]
    ids = []
    for body in bodies:
        response = env.post(body)
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


def _crash_and_recover(env: RelayEnv, point: str) -> list[str]:
    ids = _accept_writes(env)
    env.sender.lease.release()  # the in-process sender steps aside for the processes
    crashed = env.spawn(DM3_RELAYER_FAULT=point)
    assert wait_exit(crashed) == -signal.SIGKILL
    survivor = env.spawn()
    try:
        deadline = time.monotonic() + 30
        while any(env.status(i)["state"] != "mined" for i in ids):
            assert survivor.poll() is None, survivor.stderr.read() if survivor.stderr else ""
            assert time.monotonic() < deadline, [env.status(i) for i in ids]
            time.sleep(0.05)
    finally:
        survivor.send_signal(signal.SIGTERM)
        assert wait_exit(survivor) == 0
    return ids


def _assert_once(env: RelayEnv, ids: list[str]) -> None:
    states = [env.status(i) for i in ids]
    assert all(s["state"] == "mined" and s["error"] is None for s in states), states
    registry = env.devnet.registry
    assert registry.view("nonces", Web3.to_checksum_address(user(1).address)) == 2
    assert registry.view("nonces", Web3.to_checksum_address(user(2).address)) == 1
    assert registry.view("primaryName", Web3.to_checksum_address(user(1).address)) == "uno.op.dm3.eth"
    txs = env.txs()
    nonces = {t["nonce"] for t in txs}
    assert int(env.anvil.rpc("eth_getTransactionCount", [env.relayer.address, "latest"]), 16) == len(nonces)
    assert sorted(t["nonce"] for t in txs if t["state"] == "mined") == sorted(nonces)
    for state in states:
        assert env.anvil.rpc("eth_getTransactionReceipt", [state["tx_hash"]])["status"] == "0x1"
    feed = relay_changes(env)  # no state missing, none twice, the last one the table's
    assert sorted((r["args"]["id"], r["event"]) for r in feed) == sorted(
        (i, s) for i in ids for s in ("queued", "sent", "mined")
    )
    for state in states:
        mined = [r for r in feed if r["args"]["id"] == state["id"] and r["event"] == "mined"]
        assert (mined[0]["tx_hash"], mined[0]["block_number"]) == (state["tx_hash"], state["block_number"])


@pytest.mark.parametrize("point", POINTS)
def test_sigkill__every_request_mined_once(env: RelayEnv, point: str) -> None:
    _assert_once(env, _crash_and_recover(env, point))


def test_sigkill_after_sign__postgresql(make_env: Any, pg_url: str) -> None:
    env = make_env(pg_url)
    _assert_once(env, _crash_and_recover(env, "after_sign"))
