"""The ``deployments/<ecosystem>-<network>.json`` format, shared by the deploy script (writer) and the indexer.

    {"chain_id": 10, "network": "optimism:sepolia",
     "contracts": {"ProfileRegistry": {"address": "0x..", "block": 123, "tx_hash": "0x..", "args": {...}},
                   "InboxDeposits": {...}, "Dm3Token": {...}}}

Unknown extra keys (e.g. code hashes) are kept, so reading and re-writing a file loses nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

REGISTRY = "ProfileRegistry"
DEPOSITS = "InboxDeposits"
TOKEN = "Dm3Token"


class DeployedContract(BaseModel):
    model_config = ConfigDict(extra="allow")

    address: str
    block: int = Field(ge=0)  # the deployment block: the indexer starts there
    tx_hash: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)  # constructor arguments by name

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not (value.startswith("0x") and len(value) == 42):
            raise ValueError(f"not an address: {value!r}")
        int(value, 16)
        return value


class Deployment(BaseModel):
    model_config = ConfigDict(extra="allow")

    chain_id: int
    network: str  # "<ecosystem>:<network>", e.g. "optimism:sepolia"
    contracts: dict[str, DeployedContract] = Field(default_factory=dict)

    @property
    def file_stem(self) -> str:
        """``optimism:sepolia`` -> ``optimism-sepolia`` (the file name without ``.json``)."""
        return self.network.replace(":", "-")

    def parent_name(self) -> str | None:
        """The registry's parent name from its constructor args, when recorded."""
        registry = self.contracts.get(REGISTRY)
        if registry is None:
            return None
        for key in ("parent_name", "parent", "PARENT_NAME", "name"):
            value = registry.args.get(key)
            if isinstance(value, str) and "." in value:
                return value
        return None


def load_deployment(path: Path | str) -> Deployment:
    return Deployment.model_validate(json.loads(Path(path).read_text()))


def save_deployment(deployment: Deployment, directory: Path | str) -> Path:
    path = Path(directory) / f"{deployment.file_stem}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(deployment.model_dump_json(indent=2) + "\n")
    return path


def find_deployments(directory: Path | str, *, chain_id: int) -> list[Path]:
    """Deployment files in ``directory`` recorded for ``chain_id``."""
    found = []
    for path in sorted(Path(directory).glob("*.json")):
        try:
            if json.loads(path.read_text()).get("chain_id") == chain_id:
                found.append(path)
        except (OSError, ValueError):
            continue
    return found
