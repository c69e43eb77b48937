"""relay changes: relay requests in the change feed (block, transaction and log columns of `changes` nullable,
a `signer` column)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 07:30:00

On SQLite the table is rebuilt (batch mode) and declared ``AUTOINCREMENT`` again, as the model says (the rebuild
of 0003 had dropped it; harmless so far because change rows are never deleted). Rows keep their ids and SQLite
sets ``sqlite_sequence`` to the largest, so the next id follows the last one.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NULLABLE = (
    ("block_number", sa.BigInteger()),
    ("block_hash", sa.String()),
    ("tx_hash", sa.String()),
    ("log_index", sa.Integer()),
)


def upgrade() -> None:
    with op.batch_alter_table(
        "changes", schema=None, recreate="auto", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        for name, type_ in _NULLABLE:
            batch_op.alter_column(name, existing_type=type_, nullable=True)
        batch_op.add_column(sa.Column("signer", sa.String(), nullable=True))


def downgrade() -> None:
    # The feed before 0005 cannot hold relay rows: they go (the requests stay in relay_requests).
    op.execute("DELETE FROM changes WHERE action = 'relay'")
    with op.batch_alter_table(
        "changes", schema=None, recreate="auto", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.drop_column("signer")
        for name, type_ in _NULLABLE:
            batch_op.alter_column(name, existing_type=type_, nullable=False)
