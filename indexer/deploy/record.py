"""The deployment record: one JSON file per network, `<ecosystem>-<network>.json`.

```json
{"chain_id": 10, "network": "optimism:sepolia", "deployer": "0x..",
 "tools": {"eth-ape": "0.8.51", "vyper": "0.4.3", ...},
 "contracts": {"ProfileRegistry": {"address": "0x..", "block": 123, "tx_hash": "0x..",
                                   "args": {"parent_name": "op.dm3.eth"}, "code_hash": "0x..",
                                   "deployer": "0x..", "salt": "0x646d...", "factory": "0x4e59...",
                                   "note": null}, ...}}
```

`code_hash` is keccak256 of the runtime code at `address` right after deployment, so anyone can check that a
recorded address still holds what was deployed. The dm3 contracts are created through the deterministic-deployment
proxy: their entries also carry `salt` and `factory` (the proxy), from which, with the compiled code and `args`,
anyone can recompute the address. A contract found already deployed at its address is recorded without a
transaction: `tx_hash` is then null unless the creating transaction was found, and `note` says how `block` was
established. Readers must ignore keys they do not know.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

# Default directories: real networks are recorded in the repository; local chains never are (a restarted
# anvil would leave dead addresses behind), so their records go to the git-ignored devnet folder.
DEPLOYMENTS_DIR = Path("deployments")
LOCAL_DEPLOYMENTS_DIR = Path(".devnet") / "deployments"

_TOOLS = ("eth-ape", "ape-vyper", "ape-foundry", "vyper", "snekmate", "web3")


@dataclass(frozen=True)
class ContractRecord:
    """One deployed contract: where, when, with what constructor arguments, and which code."""

    address: str
    block: int  # the creation block: the indexer starts there
    # The creating transaction; None for a contract found deployed whose creating transaction was not found.
    tx_hash: str | None
    args: dict[str, Any]
    code_hash: str
    deployer: str  # the account that sent the creating transaction ("" when unknown)
    salt: str | None = None  # CREATE2 salt, for contracts created through the deployment proxy
    factory: str | None = None  # the deterministic-deployment proxy that created it (None: a plain CREATE)
    note: str | None = None  # how a contract found already deployed was recorded

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContractRecord:
        return cls(
            address=data["address"],
            block=int(data["block"]),
            tx_hash=data.get("tx_hash"),
            args=dict(data.get("args", {})),
            code_hash=data["code_hash"],
            deployer=data.get("deployer", ""),
            salt=data.get("salt"),
            factory=data.get("factory"),
            note=data.get("note"),
        )


@dataclass
class DeploymentRecord:
    """Everything deployed on one network."""

    chain_id: int
    network: str
    deployer: str
    tools: dict[str, str] = field(default_factory=dict)
    contracts: dict[str, ContractRecord] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeploymentRecord:
        return cls(
            chain_id=int(data["chain_id"]),
            network=data["network"],
            deployer=data["deployer"],
            tools=dict(data.get("tools", {})),
            contracts={name: ContractRecord.from_json(c) for name, c in data.get("contracts", {}).items()},
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def record_path(deployments_dir: Path, network: str) -> Path:
    """`deployments/optimism-sepolia.json` for network `optimism:sepolia`."""
    ecosystem, _, name = network.partition(":")
    return deployments_dir / f"{ecosystem}-{name}.json"


def default_deployments_dir(network_name: str) -> Path:
    """`.devnet/deployments` for local chains, `deployments` for every other network."""
    return LOCAL_DEPLOYMENTS_DIR if network_name == "local" else DEPLOYMENTS_DIR


def load_record(path: Path) -> DeploymentRecord | None:
    """The record at `path`, or None when there is none yet."""
    if not path.is_file():
        return None
    return DeploymentRecord.from_json(json.loads(path.read_text()))


def write_record(path: Path, record: DeploymentRecord) -> None:
    """Write the record atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(record.to_json(), indent=2) + "\n")
    os.replace(tmp, path)


def tool_versions() -> dict[str, str]:
    """Versions of the tools that built and sent the deployment, for the record."""
    tools = {"python": platform.python_version()}
    for name in _TOOLS:
        try:
            tools[name] = version(name)
        except PackageNotFoundError:
            continue
    return tools
