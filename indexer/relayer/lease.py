"""One sender per chain: the indexer's writer fencing (:class:`indexer.store.lock.Lease`) on the relayer's own row.

The lock: a PostgreSQL session advisory lock on a dedicated connection (the server drops it with the connection or
the process; its key is namespaced apart from the indexer's), or an ``flock`` on ``<database>.relayer-<chain>.lock``
on SQLite. The generation: whoever takes the lock increments ``relay_senders.generation``; every write transaction
of the sender calls :meth:`SenderLease.fence` first, which raises :class:`LeaseLost` when the generation moved on or
(PostgreSQL) the lock's backend no longer holds the lock. Nothing is written, and above all nothing is signed and
sent, by a process that does not hold the chain.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from indexer.store.lock import ChainLocked, Lease, LeaseLost
from indexer.store.relay_models import RelaySender

__all__ = ["LeaseLost", "SenderLease", "SenderLocked"]


class SenderLocked(ChainLocked):
    """Another relayer process already sends for this chain from this database."""


class SenderLease(Lease):
    """The relayer's sender of a chain (``relay_senders``, which also keeps the sender's address)."""

    table = RelaySender.__table__  # type: ignore[attr-defined]
    namespace = "dm3-relayer"
    lock_infix = "relayer"
    role = "relayer"
    locked_error = SenderLocked

    def __init__(self, engine: Engine, chain_id: int, *, address: str) -> None:
        super().__init__(engine, chain_id)
        self.address = address.lower()

    def _locked_message(self, where: str, who: str) -> str:
        return f"chain {self.chain_id}: another relayer process already sends from {where}{who}"

    def _lease_values(self) -> dict[str, Any]:
        values = super()._lease_values()
        return {**values, "address": self.address, "updated_at": values["acquired_at"]}

    def _first_values(self) -> dict[str, Any]:
        return {"balance": 0, "gas_day": "", "gas_spent": 0}
