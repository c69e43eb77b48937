"""relay queue: relay_requests, relay_txs, relay_senders (the relayer's durable queue, write-ahead transactions
and sender lease; see indexer/store/relay_models.py)

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-04 04:44:08.017425
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import indexer.store.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "relay_requests",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("function", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("signer", sa.String(), nullable=False),
        sa.Column("nonce", indexer.store.types.Uint256(length=78), nullable=False),
        sa.Column("deadline", indexer.store.types.Uint256(length=78), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("calldata", sa.String(), nullable=False),
        sa.Column("gas_limit", sa.BigInteger(), nullable=False),
        sa.Column("client", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("tx_nonce", sa.BigInteger(), nullable=True),
        sa.Column("tx_index", sa.Integer(), nullable=True),
        sa.Column("tx_hash", sa.String(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("block_hash", sa.String(), nullable=True),
        sa.Column("gas_used", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("relay_requests", schema=None) as batch_op:
        batch_op.create_index("ix_relay_requests_chain_state", ["chain_id", "state"], unique=False)
        batch_op.create_index("ix_relay_requests_client", ["client", "created_at"], unique=False)
        batch_op.create_index("ix_relay_requests_signer", ["chain_id", "signer", "created_at"], unique=False)
        batch_op.create_index("ix_relay_requests_tx", ["chain_id", "tx_nonce"], unique=False)
        batch_op.create_index(
            "uq_relay_requests_pending_nonce",
            ["chain_id", "target", "signer", "nonce"],
            unique=True,
            sqlite_where=sa.text("state IN ('queued', 'sent')"),
            postgresql_where=sa.text("state IN ('queued', 'sent')"),
        )

    op.create_table(
        "relay_senders",
        sa.Column("chain_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("balance", indexer.store.types.Uint256(length=78), nullable=False),
        sa.Column("gas_day", sa.String(), nullable=False),
        sa.Column("gas_spent", sa.BigInteger(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chain_id"),
    )
    op.create_table(
        "relay_txs",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("sender", sa.String(), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(), nullable=False),
        sa.Column("raw", sa.String(), nullable=False),
        sa.Column("to", sa.String(), nullable=False),
        sa.Column("batched", sa.Boolean(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("gas_limit", sa.BigInteger(), nullable=False),
        sa.Column("max_fee_per_gas", indexer.store.types.Uint256(length=78), nullable=False),
        sa.Column("max_priority_fee_per_gas", indexer.store.types.Uint256(length=78), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("block_hash", sa.String(), nullable=True),
        sa.Column("gas_used", sa.BigInteger(), nullable=True),
        sa.Column("fee_paid", indexer.store.types.Uint256(length=78), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mined_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tx_hash"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("relay_txs", schema=None) as batch_op:
        batch_op.create_index("ix_relay_txs_chain_nonce", ["chain_id", "nonce"], unique=False)
        batch_op.create_index("ix_relay_txs_chain_state", ["chain_id", "state"], unique=False)
        batch_op.create_index("ix_relay_txs_mined_at", ["chain_id", "mined_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("relay_txs", schema=None) as batch_op:
        batch_op.drop_index("ix_relay_txs_mined_at")
        batch_op.drop_index("ix_relay_txs_chain_state")
        batch_op.drop_index("ix_relay_txs_chain_nonce")

    op.drop_table("relay_txs")
    op.drop_table("relay_senders")
    with op.batch_alter_table("relay_requests", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_relay_requests_pending_nonce",
            sqlite_where=sa.text("state IN ('queued', 'sent')"),
            postgresql_where=sa.text("state IN ('queued', 'sent')"),
        )
        batch_op.drop_index("ix_relay_requests_tx")
        batch_op.drop_index("ix_relay_requests_signer")
        batch_op.drop_index("ix_relay_requests_client")
        batch_op.drop_index("ix_relay_requests_chain_state")

    op.drop_table("relay_requests")
