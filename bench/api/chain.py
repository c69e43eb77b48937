"""The reference a delivery node has without us: `eth_call InboxDeposits.is_eligible` against a local anvil.

Deploys Dm3Token and InboxDeposits (the compiled artifacts of this checkout) on a fresh anvil, has 40 recipients
set a price and 40 senders hold a bond with some of them, and returns `eth_call` JSON-RPC requests for pairs with
and without a bond (the same mix as the API's single-pair questions), to be sent as `POST /` bodies.
"""

from __future__ import annotations

import json
import random
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector

from bench.api.loadgen import Request
from bench.common import ROOT, stop_processes
from indexer.devnet.anvil import anvil_binary
from indexer.devnet.core import compile_contracts

TOKEN = 10**18
CHAIN_ID = 31_337_091


@dataclass
class Node:
    port: int
    url: str
    deposits: str
    bonded: list[tuple[str, str]]
    unbonded: list[tuple[str, str]]

    def rpc(self, method: str, params: list[Any]) -> Any:
        answer = httpx.post(
            self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        ).json()
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]


def _call_data(signature: str, types: list[str], args: list[Any]) -> str:
    return "0x" + (function_signature_to_4byte_selector(signature) + abi_encode(types, args)).hex()


def _bytecode(name: str) -> str:
    manifest = json.loads((ROOT / ".build" / "__local__.json").read_text())
    return str(manifest["contractTypes"][name]["deploymentBytecode"]["bytecode"])


def _send(url: str, txs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Send transactions (unlocked accounts, automine) in one JSON-RPC batch; their receipts, all successful.

    Each sender's nonces are set here: anvil numbers a batch's transactions from one sender concurrently and
    may give two the same nonce ("replacement transaction underpriced")."""
    nonces: dict[str, int] = {}
    txs = [dict(tx) for tx in txs]
    for tx in txs:
        sender = tx["from"]
        if sender not in nonces:
            nonces[sender] = int(
                httpx.post(
                    url,
                    json={
                        "jsonrpc": "2.0",
                        "id": 1,
                        "method": "eth_getTransactionCount",
                        "params": [sender, "pending"],
                    },
                ).json()["result"],
                16,
            )
        tx["nonce"] = hex(nonces[sender])
        nonces[sender] += 1
    batch = [
        {"jsonrpc": "2.0", "id": i, "method": "eth_sendTransaction", "params": [tx]}
        for i, tx in enumerate(txs)
    ]
    answers = sorted(httpx.post(url, json=batch, timeout=60).json(), key=lambda a: a["id"])
    if errors := [a["error"] for a in answers if "error" in a]:
        raise RuntimeError(f"anvil refused a setup transaction: {errors[0]}")
    hashes = [a["result"] for a in answers]
    receipts = []
    for tx in hashes:
        answer = httpx.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_getTransactionReceipt", "params": [tx]}
        ).json()
        receipt = answer["result"]
        assert receipt is not None and receipt["status"] == "0x1", receipt
        receipts.append(receipt)
    return receipts


@contextmanager
def anvil_node(port: int) -> Iterator[Node]:
    compile_contracts(ROOT)
    command = [
        anvil_binary(ROOT),
        "--port",
        str(port),
        "--chain-id",
        str(CHAIN_ID),
        "--silent",
        "--accounts",
        "81",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("anvil did not start") from None
                time.sleep(0.05)
        accounts = httpx.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_accounts", "params": []}
        ).json()["result"]
        owner, recipients, senders = accounts[0], accounts[1:41], accounts[41:81]
        gas = hex(5_000_000)
        token_tx = {
            "from": owner,
            "gas": gas,
            "data": _bytecode("Dm3Token") + abi_encode(["address"], [owner]).hex(),
        }
        token = _send(url, [token_tx])[0]["contractAddress"]
        deposits_tx = {
            "from": owner,
            "gas": gas,
            "data": _bytecode("InboxDeposits")
            + abi_encode(["address", "uint256", "address"], [token, 60, owner]).hex(),
        }
        deposits = _send(url, [deposits_tx])[0]["contractAddress"]

        def call(sender: str, to: str, signature: str, types: list[str], args: list[Any]) -> dict[str, Any]:
            return {"from": sender, "to": to, "gas": hex(300_000), "data": _call_data(signature, types, args)}

        rng = random.Random(3)
        # In phases: anvil may run one batch's transactions from different senders in another order.
        mints = [
            call(owner, token, "mint(address,uint256)", ["address", "uint256"], [s, 100 * TOKEN])
            for s in senders
        ]
        _send(url, mints)
        approvals = [
            call(s, token, "approve(address,uint256)", ["address", "uint256"], [deposits, 2**256 - 1])
            for s in senders
        ]
        prices = [
            call(r, deposits, "set_min_deposit(uint256)", ["uint256"], [rng.choice([0, TOKEN, 5 * TOKEN])])
            for r in recipients
        ]
        _send(url, approvals + prices)
        bonded = [(s, rng.choice(recipients)) for s in senders]
        deposit = "deposit(address,uint256)"
        _send(url, [call(s, deposits, deposit, ["address", "uint256"], [r, 2 * TOKEN]) for s, r in bonded])
        unbonded = [(rng.choice(senders), rng.choice(recipients)) for _ in range(20)]
        yield Node(port=port, url=url, deposits=deposits, bonded=bonded, unbonded=unbonded)
    finally:
        stop_processes([proc])


def eth_call_requests(node: Node) -> list[Request]:
    """`eth_call is_eligible(sender, recipient)` at `latest`, 2/3 pairs with a bond and 1/3 without."""
    pairs = node.bonded + node.unbonded
    out = []
    for i, (sender, recipient) in enumerate(pairs):
        data = _call_data("is_eligible(address,address)", ["address", "address"], [sender, recipient])
        body = {
            "jsonrpc": "2.0",
            "id": i,
            "method": "eth_call",
            "params": [{"to": node.deposits, "data": data}, "latest"],
        }
        out.append(Request("POST", "/", json.dumps(body, separators=(",", ":")).encode()))
    return out
