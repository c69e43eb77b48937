"""A `Deployer` over plain web3.py and eth-account, for the devnet and tests (no ape network context needed).

Contract artifacts come from ape's compiled project (`.build/__local__.json`), so both deployers send exactly
the same bytecode. `code_at` and `find_transaction` are shared with the ape deployer (`scripts/deploy.py`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.exceptions import Web3Exception

from indexer.deploy.errors import DeployError, HistoryUnavailable
from indexer.deploy.plan import Artifact, Deployed, Transaction


def load_ape_artifacts(project_root: Path) -> dict[str, Artifact]:
    """Every contract of the compiled ape project (run `ape compile` first; `indexer.devnet` does)."""
    manifest_path = project_root / ".build" / "__local__.json"
    if not manifest_path.is_file():
        raise DeployError(f"{manifest_path} does not exist: compile the contracts first (ape compile)")
    manifest = json.loads(manifest_path.read_text())
    artifacts = {}
    for name, contract_type in manifest.get("contractTypes", {}).items():
        bytecode = (contract_type.get("deploymentBytecode") or {}).get("bytecode")
        if bytecode:
            runtime = (contract_type.get("runtimeBytecode") or {}).get("bytecode") or ""
            artifacts[name] = Artifact(abi=contract_type["abi"], bytecode=bytecode, runtime_bytecode=runtime)
    return artifacts


def load_truffle_artifact(path: Path) -> Artifact:
    """A Truffle build artifact, as published by @ensdomains/ens and @ensdomains/resolver."""
    data = json.loads(path.read_text())
    return Artifact(
        abi=data["abi"], bytecode=data["bytecode"], runtime_bytecode=data.get("deployedBytecode", "")
    )


def code_at(w3: Web3, address: str, *, block: int | None = None) -> bytes:
    """The code at `address` (b"" when none) at `block` or the latest; `HistoryUnavailable` when the node cannot
    answer for that block (its state was pruned)."""
    if block is None:
        return bytes(w3.eth.get_code(to_checksum_address(address)))
    try:
        return bytes(w3.eth.get_code(to_checksum_address(address), block))
    except (Web3Exception, ValueError) as err:
        raise HistoryUnavailable(f"no state for block {block}: {err}") from err


def find_transaction(w3: Web3, block: int, *, to: str, data: bytes) -> Transaction | None:
    """The transaction of `block` that called `to` with exactly `data`, if there is one."""
    for tx in w3.eth.get_block(block, full_transactions=True).get("transactions", []):
        if (
            isinstance(tx, Mapping)
            and tx.get("to") == to_checksum_address(to)
            and bytes(tx.get("input", b"")) == data
        ):
            return Transaction(tx_hash=tx["hash"].to_0x_hex(), block=block, sender=str(tx["from"]))
    return None


class Web3Deployer:
    """Deploys with a local private key over a web3 HTTP connection."""

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        artifacts: Mapping[str, Artifact],
        *,
        network: str,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self._w3 = w3
        self._account = account
        self._artifacts = artifacts
        self._network = network
        self._chain_id = w3.eth.chain_id
        self._echo = echo

    @property
    def address(self) -> str:
        return str(self._account.address)

    @property
    def chain_id(self) -> int:
        return self._chain_id

    @property
    def network(self) -> str:
        return self._network

    def artifact(self, contract: str) -> Artifact:
        try:
            return self._artifacts[contract]
        except KeyError:
            raise DeployError(f"no compiled contract named {contract}") from None

    def deploy(self, contract: str, args: Sequence[Any]) -> Deployed:
        return self.deploy_artifact(contract, self.artifact(contract), args)

    def deploy_artifact(self, contract: str, artifact: Artifact, args: Sequence[Any]) -> Deployed:
        """Deploy any artifact (e.g. ENS's published bytecode), not only the project's contracts."""
        factory = self._w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        tx = factory.constructor(*args).build_transaction({"from": self.address})
        receipt = self.send(tx)
        if receipt["status"] != 1 or not receipt.get("contractAddress"):
            raise DeployError(f"{contract} deployment reverted: {receipt['transactionHash'].to_0x_hex()}")
        return Deployed(
            address=to_checksum_address(receipt["contractAddress"]),
            block=int(receipt["blockNumber"]),
            tx_hash=receipt["transactionHash"].to_0x_hex(),
        )

    def code(self, address: str, *, block: int | None = None) -> bytes:
        return code_at(self._w3, address, block=block)

    def code_hash(self, address: str) -> str | None:
        code = self.code(address)
        return "0x" + keccak(code).hex() if code else None

    def block_number(self) -> int:
        return int(self._w3.eth.block_number)

    def send_data(self, *, to: str, data: bytes) -> Transaction:
        receipt = self.send({"to": to_checksum_address(to), "data": data})
        if receipt["status"] != 1:
            raise DeployError(f"transaction to {to} reverted: {receipt['transactionHash'].to_0x_hex()}")
        return Transaction(
            tx_hash=receipt["transactionHash"].to_0x_hex(),
            block=int(receipt["blockNumber"]),
            sender=self.address,
        )

    def find_transaction(self, block: int, *, to: str, data: bytes) -> Transaction | None:
        return find_transaction(self._w3, block, to=to, data=data)

    def say(self, message: str) -> None:
        if self._echo is not None:
            self._echo(message)

    def send(self, tx: dict[str, Any]) -> Any:
        """Sign `tx` (nonce and gas filled in when missing), send it, and return the receipt."""
        tx = dict(tx)
        tx.setdefault("from", self.address)
        tx.setdefault("chainId", self._chain_id)
        tx.setdefault("nonce", self._w3.eth.get_transaction_count(self._account.address, "pending"))
        if "gas" not in tx:
            tx["gas"] = self._w3.eth.estimate_gas(tx)  # type: ignore[arg-type]
        if "gasPrice" not in tx and "maxFeePerGas" not in tx:
            # EIP-1559 fees as web3's build_transaction sets them: a tip, and room for the base fee to double.
            tip = self._w3.eth.max_priority_fee
            tx["maxPriorityFeePerGas"] = tip
            tx["maxFeePerGas"] = 2 * int(self._w3.eth.get_block("latest")["baseFeePerGas"]) + tip
        signed = self._account.sign_transaction(tx)
        tx_hash = self._w3.eth.send_raw_transaction(signed.raw_transaction)
        return self._w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)

    def call(self, address: str, abi: list[dict[str, Any]], function: str, *args: Any) -> Any:
        """Read a view function."""
        contract = self._w3.eth.contract(address=to_checksum_address(address), abi=abi)
        return getattr(contract.functions, function)(*args).call()

    def transact(self, address: str, abi: list[dict[str, Any]], function: str, *args: Any) -> Any:
        """Call a state-changing function and return the receipt; a revert raises `DeployError`."""
        contract = self._w3.eth.contract(address=to_checksum_address(address), abi=abi)
        tx = getattr(contract.functions, function)(*args).build_transaction({"from": self.address})
        receipt = self.send(tx)
        if receipt["status"] != 1:
            raise DeployError(f"{function} on {address} reverted: {receipt['transactionHash'].to_0x_hex()}")
        return receipt
