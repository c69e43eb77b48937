"""Relayer settings (env prefix `DM3_RELAYER_`, table `[relayer]`), read by the relayer process and by the API's relay routes.

The API needs the chains (RPC URL for the checks and simulation, the batcher) and the limits; only the relayer
process needs the key. Contract addresses come from the indexed `chains` rows (the indexer's configuration).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from indexer import deployments, signing
from indexer.errors import UserError
from indexer.settings.base import Dm3Settings
from indexer.store.db import normalize_url

BATCHER = "RelayBatcher"
GWEI = 10**9


class RelayerKeyError(UserError):
    """The relayer's key is missing or cannot be loaded; the message says which setting to fix."""


class RelayChain(BaseModel):
    """One chain the relayer carries writes on."""

    chain_id: int = Field(gt=0)
    rpc_url: str
    #: The RelayBatcher; None = the `RelayBatcher` entry of the chain's deployment file in `deployments_dir`.
    batcher: str | None = None

    @field_validator("batcher")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return to_checksum_address(value)
        except ValueError as exc:
            raise ValueError(f"not an address: {value!r}") from exc


class RelayerSettings(Dm3Settings):
    model_config = SettingsConfigDict(env_prefix="DM3_RELAYER_")
    config_section = ("relayer",)

    database_url: str = Field(
        default="sqlite:///./data/dm3.db",
        validation_alias=AliasChoices("DM3_DATABASE_URL", "DATABASE_URL", "database_url"),
    )
    #: Chains to relay on, as JSON: `[{"chain_id": 10, "rpc_url": "https://..", "batcher": "0x.."}]`.
    chains: list[RelayChain] = Field(default_factory=list)
    deployments_dir: Path = Field(
        default=Path("deployments"),
        validation_alias=AliasChoices(
            "DM3_DEPLOYMENTS_DIR", "DM3_RELAYER_DEPLOYMENTS_DIR", "deployments_dir"
        ),
    )
    #: The relayer's own account: a hex private key, or an encrypted JSON keystore and its password.
    private_key: SecretStr | None = None
    keyfile: Path | None = None
    keyfile_password: SecretStr | None = None
    #: Allow-list of signed functions (comma-separated); empty = every signed write.
    functions: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: A request's deadline must be at least this many seconds ahead when it is accepted.
    deadline_margin: int = Field(default=30, ge=0)
    #: Requests of one signer waiting for the chain (queued or sent) at most.
    max_pending_per_signer: int = Field(default=8, ge=1, le=15)
    #: Accepted requests per signer, and per client IP, within `quota_window` seconds.
    signer_quota: int = Field(default=120, ge=1)
    client_quota: int = Field(default=1_200, ge=1)
    quota_window: int = Field(default=3_600, ge=1)
    #: At most this many concurrent `POST /v1/relay` requests share one acceptance group (one read, one JSON-RPC
    #: batch of 2-3 calls per request, one commit); lower it for a node that limits batch sizes (1: one at a time).
    accept_group_max: int = Field(default=16, ge=1, le=128)
    #: Gas the relayer may spend per chain per UTC day; new requests get 429 once it is spent.
    daily_gas_budget: int = Field(default=200_000_000, ge=0)
    #: Below this balance (wei) new requests get 503 (queued ones are still sent).
    min_balance: int = Field(default=10**15, ge=0)
    #: EIP-1559 fee cap (wei per gas): never pay more, even to replace a stuck transaction.
    max_fee_per_gas: int = Field(default=100 * GWEI, gt=0)
    #: The smallest priority fee offered (wei per gas).
    min_priority_fee: int = Field(default=1_000_000, ge=0)
    #: A transaction still unmined this many seconds after it was sent is replaced with fees raised by
    #: `fee_bump_percent` (at least the 10% nodes require).
    replace_after: float = Field(default=6.0, gt=0)
    fee_bump_percent: int = Field(default=20, ge=10, le=500)
    #: Carry queued writes in RelayBatcher batches (up to 16 per transaction) instead of one transaction each.
    batch: bool = True
    #: Gas limit of one batch transaction at most (a batch is cut before it would exceed it).
    max_tx_gas: int = Field(default=12_000_000, ge=500_000)
    #: How often the sender looks for work and receipts (seconds).
    poll_interval: float = Field(default=0.25, gt=0)
    #: Mined transactions are watched this many blocks for reorgs that drop them.
    reorg_window: int = Field(default=64, ge=1)
    rpc_timeout: float = Field(default=10.0, gt=0)
    #: Prometheus metrics of the relayer process on this port (none when unset).
    metrics_port: int | None = None

    @field_validator("functions", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("functions")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in signing.SIGNED_FUNCTIONS]
        if unknown:
            raise ValueError(f"unknown signed function(s): {', '.join(unknown)}")
        return value

    @field_validator("database_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return normalize_url(value)

    @property
    def allowed(self) -> frozenset[str] | None:
        return frozenset(self.functions) if self.functions else None

    def chain(self, chain_id: int) -> RelayChain | None:
        return next((chain for chain in self.chains if chain.chain_id == chain_id), None)

    def batcher(self, chain_id: int) -> str | None:
        """The chain's RelayBatcher address (configured, or from its deployment file), None when unknown."""
        chain = self.chain(chain_id)
        if chain is None:
            return None
        if chain.batcher is not None:
            return chain.batcher
        if not self.deployments_dir.is_dir():
            return None
        for path in deployments.find_deployments(self.deployments_dir, chain_id=chain_id):
            try:
                entry = deployments.load_deployment(path).contracts.get(BATCHER)
            except (OSError, ValueError):
                continue
            if entry is not None:
                return to_checksum_address(entry.address)
        return None

    def account(self) -> LocalAccount:
        """The relayer's account (raises :class:`RelayerKeyError` naming the setting to fix)."""
        key = self.private_key.get_secret_value() if self.private_key else None
        if key and self.keyfile:
            raise RelayerKeyError("set only one of DM3_RELAYER_PRIVATE_KEY and DM3_RELAYER_KEYFILE")
        if key:
            try:
                return Account.from_key(key)
            except (ValueError, TypeError) as error:
                raise RelayerKeyError(
                    "DM3_RELAYER_PRIVATE_KEY is not a valid 32-byte hex private key"
                ) from error
        if self.keyfile:
            if self.keyfile_password is None:
                raise RelayerKeyError("DM3_RELAYER_KEYFILE is set but DM3_RELAYER_KEYFILE_PASSWORD is not")
            try:
                keystore = json.loads(self.keyfile.read_text())
                return Account.from_key(Account.decrypt(keystore, self.keyfile_password.get_secret_value()))
            except OSError as error:
                raise RelayerKeyError(
                    f"cannot read relayer keyfile {self.keyfile}: {error.strerror}"
                ) from error
            except (ValueError, KeyError, TypeError) as error:
                raise RelayerKeyError(
                    f"cannot decrypt relayer keyfile {self.keyfile} (wrong password or format)"
                ) from error
        raise RelayerKeyError("no relayer key: set DM3_RELAYER_PRIVATE_KEY or DM3_RELAYER_KEYFILE")
