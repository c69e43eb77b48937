"""Read API settings (env prefix `DM3_API_`; the database URL is shared with the indexer)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from indexer.gateway.settings import GatewaySettings
from indexer.store.db import normalize_url


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DM3_API_", env_file=".env", extra="ignore")

    #: The indexer's database; the API only reads it (SQLite file or PostgreSQL).
    database_url: str = Field(
        default="sqlite:///./data/dm3.db",
        validation_alias=AliasChoices("DM3_DATABASE_URL", "DATABASE_URL", "database_url"),
    )
    #: `/ready` answers 503 while any chain's indexed block trails its head by more than this.
    ready_max_lag_blocks: int = Field(default=10, ge=0)
    #: Largest `POST /v1/eligibility` batch.
    max_batch: int = Field(default=1_000, ge=1)
    #: Default and largest page of `GET /v1/deposits`.
    page_size: int = Field(default=100, ge=1)
    max_page_size: int = Field(default=1_000, ge=1)
    #: Answer plain `GET /v1/eligibility?sender=0x..&recipient=0x..` below FastAPI's routing (api/fastpath.py).
    fast_path: bool = True
    #: CORS origins for every route (the CCIP gateway must be reachable from browsers).
    #: Comma-separated in the environment: `DM3_API_CORS_ORIGINS=https://a.example,https://b.example`.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["*"])

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    #: The built inbox web app served at `/app` (default: the checkout's `webapp/static`).
    webapp_dir: Path | None = None

    gateway: GatewaySettings = Field(default_factory=GatewaySettings)

    @field_validator("database_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return normalize_url(value)
