"""Sync errors with meaning: each stops one chain with a message an operator can act on."""

from __future__ import annotations

from indexer.errors import UserError


class SyncError(UserError):
    """Base class: a chain cannot continue."""


class ReorgTooDeep(SyncError):
    def __init__(self, *, chain: str, indexed_block: int, window: int) -> None:
        super().__init__(
            f"chain {chain}: reorg deeper than the {window}-block window (no remembered block between "
            f"{indexed_block - window} and {indexed_block} is still canonical). The chain is stopped: the database "
            f"cannot be repaired in place; re-index this chain into a fresh database or raise reorg_window"
        )
        self.chain = chain
        self.indexed_block = indexed_block
        self.window = window


class NodeChainMismatch(SyncError):
    """The RPC endpoint serves a different chain id than configured."""


class InconsistentNode(SyncError):
    """The node keeps returning logs and headers that disagree (a reorg in flight that never settles)."""


class LostLease(SyncError):
    """This process lost its chain to another indexer process and stopped writing it."""
