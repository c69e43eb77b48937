"""The relayer's tables: the durable queue of signed requests, the transactions that carry them, the sender lease.

Only the relayer (one process per chain) and the API's relay route write these; the indexer never does.

- ``relay_requests``: one row per accepted request (`POST /v1/relay` answered 202), never deleted. ``state`` moves
  queued -> sent -> mined | failed | expired; a reorg that drops the carrying transaction moves mined back to sent.
  A request is bound to exactly one relayer nonce (``tx_nonce``) when it is first sent and never to another, so
  whichever attempt of that nonce mines carries it once and no other transaction can.
- ``relay_txs``: every signed transaction, written (raw bytes and hash) *before* it is broadcast. Attempts of one
  nonce (the first and its fee-bumped replacements) carry the same calls; at most one of them can ever be mined.
- ``relay_senders``: one row per chain: the lease generation fencing every write of the sender process, the
  relayer's address, its last seen balance and the gas it spent today (the API reads them for the config route,
  the balance floor and the daily gas budget, in O(1)).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, String
from sqlmodel import Field, SQLModel

from indexer.store.types import Uint256

#: ``relay_requests.state`` values (docs/relay-api.md).
RelayState = Literal["queued", "sent", "mined", "failed", "expired"]
#: States of a request that still waits for the chain (its nonce is reserved).
PENDING_STATES = ("queued", "sent")

#: ``relay_txs.state`` values: ``signed`` (written, maybe not broadcast yet), ``sent`` (broadcast accepted),
#: ``mined`` (this attempt has a receipt on the canonical chain), ``replaced`` (another attempt of its nonce
#: mined, or a newer attempt superseded it).
RelayTxState = Literal["signed", "sent", "mined", "replaced"]

_AUTO_ID = BigInteger().with_variant(Integer(), "sqlite")


def _now() -> datetime:
    return datetime.now(UTC)


class RelayRequest(SQLModel, table=True):
    __tablename__ = "relay_requests"
    __table_args__ = (
        Index("ix_relay_requests_chain_state", "chain_id", "state"),
        Index("ix_relay_requests_signer", "chain_id", "signer", "created_at"),
        Index("ix_relay_requests_client", "client", "created_at"),
        Index("ix_relay_requests_tx", "chain_id", "tx_nonce"),
        # Two accepted requests can never reserve the same signer nonce of one contract.
        Index(
            "uq_relay_requests_pending_nonce",
            "chain_id",
            "target",
            "signer",
            "nonce",
            unique=True,
            sqlite_where=Column("state", String).in_(PENDING_STATES),
            postgresql_where=Column("state", String).in_(PENDING_STATES),
        ),
        {"sqlite_autoincrement": True},
    )

    seq: int | None = Field(default=None, sa_column=Column(_AUTO_ID, primary_key=True, autoincrement=True))
    id: str = Field(unique=True)  # the opaque public id
    chain_id: int = Field(sa_type=BigInteger)
    function: str  # an indexer.signing.SIGNED_FUNCTIONS name
    target: str  # the contract, lowercase hex
    signer: str  # lowercase hex
    nonce: int = Field(sa_type=Uint256)
    deadline: int = Field(sa_type=Uint256)
    message: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # canonical: ints as decimal strings
    calldata: str  # 0x hex of the exact write
    gas_limit: int = Field(sa_type=BigInteger)  # upper bound for this write
    client: str = ""  # the caller's IP address
    state: str = "queued"  # RelayState
    tx_nonce: int | None = Field(default=None, sa_type=BigInteger)  # the relayer nonce carrying it
    tx_index: int | None = None  # position in the batch (None: sent alone)
    tx_hash: str | None = None  # the attempt that mined it (else the newest attempt)
    block_number: int | None = Field(default=None, sa_type=BigInteger)
    block_hash: str | None = None
    gas_used: int | None = Field(default=None, sa_type=BigInteger)  # its share of the transaction's gas
    error: str | None = None
    created_at: datetime = Field(default_factory=_now, sa_type=DateTime(timezone=True))  # type: ignore[call-overload]
    updated_at: datetime = Field(default_factory=_now, sa_type=DateTime(timezone=True))  # type: ignore[call-overload]


class RelayTx(SQLModel, table=True):
    __tablename__ = "relay_txs"
    __table_args__ = (
        Index("ix_relay_txs_chain_nonce", "chain_id", "nonce"),
        Index("ix_relay_txs_chain_state", "chain_id", "state"),
        Index("ix_relay_txs_mined_at", "chain_id", "mined_at"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(_AUTO_ID, primary_key=True, autoincrement=True))
    chain_id: int = Field(sa_type=BigInteger)
    sender: str  # the relayer's address, lowercase hex
    nonce: int = Field(sa_type=BigInteger)
    attempt: int = 0  # 0 = first, then each fee bump
    tx_hash: str = Field(unique=True)
    raw: str  # 0x hex of the signed transaction
    to: str
    batched: bool = False
    calls: int = 1
    gas_limit: int = Field(sa_type=BigInteger)
    max_fee_per_gas: int = Field(sa_type=Uint256)
    max_priority_fee_per_gas: int = Field(sa_type=Uint256)
    state: str = "signed"  # RelayTxState
    block_number: int | None = Field(default=None, sa_type=BigInteger)
    block_hash: str | None = None
    gas_used: int | None = Field(default=None, sa_type=BigInteger)
    fee_paid: int | None = Field(default=None, sa_type=Uint256)  # wei
    created_at: datetime = Field(default_factory=_now, sa_type=DateTime(timezone=True))  # type: ignore[call-overload]
    sent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))  # type: ignore[call-overload]
    mined_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))  # type: ignore[call-overload]


class RelaySender(SQLModel, table=True):
    __tablename__ = "relay_senders"

    chain_id: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    generation: int = Field(default=0, sa_type=BigInteger)
    holder: str = ""
    address: str = ""
    balance: int = Field(default=0, sa_type=Uint256)
    gas_day: str = ""  # the UTC day (YYYY-MM-DD) `gas_spent` counts
    gas_spent: int = Field(default=0, sa_type=BigInteger)  # gas of the transactions mined that day
    acquired_at: datetime = Field(default_factory=_now, sa_type=DateTime(timezone=True))  # type: ignore[call-overload]
    updated_at: datetime = Field(default_factory=_now, sa_type=DateTime(timezone=True))  # type: ignore[call-overload]
