"""The indexer's settings (env prefix ``DM3_``, the top level of the ``DM3_CONFIG`` file; see settings/base.py).

Nested values use ``__`` in env names (``DM3_CHAINS='[{...}]'`` as JSON). Contract addresses come from the chain
entry or from its deployment file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address
from pydantic import AliasChoices, BaseModel, Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from indexer import deployments
from indexer.ens import is_normalized
from indexer.settings.base import ConfigError, Dm3Settings
from indexer.store.db import normalize_url


class ContractConfig(BaseModel):
    address: str
    start_block: int = Field(default=0, ge=0)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            return to_checksum_address(value).lower()
        except ValueError as exc:
            raise ValueError(f"not an address: {value!r}") from exc


class ChainConfig(BaseModel):
    name: str
    chain_id: int = Field(gt=0)
    rpc_url: str
    registry: ContractConfig | None = None
    deposits: ContractConfig | None = None
    # A deployment file (path, or "<ecosystem>-<network>" under deployments_dir) supplying addresses/start blocks.
    deployment: str | None = None
    parent_name: str = ""  # e.g. "op.dm3.eth"
    reorg_window: int = Field(default=64, ge=1)  # blocks kept for reorg detection and rollback
    confirmations: int = Field(default=0, ge=0)  # index only up to head - confirmations
    # Head following. A websocket `eth_subscribe("newHeads")` wakes the indexer on every block; `ws_url` None =
    # derive ws://host:port from a loopback http rpc_url (anvil, a local node), "" = never use a websocket.
    ws_url: str | None = None
    # Without a live subscription the head is polled every `poll_interval` seconds; None = half the chain's
    # observed block time, clamped to [poll_interval_min, poll_interval_max].
    poll_interval: float | None = Field(default=None, gt=0)
    poll_interval_min: float = Field(default=0.1, gt=0)
    poll_interval_max: float = Field(default=2.0, gt=0)
    # With a live subscription, still poll this often (at least), in case a notification is lost.
    ws_poll_interval: float = Field(default=5.0, gt=0)
    # With a live subscription, announced blocks whose bloom rules out our logs are applied together at most this
    # often (a quiet chain's checkpoint then lags by up to this much); a block that may hold our logs is applied at
    # once. 0 = apply every block as it comes.
    quiet_apply_interval: float = Field(default=1.0, ge=0)
    initial_block_range: int = Field(default=2_000, ge=1)
    max_block_range: int = Field(default=100_000, ge=1)
    concurrency: int = Field(default=4, ge=1)  # eth_getLogs requests in flight while backfilling
    # Bytes of JSON one eth_getLogs answer should carry: spans shrink to fit, a chunk in the pipeline holds about
    # this much, and an answer past 4x this is dropped while it streams in and its range split. With
    # `concurrency` it bounds the backfill's memory whatever the chain's log density.
    logs_target_bytes: int = Field(default=4_000_000, ge=10_000)
    # A backfill with at least this many blocks to go below the reorg window fetches and decodes its logs in a
    # process of its own (the writer keeps this one's CPU: about 1.5x the events/s); None = never.
    fetch_process_min_blocks: int | None = Field(default=1_000, ge=0)
    rpc_timeout: float = Field(default=20.0, gt=0)
    rpc_batch_size: int = Field(default=100, ge=1)
    rpc_retries: int = Field(
        default=8, ge=1
    )  # attempts per request on 429/5xx/timeouts (exponential backoff)

    @field_validator("parent_name")
    @classmethod
    def _parent_name(cls, value: str) -> str:
        """The registry's nodes are namehashes of normalised names: a parent in another form matches nothing."""
        if value and not is_normalized(value):
            raise ValueError(f"{value!r} is not an ENS name in ENSIP-15 normal form")
        return value


class IndexerSettings(Dm3Settings):
    model_config = SettingsConfigDict(env_prefix="DM3_", env_nested_delimiter="__")

    database_url: str = Field(
        default="sqlite:///./data/dm3.db",
        validation_alias=AliasChoices("DM3_DATABASE_URL", "DATABASE_URL", "database_url"),
    )
    deployments_dir: Path = Path("deployments")
    chains: list[ChainConfig] = Field(default_factory=list)
    log_level: str = "INFO"
    metrics_port: int | None = None
    # How long transient database errors (connection lost, serialization failure, "database is locked") are
    # retried, with backoff, before a chain stops.
    db_retry_seconds: float = Field(default=60.0, gt=0)

    @field_validator("database_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return normalize_url(value)

    @model_validator(mode="after")
    def _unique_chains(self) -> IndexerSettings:
        ids = [c.chain_id for c in self.chains]
        if len(ids) != len(set(ids)):
            raise ValueError("two chains share a chain_id")
        return self


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> IndexerSettings:
    """The indexer's settings from the environment and `config_file` (default `DM3_CONFIG`), or a ConfigError."""
    return IndexerSettings.load(config_file, **overrides)


@dataclass(frozen=True)
class IndexedChain:
    """A chain ready to index: config merged with its deployment file."""

    config: ChainConfig
    registry: ContractConfig | None
    deposits: ContractConfig | None
    parent_name: str

    @property
    def chain_id(self) -> int:
        return self.config.chain_id

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def start_block(self) -> int:
        return min(c.start_block for c in (self.registry, self.deposits) if c is not None)

    def contracts(self) -> dict[str, str]:
        """address -> kind ("registry" / "deposits")."""
        out: dict[str, str] = {}
        if self.registry:
            out[self.registry.address] = "registry"
        if self.deposits:
            out[self.deposits.address] = "deposits"
        return out


def resolve_chain(chain: ChainConfig, deployments_dir: Path) -> IndexedChain:
    """Fill a chain's contracts and parent name from its deployment file where the config leaves them out."""
    deployment = _deployment_for(chain, deployments_dir)
    registry, deposits, parent = chain.registry, chain.deposits, chain.parent_name
    if deployment is not None:
        if deployment.chain_id != chain.chain_id:
            raise ConfigError(
                f"chain {chain.name}: deployment file is for chain id {deployment.chain_id}, not {chain.chain_id}"
            )
        recorded = deployment.contracts.get(deployments.REGISTRY)
        if registry is None and recorded is not None:
            registry = ContractConfig(address=recorded.address, start_block=recorded.block)
        recorded = deployment.contracts.get(deployments.DEPOSITS)
        if deposits is None and recorded is not None:
            deposits = ContractConfig(address=recorded.address, start_block=recorded.block)
        parent = parent or (deployment.parent_name() or "")
    if registry is None and deposits is None:
        raise ConfigError(
            f"chain {chain.name}: no contracts to index (set registry/deposits or a deployment file in {deployments_dir})"
        )
    return IndexedChain(config=chain, registry=registry, deposits=deposits, parent_name=parent)


def _deployment_for(chain: ChainConfig, deployments_dir: Path) -> deployments.Deployment | None:
    if chain.deployment:
        candidate = Path(chain.deployment)
        if not candidate.is_file():
            candidate = deployments_dir / f"{chain.deployment.replace(':', '-')}.json"
        if not candidate.is_file():
            raise ConfigError(f"chain {chain.name}: deployment file {chain.deployment!r} not found")
        return _load(candidate)
    if chain.registry is not None and chain.deposits is not None:
        return None
    found = (
        deployments.find_deployments(deployments_dir, chain_id=chain.chain_id)
        if deployments_dir.is_dir()
        else []
    )
    if len(found) > 1:
        raise ConfigError(
            f"chain {chain.name}: several deployment files for chain id {chain.chain_id} "
            f"({', '.join(p.name for p in found)}); pick one with `deployment`"
        )
    return _load(found[0]) if found else None


def _load(path: Path) -> deployments.Deployment:
    try:
        return deployments.load_deployment(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"deployment file {path}: {exc}") from exc


def resolve_chains(settings: IndexerSettings) -> list[IndexedChain]:
    if not settings.chains:
        raise ConfigError("no chains configured (DM3_CHAINS or `chains` in the DM3_CONFIG file)")
    return [resolve_chain(chain, settings.deployments_dir) for chain in settings.chains]
