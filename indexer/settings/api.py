"""Read API settings (env prefix `DM3_API_`, table `[api]` of the config file; the database URL is shared with the
indexer), with the change feed's (`DM3_API_CHANGES_`, `[api.changes]`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from indexer.settings.base import Dm3Settings
from indexer.settings.gateway import GatewaySettings
from indexer.settings.relayer import RelayerSettings
from indexer.store.db import normalize_url

#: Largest `POST /v1/eligibility` batch unless `DM3_API_MAX_BATCH` says otherwise; the Python client chunks by it.
DEFAULT_MAX_BATCH = 1_000
#: Largest proven batch (`"proof": true`) unless `DM3_API_MAX_PROOF_BATCH` says otherwise; the client chunks by it.
DEFAULT_MAX_PROOF_BATCH = 100


class ChangesSettings(Dm3Settings):
    """Change-feed settings (env prefix `DM3_API_CHANGES_`)."""

    model_config = SettingsConfigDict(env_prefix="DM3_API_CHANGES_")
    config_section = ("api", "changes")

    #: How often one process checks for new change rows (one `max(id)` query for all its subscribers).
    poll_interval: float = Field(default=0.1, gt=0)
    #: SSE comment heartbeat interval (keeps proxies from closing an idle stream).
    heartbeat: float = Field(default=15.0, gt=0)
    #: Largest page of `/v1/changes/poll` (and of one SSE read).
    page_size: int = Field(default=500, ge=1)
    #: Longest wait a long-poll may ask for.
    max_wait: float = Field(default=60.0, gt=0)
    #: Ids looked at per read when filters skip most rows (bounds every query).
    scan_span: int = Field(default=10_000, ge=1)


class ApiSettings(Dm3Settings):
    model_config = SettingsConfigDict(env_prefix="DM3_API_")
    config_section = ("api",)

    #: The indexer's database; the API only reads it (SQLite file or PostgreSQL).
    database_url: str = Field(
        default="sqlite:///./data/dm3.db",
        validation_alias=AliasChoices("DM3_DATABASE_URL", "DATABASE_URL", "database_url"),
    )
    #: `/ready` answers 503 while any chain's indexed block trails its head by more than this.
    ready_max_lag_blocks: int = Field(default=10, ge=0)
    #: A chain is stale (`/ready` 503, status "stale") when the indexer's last write or the last head it saw is
    #: older than this many block times (the chain's observed block time) ...
    stale_after_blocks: float = Field(default=10.0, gt=0)
    #: ... and older than this many seconds (the indexer writes at least every few seconds while it follows).
    stale_after_min_seconds: float = Field(default=30.0, gt=0)
    #: Largest `POST /v1/eligibility` batch.
    max_batch: int = Field(default=DEFAULT_MAX_BATCH, ge=1)
    #: Default and largest page of `GET /v1/deposits`.
    page_size: int = Field(default=100, ge=1)
    max_page_size: int = Field(default=1_000, ge=1)
    #: Answer plain `GET /v1/eligibility?sender=0x..&recipient=0x..` (and, from the in-memory state, names and
    #: batches) below FastAPI's routing (api/fastpath.py).
    fast_path: bool = True
    #: Keep chains, minimums, bonds, names and address records in memory, exact from the change feed, for that fast
    #: path (api/state.py).
    #: Off by default: with it on, an answer may trail the database (and the other routes) by up to one
    #: `state_refresh_interval`; every answer still comes from one snapshot and names its block.
    memory_state: bool = False
    #: Seconds between two reads of the change feed by the in-memory state (how much later than the database
    #: it may answer).
    state_refresh_interval: float = Field(default=0.02, gt=0)
    #: The in-memory state answers only while its last successful read is at most this many seconds old;
    #: beyond (database unreachable), the fast path reads the database itself.
    state_max_age: float = Field(default=1.0, gt=0)
    #: CORS origins for every route (the CCIP gateway must be reachable from browsers).
    #: Comma-separated in the environment: `DM3_API_CORS_ORIGINS=https://a.example,https://b.example`.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["*"])

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    #: L2 nodes by chain id, for `GET /v1/eligibility?proof=true` (storage proofs at the answer's block; a chain
    #: without one answers 503 to proof requests). JSON in the environment: `DM3_API_RPC_URLS='{"10": "https://.."}'`,
    #: a table in the file: `[api.rpc_urls]` with `10 = "https://.."`. Secret: never shown (URLs carry API keys).
    #: The node must keep the state of the blocks the API answers at (the indexed head, a few blocks back).
    rpc_urls: dict[int, SecretStr] = Field(default_factory=dict)
    #: Seconds to wait for a node's proof (two attempts), and the most pairs a proven batch may hold.
    proof_rpc_timeout: float = Field(default=10.0, gt=0)
    max_proof_batch: int = Field(default=DEFAULT_MAX_PROOF_BATCH, ge=1)

    #: The built inbox web app served at `/app` (default: the checkout's `webapp/static`).
    webapp_dir: Path | None = None

    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    #: The relay routes (`POST /v1/relay`): chains, limits (env `DM3_RELAYER_*`); no key needed here.
    relayer: RelayerSettings = Field(default_factory=RelayerSettings)
    #: The change feed (`/v1/changes`): env `DM3_API_CHANGES_*`, table `[api.changes]`.
    changes: ChangesSettings = Field(default_factory=ChangesSettings)

    # --- limits (per worker process; `python -m indexer.api` applies the server ones, see README) ---------------
    #: Largest request body; a larger one (declared or chunked) is a 413.
    max_body_bytes: int = Field(default=512 * 1024, ge=1)
    #: A request body must arrive within this many seconds of its headers (else 408).
    body_timeout: float = Field(default=10.0, gt=0)
    #: Requests answered at the same time; more get a 503 JSON answer at once (the change feed counts apart).
    max_concurrent_requests: int = Field(default=200, ge=1)
    #: Open change-feed requests (SSE streams and long polls); more get a 503.
    max_change_streams: int = Field(default=1_000, ge=1)
    #: Threads that run database reads (no request's database work runs on the event loop). With the next one,
    #: at most 15: the reader's connection pool (SQLAlchemy's default, 5 + 10 overflow) holds no more.
    db_threads: int = Field(default=12, ge=1)
    #: Apart from those, threads for heavy reads (eligibility batches); more batches wait their turn.
    heavy_threads: int = Field(default=2, ge=1)
    #: Server: open connections. At the limit a new connection displaces the longest-idle one (no request in
    #: flight); when every connection is busy it is answered 503 and closed.
    max_connections: int = Field(default=2_048, ge=1)
    #: Server: seconds from a connection's first byte (or its opening) to the end of a request's headers.
    header_timeout: float = Field(default=10.0, gt=0)
    #: Server: seconds an idle keep-alive connection stays open between requests.
    keep_alive_timeout: float = Field(default=5.0, gt=0)
    #: Server: largest request head (request line and headers); larger is a 431.
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)

    @field_validator("database_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return normalize_url(value)
