"""The files the devnet leaves for the other services: the indexer's TOML config, an env file, the state file.

- `dm3.toml`: `DM3_CONFIG` for `dm3-indexer` (`indexer.settings.indexer.IndexerSettings`): database, deployments dir, the L2s.
- `dm3.env`: `KEY=value` lines for the indexer, the API and the gateway (`DM3_CONFIG`, `DM3_DATABASE_URL`,
  `DM3_GATEWAY_PRIVATE_KEY`, `DM3_GATEWAY_RESOLVERS`): `set -a; . .devnet/dm3.env; set +a`.
- `devnet.json`: `DevnetState`, everything a demo or a test needs (RPC URLs, addresses, keys).
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ChainState:
    """One running devnet chain and what is deployed on it (contract name -> address)."""

    ecosystem: str
    network: str
    chain_id: int
    rpc_url: str
    parent_name: str | None
    contracts: dict[str, str]


@dataclass(frozen=True)
class DevnetState:
    """Everything about a running devnet, as `indexer.devnet.up()` returns it and `devnet.json` holds it.

    The keys are anvil's public test keys: the deployer (account 0, also the ENS and contract owner) and the
    gateway signer (account 9), trusted by the Dm3Resolver.
    """

    chains: list[ChainState]
    ens_registry: str
    public_resolver: str
    dm3_resolver: str
    gateway_url: str
    gateway_signer: str
    gateway_private_key: str
    deployer: str
    deployer_private_key: str
    database_url: str
    deployments_dir: str
    config_file: str
    env_file: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def l1(self) -> ChainState:
        return next(c for c in self.chains if c.parent_name is None)

    @property
    def l2s(self) -> list[ChainState]:
        return [c for c in self.chains if c.parent_name is not None]

    def chain(self, ecosystem: str) -> ChainState:
        """The chain of an ecosystem: `ethereum`, `optimism`, `arbitrum` or `base`."""
        for chain in self.chains:
            if chain.ecosystem == ecosystem:
                return chain
        raise KeyError(f"no devnet chain {ecosystem!r}")

    def addresses(self) -> list[tuple[str, str, list[str]]]:
        """(contract, address, chains holding it there) for every contract, in chain order: the deterministic
        (CREATE2) deployments share one address across chains when their constructor arguments agree."""
        rows: dict[tuple[str, str], list[str]] = {}
        for chain in self.chains:
            for name, address in chain.contracts.items():
                rows.setdefault((name, address), []).append(chain.ecosystem)
        return [(name, address, chains) for (name, address), chains in rows.items()]

    def env(self) -> dict[str, str]:
        """The environment for the indexer, the API, the gateway and the relayers (what `dm3.env` holds)."""
        from indexer.devnet.constants import RELAYER_INDEX, dev_account

        relay_chains = [
            {"chain_id": c.chain_id, "rpc_url": c.rpc_url, "batcher": c.contracts["RelayBatcher"]}
            for c in self.l2s
            if "RelayBatcher" in c.contracts
        ]
        return {
            "DM3_CONFIG": self.config_file,
            "DM3_DATABASE_URL": self.database_url,
            "DM3_GATEWAY_PRIVATE_KEY": self.gateway_private_key,
            "DM3_GATEWAY_RESOLVERS": self.dm3_resolver,
            "DM3_RELAYER_CHAINS": json.dumps(relay_chains),
            "DM3_RELAYER_PRIVATE_KEY": "0x" + bytes(dev_account(RELAYER_INDEX).key).hex(),
            # The gateway's proof path (base.dm3.eth is proven on the devnet): the L1 and every L2 node.
            "DM3_GATEWAY_L1_RPC_URL": self.l1.rpc_url,
            "DM3_API_RPC_URLS": json.dumps({str(c.chain_id): c.rpc_url for c in self.l2s}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DevnetState:
        chains = [ChainState(**c) for c in data["chains"]]
        return cls(**{**data, "chains": chains})


def write_state(path: Path, state: DevnetState) -> None:
    _write_atomic(path, json.dumps(asdict(state), indent=2) + "\n")


def read_state(path: Path) -> DevnetState | None:
    if not path.is_file():
        return None
    return DevnetState.from_json(json.loads(path.read_text()))


def write_indexer_config(
    path: Path, *, database_url: str, deployments_dir: Path, chains: Sequence[ChainState]
) -> None:
    """The indexer's settings for the devnet L2s; contract addresses come from the deployment records."""
    lines = [
        "# Written by `python -m indexer.devnet up`; regenerated on every `up`.",
        f"database_url = {_toml_str(database_url)}",
        f"deployments_dir = {_toml_str(str(deployments_dir))}",
        "",
    ]
    for chain in chains:
        lines += [
            "[[chains]]",
            f"name = {_toml_str(chain.ecosystem)}",
            f"chain_id = {chain.chain_id}",
            f"rpc_url = {_toml_str(chain.rpc_url)}",
            f"deployment = {_toml_str(chain.network.replace(':', '-'))}",
            f"parent_name = {_toml_str(chain.parent_name or '')}",
            "poll_interval = 0.5",
            "",
        ]
    _write_atomic(path, "\n".join(lines))


def write_env_file(path: Path, env: dict[str, str]) -> None:
    lines = ["# Written by `python -m indexer.devnet up`. Devnet-only keys (anvil's public test keys)."]
    lines += [f"{key}={shlex.quote(value)}" for key, value in env.items()]  # sourceable: `set -a; . dm3.env`
    _write_atomic(path, "\n".join(lines) + "\n")


def _toml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string for these values


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
