"""CCIP-read gateway settings (env prefix `DM3_GATEWAY_`, table `[gateway]`). The signing key only ever comes from here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from indexer.gateway.signer import GatewaySigner, load_gateway_account
from indexer.settings.base import Dm3Settings


class GatewaySettings(Dm3Settings):
    model_config = SettingsConfigDict(env_prefix="DM3_GATEWAY_")
    config_section = ("gateway",)

    #: Hex private key of the gateway signer (one of this or `keyfile`).
    private_key: SecretStr | None = None
    #: Encrypted JSON keystore of the gateway signer, unlocked with `keyfile_password`.
    keyfile: Path | None = None
    keyfile_password: SecretStr | None = None
    #: Signature lifetime; responses are cacheable for at most this long.
    ttl_seconds: int = Field(default=300, gt=0, le=86_400)
    #: L1 resolver addresses allowed as `sender` (comma-separated in the env); empty = any sender.
    resolvers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Largest accepted `callData`, in bytes.
    max_calldata_bytes: int = Field(default=8_192, gt=0)

    # --- proof mode (docs/proof-mode.md, README "Trust model"); L2 nodes come from `DM3_API_RPC_URLS` -------------
    #: An L1 node: asked which parents a resolver proves (`proof_config_for`) and for the newest acceptable
    #: dispute game / confirmed assertion. Without it every answer is signed (a proof-mode resolver then refuses
    #: them, or in mode 2 accepts them). Secret: never shown (URLs carry API keys).
    l1_rpc_url: SecretStr | None = None
    #: Seconds a resolver's answer to `proof_config_for(parent)` is reused (a mode change takes this long to show).
    proof_config_ttl: float = Field(default=30.0, ge=0)
    #: Seconds the newest acceptable game/assertion is reused before L1 is asked again.
    proof_cache_seconds: float = Field(default=2.0, ge=0)
    #: Games looked at, from the newest back, before the gateway gives up (503).
    max_games_scanned: int = Field(default=64, ge=1)

    @field_validator("resolvers", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def configured(self) -> bool:
        return bool(self.private_key or self.keyfile)

    def signer(self) -> GatewaySigner:
        """Load the key (raises `GatewayKeyError` with the setting to fix)."""
        account = load_gateway_account(
            private_key=self.private_key.get_secret_value() if self.private_key else None,
            keyfile=self.keyfile,
            keyfile_password=self.keyfile_password.get_secret_value() if self.keyfile_password else None,
        )
        return GatewaySigner(account, ttl_seconds=self.ttl_seconds)
