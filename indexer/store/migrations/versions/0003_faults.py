"""faults: writer leases (fencing), a unique key on the change feed, staleness columns, lossless text keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chain_leases",
        sa.Column("chain_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chain_id"),
    )

    with op.batch_alter_table("chains", schema=None) as batch_op:
        batch_op.add_column(sa.Column("indexed_block_timestamp", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("head_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("block_time", sa.Float(), nullable=True))
    op.execute(
        "UPDATE chains SET indexed_block_timestamp = (SELECT b.timestamp FROM blocks b "
        "WHERE b.chain_id = chains.chain_id AND b.number = chains.indexed_block)"
    )

    # Rows already in the feed: number each event's apply (and rollback) rows in id order.
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("occurrence", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE changes SET occurrence = (SELECT count(*) FROM changes c WHERE c.chain_id = changes.chain_id "
        "AND c.block_hash = changes.block_hash AND c.log_index = changes.log_index "
        "AND c.action = changes.action AND c.id < changes.id)"
    )
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_changes_event", ["chain_id", "block_hash", "log_index", "action", "occurrence"]
        )

    _text_keys_by_bytes()


def _text_keys_by_bytes() -> None:
    """Re-key ``text_records`` by the raw key bytes. Keys stored before this revision had already lost invalid
    UTF-8 and NUL (as U+FFFD); re-index a chain to recover such keys."""
    bind = op.get_bind()
    op.create_table(
        "text_records_v3",
        sa.Column("chain_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("node", sa.String(), nullable=False),
        sa.Column("key_hex", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "node", "key_hex", name="pk_text_records_key_hex"),
    )
    if bind.dialect.name == "postgresql":
        key_hex = "'0x' || encode(convert_to(key, 'UTF8'), 'hex')"
    else:
        key_hex = "'0x' || lower(hex(key))"  # SQLite's hex() of a text value: its UTF-8 bytes
    op.execute(
        "INSERT INTO text_records_v3 (chain_id, node, key_hex, key, value, block_number) "
        f"SELECT chain_id, node, {key_hex}, key, value, block_number FROM text_records"
    )
    op.drop_table("text_records")
    op.rename_table("text_records_v3", "text_records")

    # Undo entries name rows by their key columns: give the text_records ones their key_hex too.
    undo = sa.table(
        "undo_log",
        sa.column("id"),
        sa.column("table_name"),
        sa.column("key", sa.JSON()),
        sa.column("previous", sa.JSON()),
    )
    rows = bind.execute(
        sa.select(undo.c.id, undo.c.key, undo.c.previous).where(undo.c.table_name == "text_records")
    ).all()
    for row_id, key, previous in rows:
        key_hex = "0x" + key["key"].encode().hex()
        bind.execute(
            sa.update(undo)
            .where(undo.c.id == row_id)
            .values(
                key={**key, "key_hex": key_hex},
                previous={**previous, "key_hex": key_hex} if previous else None,
            )
        )


def downgrade() -> None:
    op.create_table(
        "text_records_v2",
        sa.Column("chain_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("node", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "node", "key", name="pk_text_records_key"),
    )
    # Keys that only differed in their raw bytes collapse again: keep the newest.
    op.execute(
        "INSERT INTO text_records_v2 (chain_id, node, key, value, block_number) "
        "SELECT chain_id, node, key, value, block_number FROM text_records t WHERE NOT EXISTS ("
        "SELECT 1 FROM text_records o WHERE o.chain_id = t.chain_id AND o.node = t.node AND o.key = t.key "
        "AND (o.block_number > t.block_number OR (o.block_number = t.block_number AND o.key_hex > t.key_hex)))"
    )
    op.drop_table("text_records")
    op.rename_table("text_records_v2", "text_records")
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.drop_constraint("uq_changes_event", type_="unique")
        batch_op.drop_column("occurrence")
    with op.batch_alter_table("chains", schema=None) as batch_op:
        batch_op.drop_column("block_time")
        batch_op.drop_column("head_seen_at")
        batch_op.drop_column("indexed_block_timestamp")
    op.drop_table("chain_leases")
