"""The sender: batches with a failing write, expiry, reorgs, replacement and nonce gaps, quotas, budget, funds,
fencing; on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import text
from web3 import Web3

from harness.relayer import RelayEnv, user
from indexer.relayer import calls
from indexer.relayer.lease import LeaseLost, SenderLease, SenderLocked


def accept(env: RelayEnv, body: dict[str, Any]) -> str:
    response = env.post(body)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def primary(env: RelayEnv, n: int, **kw: Any) -> str:
    return accept(env, env.body("setPrimaryNameWithSig", user(n), name=f"u{n}.op.dm3.eth", **kw))


def test_batch_with_one_bad_write__that_one_failed_with_reason(env: RelayEnv) -> None:
    ids = [primary(env, n) for n in (1, 2, 3)]
    # user 2's nonce is spent by another signed write sent directly before the relayer sends: its queued write
    # can no longer succeed.
    other = env.body("setPrimaryNameWithSig", user(2), name="direct.op.dm3.eth")
    data = calls.parse(other["function"], other["message"], other["signature"]).calldata
    tx = {
        "from": env.devnet.deployer,
        "to": env.devnet.registry.address,
        "data": "0x" + data.hex(),
        "gas": hex(500_000),
    }
    assert env.anvil.receipt(env.anvil.rpc("eth_sendTransaction", [tx]))["status"] == "0x1"
    states = [env.until(i, s) for i, s in zip(ids, ("mined", "failed", "mined"), strict=True)]
    assert states[1]["error"] == "registry: invalid signature" and states[1]["block_number"] is not None
    assert states[0]["tx_hash"] == states[1]["tx_hash"] == states[2]["tx_hash"]
    assert env.devnet.registry.view("nonces", Web3.to_checksum_address(user(3).address)) == 1


def test_expired_before_sending(make_env: Any) -> None:
    env = make_env(deadline_margin=1)
    request_id = primary(env, 1, deadline=int(time.time()) + 3)
    time.sleep(2.2)
    env.step()
    state = env.status(request_id)
    assert state["state"] == "expired" and "deadline" in state["error"]
    assert env.txs() == []


def test_reorg_dropping_the_transaction__resent_and_mined(env: RelayEnv) -> None:
    snapshot = env.anvil.rpc("evm_snapshot")
    request_id = primary(env, 1)
    mined = env.until(request_id, "mined")
    env.anvil.rpc("evm_revert", [snapshot])  # the block holding the relayed transaction is gone
    env.anvil.mine(3)
    assert env.anvil.rpc("eth_getTransactionReceipt", [mined["tx_hash"]]) is None
    env.step()
    again = env.until(request_id, "mined")
    assert (
        again["block_number"] != mined["block_number"]
        or again["envelope"]["block_hash"] != mined["envelope"]["block_hash"]
    )
    assert env.devnet.registry.view("nonces", Web3.to_checksum_address(user(1).address)) == 1
    assert env.anvil.rpc("eth_getTransactionReceipt", [again["tx_hash"]])["status"] == "0x1"


def test_stuck_transaction_replaced_then_nonce_gap_filled(make_env: Any) -> None:
    # replace_after well above a step and an acceptance on a loaded machine: at 0.1 s the step after the second
    # acceptance sometimes replaced nonce n a second time.
    env = make_env(replace_after=1.0)
    env.anvil.rpc("evm_setAutomine", [False])
    first = primary(env, 1)
    env.step()  # nonce n sent, not mined
    time.sleep(1.2)
    env.step()  # replaced with higher fees
    attempts = env.txs()
    assert [t["attempt"] for t in attempts] == [0, 1] and attempts[1]["max_fee_per_gas"] > attempts[0][
        "max_fee_per_gas"
    ]
    second = primary(env, 2)
    env.step()  # nonce n+1 sent
    env.anvil.rpc("anvil_dropAllTransactions")  # the node forgets both: nonce n is a gap before n+1
    env.step()  # both broadcast again from their stored raw bytes
    env.anvil.mine(1)
    env.anvil.rpc("evm_setAutomine", [True])
    assert env.until(first, "mined")["tx_hash"] == attempts[1]["tx_hash"]
    env.until(second, "mined")
    states = {t["attempt"]: t["state"] for t in env.txs() if t["nonce"] == attempts[0]["nonce"]}
    assert states == {0: "replaced", 1: "mined"}
    relayer_nonce = int(env.anvil.rpc("eth_getTransactionCount", [env.relayer.address, "latest"]), 16)
    assert relayer_nonce == len({t["nonce"] for t in env.txs()})


def test_signer_quota__429_with_retry_after(make_env: Any) -> None:
    env = make_env(signer_quota=1)
    primary(env, 1)
    response = env.post(env.body("setPrimaryNameWithSig", user(1), nonce=1, name="again"))
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert "quota" in response.json()["message"]


def test_client_quota__429(make_env: Any) -> None:
    env = make_env(client_quota=2)
    primary(env, 1)
    primary(env, 2)
    response = env.post(env.body("setPrimaryNameWithSig", user(3), name="x"))
    assert response.status_code == 429 and "this client" in response.json()["message"]


def test_pending_cap__429(make_env: Any) -> None:
    env = make_env(max_pending_per_signer=2)
    primary(env, 1)
    accept(env, env.body("setPrimaryNameWithSig", user(1), nonce=1, name="b"))
    response = env.post(env.body("setPrimaryNameWithSig", user(1), nonce=2, name="c"))
    assert response.status_code == 429 and "waiting for the chain" in response.json()["message"]


def test_daily_gas_budget__429_once_spent(make_env: Any) -> None:
    env = make_env(daily_gas_budget=1)
    env.until(primary(env, 1), "mined")
    response = env.post(env.body("setPrimaryNameWithSig", user(2), name="x"))
    assert response.status_code == 429 and "budget" in response.json()["message"]
    assert int(response.headers["Retry-After"]) <= 86_400


def test_balance_below_floor__503(env: RelayEnv) -> None:
    env.anvil.rpc("anvil_setBalance", [env.relayer.address, hex(10**14)])
    env.step()
    response = env.post(env.body("setPrimaryNameWithSig", user(1), name="x"))
    assert response.status_code == 503 and "out of funds" in response.json()["message"]
    assert env.client.get(f"/v1/relay/config?chain_id={env.chain_id}").json()["enabled"] is False


def test_second_sender__refused(env: RelayEnv) -> None:
    with pytest.raises(SenderLocked):
        SenderLease(env.engine, env.chain_id, address=env.relayer.address).acquire()


def test_taken_over__no_write_no_send(env: RelayEnv) -> None:
    request_id = primary(env, 1)
    with env.engine.begin() as conn:  # another process took the chain (its generation)
        conn.execute(text("UPDATE relay_senders SET generation = generation + 1"))
    with pytest.raises(LeaseLost):
        env.step()
    assert env.status(request_id)["state"] == "queued" and env.txs() == []


def test_flow_on_postgresql(make_env: Any, pg_url: str) -> None:
    env = make_env(pg_url)
    ids = [primary(env, n) for n in (1, 2)]
    for request_id in ids:
        env.until(request_id, "mined")
    with pytest.raises(SenderLocked):
        SenderLease(env.engine, env.chain_id, address=env.relayer.address).acquire()
    waiting = primary(env, 3)
    with env.engine.begin() as conn:
        conn.execute(text("UPDATE relay_senders SET generation = generation + 1"))
    with pytest.raises(LeaseLost):
        env.step()
    assert env.status(waiting)["state"] == "queued"


def test_base_fee_above_cap__requests_wait_then_go(make_env: Any) -> None:
    env = make_env(max_fee_per_gas=10**9)
    env.anvil.rpc("anvil_setNextBlockBaseFeePerGas", [hex(5 * 10**9)])
    env.anvil.mine(1)
    request_id = primary(env, 1)
    env.step(3)
    assert env.status(request_id)["state"] == "queued" and env.txs() == []
    env.settings.max_fee_per_gas = 10**12  # the operator raises the cap
    env.until(request_id, "mined")
