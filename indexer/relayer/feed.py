"""Relay requests in the change feed: one `changes` row for every state a request enters, in the same transaction.

Every statement that moves a request (accept.py inserts it `queued`; sender.py binds it to a transaction `sent`,
settles it `mined`, `failed` or `expired`, expires it while queued, and sends it again after a reorg dropped its
transaction) runs through :func:`record`, on the connection of the transaction it belongs to. The statement gets a
``RETURNING`` clause, and each request row it inserted or updated becomes one change row, appended before the
transaction commits. So the feed and `relay_requests` commit together or not at all (a SIGKILL between them is not
possible), a statement that matched nothing adds nothing, and a step repeated after a crash adds its rows once,
because it can only repeat when its first run did not commit.

Change ids stay an exact resume cursor: on PostgreSQL the rows are inserted under the indexer writer's
transaction-scoped advisory lock (:data:`indexer.store.writer.CHANGES_LOCK_KEY`), held until the commit, so ids
become visible in increasing order whichever process (indexer, API, relayer) writes them. SQLite has one writer at
a time anyway.

A relay row (docs/relay-api.md, "In the change feed"):
``action`` and ``kind`` ``relay``; ``event`` the new state; ``chain_id``; ``signer`` (lowercase);
``tx_hash``, ``block_number``, ``block_hash`` as the request holds them after the transition (NULL before it is
sent / mined; a `failed` or `expired` request settled from a mined transaction keeps its block);
``sender``, ``recipient``, ``node`` the message's fields of those names when it has them (the pair or name the
write touches, as in event rows); ``log_index`` and ``ref_id`` NULL; ``args`` ``{id, function, target, nonce,
deadline, error, gas_used, reorg}`` (integers as decimal strings; ``reorg`` true on the `sent` row of a request
whose mined transaction a reorg dropped).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, Table, Update, text
from sqlalchemy.engine import Connection

from indexer.store.models import RELAY_KIND, Change
from indexer.store.relay_models import RelayRequest
from indexer.store.writer import CHANGES_LOCK_KEY

RELAY_ACTION = "relay"

_REQUESTS: Table = RelayRequest.__table__  # type: ignore[attr-defined]
_CHANGES: Table = Change.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Recorded:
    """The request rows a statement changed (as they are after it), like a result's ``rowcount``."""

    rows: Sequence[dict[str, Any]]

    @property
    def rowcount(self) -> int:
        return len(self.rows)


def record(
    conn: Connection,
    statement: Insert | Update,
    params: list[dict[str, Any]] | None = None,
    *,
    reorg: bool = False,
) -> Recorded:
    """Run `statement` (an INSERT or UPDATE of `relay_requests`; with `params`, once per parameter set, as one
    executemany) and append one change row per request it wrote.

    `reorg`: the transition is a request going back to `sent` because a reorg dropped its transaction."""
    # In acceptance order (a bulk UPDATE returns its rows in no particular order).
    returned = conn.execute(statement.returning(_REQUESTS), params).mappings()
    rows = sorted((dict(row) for row in returned), key=lambda row: int(row["seq"]))
    append(conn, [change_row(row, reorg=reorg) for row in rows])
    return Recorded(rows)


def change_row(request: Mapping[str, Any], *, reorg: bool = False) -> dict[str, Any]:
    """The `changes` row saying that `request` (a `relay_requests` row) is now in its state."""
    message = request["message"] or {}
    return {
        "action": RELAY_ACTION,
        "ref_id": None,
        "chain_id": request["chain_id"],
        "block_number": request["block_number"],
        "block_hash": request["block_hash"],
        "tx_hash": request["tx_hash"],
        "log_index": None,
        "occurrence": 0,
        "event": request["state"],
        "kind": RELAY_KIND,
        "sender": _lower(message.get("sender")),
        "recipient": _lower(message.get("recipient")),
        "node": _lower(message.get("node")),
        "signer": request["signer"],
        "args": {
            "id": request["id"],
            "function": request["function"],
            "target": request["target"],
            "nonce": str(request["nonce"]),
            "deadline": str(request["deadline"]),
            "error": request["error"],
            "gas_used": None if request["gas_used"] is None else str(request["gas_used"]),
            "reorg": reorg,
        },
    }


def append(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert change rows in this transaction, under the change feed's lock on PostgreSQL (held to the commit)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHANGES_LOCK_KEY})
    conn.execute(_CHANGES.insert(), rows)


def _lower(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) else None
