"""The chain side of the test harness: anvil nodes on free loopback ports (started with the devnet's own command
line, `indexer.devnet.anvil.command`), the dm3 contracts deployed over plain JSON-RPC and sent to from anvil's
unlocked dev accounts. The tests and the benchmarks share it."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from eth_abi import encode as abi_encode
from web3 import Web3

from indexer.devnet import anvil as devnet_anvil
from indexer.settings.indexer import ChainConfig, ContractConfig, IndexedChain, resolve_chain

ROOT = Path(__file__).resolve().parents[1]
PARENT = "op.dm3.eth"
GAS = 2_000_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port_block(size: int) -> int:
    """The first of `size` consecutive free loopback ports (from the OS's pick, so parallel runs differ)."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            base = sock.getsockname()[1]
        if base + size > 65535:
            continue
        if all(_free(base + i) for i in range(size)):
            return base
    raise RuntimeError("no block of free ports")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def cs(address: str) -> str:
    return Web3.to_checksum_address(address)


class RpcFailed(RuntimeError):
    pass


class Anvil:
    """An anvil node on a free loopback port, a child of this process (automine on unless `extra_args` say
    otherwise, e.g. `--block-time 1`)."""

    def __init__(
        self,
        *,
        chain_id: int,
        accounts: int = 10,
        extra_args: Sequence[str] = (),
        start_timeout: float = 20.0,
    ) -> None:
        self.chain_id = chain_id
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = devnet_anvil.command(
            ROOT, port=self.port, chain_id=chain_id, accounts=accounts, extra_args=["--silent", *extra_args]
        )
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.http = httpx.Client(timeout=30)
        deadline = time.monotonic() + start_timeout  # loading a large `--load-state` dump takes a while
        while True:
            try:
                self.rpc("eth_chainId")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("anvil did not start") from None
                time.sleep(0.05)

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        body = self.http.post(
            self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
        )
        data = body.json()
        if data.get("error"):
            raise RpcFailed(f"{method}: {data['error']}")
        return data["result"]

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def receipt(self, tx: str) -> dict[str, Any]:
        """The receipt of ``tx`` (anvil mines right after answering eth_sendTransaction, so poll briefly)."""
        for _ in range(500):
            receipt = self.rpc("eth_getTransactionReceipt", [tx])
            if receipt is not None:
                return dict(receipt)
            time.sleep(0.002)
        raise RpcFailed(f"no receipt for {tx}")

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", [hex(blocks)])

    def stop(self) -> None:
        self.http.close()
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@dataclass
class Contract:
    name: str
    address: str
    block: int
    w3c: Any  # web3 contract bound to the address (used to encode calls and decode views)

    def data(self, fn: str, *args: Any) -> str:
        return str(self.w3c.encode_abi(fn, list(args)))

    def view(self, fn: str, *args: Any) -> Any:
        return getattr(self.w3c.functions, fn)(*args).call()


class Devnet:
    """ProfileRegistry + Dm3Token + InboxDeposits deployed on one anvil; transactions sent unlocked."""

    def __init__(
        self, anvil: Anvil, contract_types: dict[str, dict[str, Any]], *, cooldown: int = 60
    ) -> None:
        self.anvil = anvil
        self.types = contract_types
        self.w3 = Web3(Web3.HTTPProvider(anvil.url))
        self.accounts = [a.lower() for a in anvil.rpc("eth_accounts")]
        self.deployer = self.accounts[0]
        self.cooldown = cooldown
        self.registry = self._deploy("ProfileRegistry", ["string"], [PARENT])
        self.token = self._deploy("Dm3Token", ["address"], [self.deployer])
        self.deposits = self._deploy(
            "InboxDeposits", ["address", "uint256", "address"], [self.token.address, cooldown, self.deployer]
        )

    def _deploy(self, name: str, arg_types: list[str], args: list[Any]) -> Contract:
        ct = self.types[name]
        data = ct["bytecode"] + abi_encode(arg_types, args).hex()
        tx = self.anvil.rpc(
            "eth_sendTransaction", [{"from": self.deployer, "data": data, "gas": hex(10_000_000)}]
        )
        receipt = self.anvil.receipt(tx)
        address = receipt["contractAddress"].lower()
        w3c = self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=ct["abi"])
        return Contract(name, address, int(receipt["blockNumber"], 16), w3c)

    def tx_request(self, contract: Contract, sender: str, fn: str, *args: Any) -> dict[str, Any]:
        return {"from": sender, "to": contract.address, "data": contract.data(fn, *args), "gas": hex(GAS)}

    def send(self, contract: Contract, sender: str, fn: str, *args: Any) -> bool:
        """Send and mine one transaction; True if it succeeded (reverts are mined and reported False)."""
        tx = self.anvil.rpc("eth_sendTransaction", [self.tx_request(contract, sender, fn, *args)])
        receipt = self.anvil.receipt(tx)
        return bool(receipt["status"] == "0x1")

    def fund(self, amount: int = 10**26 // 20) -> None:
        for account in self.accounts:
            assert self.send(self.token, self.deployer, "mint", Web3.to_checksum_address(account), amount)
            assert self.send(
                self.token, account, "approve", Web3.to_checksum_address(self.deposits.address), 2**256 - 1
            )

    def spec(self, *, name: str = "op", **overrides: Any) -> IndexedChain:
        cfg = ChainConfig(
            name=name,
            chain_id=self.anvil.chain_id,
            rpc_url=overrides.pop("rpc_url", self.anvil.url),
            registry=ContractConfig(address=self.registry.address, start_block=self.registry.block),
            deposits=ContractConfig(address=self.deposits.address, start_block=self.deposits.block),
            parent_name=PARENT,
            **overrides,
        )
        return resolve_chain(cfg, ROOT / "deployments")


def contract_types(
    project: Any, names: Sequence[str] = ("ProfileRegistry", "InboxDeposits", "Dm3Token")
) -> dict[str, dict[str, Any]]:
    """ABI and creation bytecode of the `names` contracts, from ape's build (the one every suite uses)."""
    out = {}
    for name in names:
        ct = project.get_contract(name).contract_type
        out[name] = {
            "abi": [item.model_dump(mode="json", by_alias=True) for item in ct.abi],
            "bytecode": ct.deployment_bytecode.bytecode,
        }
    return out
