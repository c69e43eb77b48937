"""block-ordered keys: the unique keys of `events` and `changes` lead with the block number

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 14:00:00

A backfill appends rows in block order. The unique key of `events` was `(chain_id, tx_hash, log_index)` and the one
of `changes` `(chain_id, block_hash, log_index, action, occurrence)`: keyed by random hashes, every insert landed on
a random page of an index that outgrows the page cache as the table grows. The keys become
`(chain_id, block_number, log_index)` and `(chain_id, block_number, block_hash, log_index, action, occurrence)`:
appended in order, and each now leads with `(chain_id, block_number)`, so the separate `ix_events_chain_block` and
`ix_changes_chain_block` indexes (the rollback's and the occurrence count's range reads) go. `ix_changes_ref` keeps
only rollback rows (`ref_id IS NOT NULL`; apply and relay rows have none, and the only query, a rollback's
`ref_id = id` lookup, implies it).

The identity each key guards is the same: a log is its block and its position in the block. `changes`' key only
gains `block_number`, a function of `block_hash`. In `events` (one branch: a rollback deletes the blocks it
removes) `(block_number, log_index)` names one log exactly as `(tx_hash, log_index)` did. On SQLite the tables are
rebuilt (batch mode, ``AUTOINCREMENT`` kept: rows keep their ids).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AUTO = {"sqlite_autoincrement": True}
_ROLLBACK_ROWS = sa.text("ref_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_events_chain_block", table_name="events")
    with op.batch_alter_table("events", schema=None, recreate="auto", table_kwargs=_AUTO) as batch_op:
        batch_op.drop_constraint("uq_events_chain_tx_log", type_="unique")
        batch_op.create_unique_constraint(
            "uq_events_chain_block_log", ["chain_id", "block_number", "log_index"]
        )
    op.drop_index("ix_changes_chain_block", table_name="changes")
    op.drop_index("ix_changes_ref", table_name="changes")
    with op.batch_alter_table("changes", schema=None, recreate="auto", table_kwargs=_AUTO) as batch_op:
        batch_op.drop_constraint("uq_changes_event", type_="unique")
        batch_op.create_unique_constraint(
            "uq_changes_event",
            ["chain_id", "block_number", "block_hash", "log_index", "action", "occurrence"],
        )
    op.create_index(
        "ix_changes_ref",
        "changes",
        ["ref_id"],
        unique=False,
        sqlite_where=_ROLLBACK_ROWS,
        postgresql_where=_ROLLBACK_ROWS,
    )


def downgrade() -> None:
    op.drop_index("ix_changes_ref", table_name="changes")
    with op.batch_alter_table("changes", schema=None, recreate="auto", table_kwargs=_AUTO) as batch_op:
        batch_op.drop_constraint("uq_changes_event", type_="unique")
        batch_op.create_unique_constraint(
            "uq_changes_event", ["chain_id", "block_hash", "log_index", "action", "occurrence"]
        )
    op.create_index("ix_changes_ref", "changes", ["ref_id"], unique=False)
    op.create_index("ix_changes_chain_block", "changes", ["chain_id", "block_number"], unique=False)
    with op.batch_alter_table("events", schema=None, recreate="auto", table_kwargs=_AUTO) as batch_op:
        batch_op.drop_constraint("uq_events_chain_block_log", type_="unique")
        batch_op.create_unique_constraint("uq_events_chain_tx_log", ["chain_id", "tx_hash", "log_index"])
    op.create_index("ix_events_chain_block", "events", ["chain_id", "block_number"], unique=False)
