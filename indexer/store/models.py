"""The indexer's tables (SQLModel). The read API reads these; only the indexer writes them.

Conventions, the same in every table:
- every row carries ``chain_id`` and the ``block_number`` of the event that last wrote it;
- addresses are lowercase ``0x`` hex (42 chars); nodes and hashes are lowercase ``0x`` hex (66 chars);
  byte strings (addr records, contenthash) are lowercase ``0x`` hex, ``"0x"`` never stored (empty = row deleted);
- uint256 amounts use :class:`~indexer.store.types.Uint256` and read back as exact Python ``int``;
- a row's finality tier is :func:`finality_of` (its block against the chain's safe/finalized block).

Schema changes go through Alembic (``indexer/store/migrations``); changes are listed in ``store/CHANGES.md``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from sqlalchemy import JSON, BigInteger, Column, DateTime, Float, Index, Integer, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from indexer.store.types import Finality, Uint256

#: ``chains.status`` values: ``starting`` (configured, not yet synced), ``backfilling``, ``live`` (following the
#: head), ``stalled`` (not advancing past a block whose logs the node keeps back; ``error`` says which; retried),
#: ``stopped`` (halted with ``error``, e.g. a reorg deeper than the window).
SyncStatus = Literal["starting", "backfilling", "live", "stalled", "stopped"]

#: ``bond_history.kind`` values, one per InboxDeposits event that touches a pair (its change kind in
#: :data:`indexer.store.projection.PROJECTIONS`).
BondEventKind = Literal["deposit", "burn", "release", "withdrawal_request", "withdrawal"]

# SQLite only autoincrements an ``INTEGER PRIMARY KEY``; PostgreSQL gets a BIGINT identity.
_AUTO_ID = BigInteger().with_variant(Integer(), "sqlite")


def _now() -> datetime:
    return datetime.now(UTC)


class Chain(SQLModel, table=True):
    """One indexed chain: configuration echo, checkpoint and health. Read it in the same transaction as the data."""

    __tablename__ = "chains"

    chain_id: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    name: str
    parent_name: str = ""  # e.g. "op.dm3.eth"; names are <label>.<parent_name> or <hex>.addr.<parent_name>
    parent_node: str = ""  # namehash(parent_name)
    registry_address: str | None = None
    deposits_address: str | None = None
    head_block: int | None = Field(default=None, sa_type=BigInteger)  # node's latest block at last poll
    safe_block: int | None = Field(default=None, sa_type=BigInteger)
    finalized_block: int | None = Field(default=None, sa_type=BigInteger)
    indexed_block: int | None = Field(default=None, sa_type=BigInteger)  # every event up to here is applied
    indexed_block_hash: str | None = None
    indexed_block_timestamp: int | None = Field(
        default=None, sa_type=BigInteger
    )  # unix time of indexed_block
    reorg_count: int = 0
    status: str = "starting"  # SyncStatus
    error: str | None = None
    #: The indexer's last write to this chain (every batch, and every poll that found no new block).
    updated_at: datetime = Field(default_factory=_now, sa_type=DateTime(timezone=True))  # type: ignore[call-overload]
    #: When the node last answered with its head block (None: never). With ``updated_at``, what staleness is
    #: judged by: a dead node stops this one, a dead or stuck indexer both.
    head_seen_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))  # type: ignore[call-overload]
    block_time: float | None = Field(default=None, sa_type=Float)  # observed mean seconds per block


class ChainLease(SQLModel, table=True):
    """Who may write a chain: the fence every write transaction of the indexer checks.

    A process that takes a chain's lock (PostgreSQL advisory lock / SQLite ``flock``) increments ``generation``
    and writes only while the row still carries that generation (checked inside each write transaction), so a
    process that lost its lock (and was taken over) can never write again. The lock is the liveness signal (the
    server or the kernel releases it when its holder dies); the generation is the fence.
    """

    __tablename__ = "chain_leases"

    chain_id: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    generation: int = Field(sa_type=BigInteger)
    holder: str  # host, pid and a random id of the process holding it (for operators)
    acquired_at: datetime = Field(default_factory=_now, sa_type=DateTime(timezone=True))  # type: ignore[call-overload]


class Block(SQLModel, table=True):
    """The recent-block window (the last ``window`` blocks up to ``indexed_block``) used to detect reorgs."""

    __tablename__ = "blocks"

    chain_id: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    number: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    hash: str
    parent_hash: str
    timestamp: int = Field(sa_type=BigInteger)


class Event(SQLModel, table=True):
    """Every decoded log, in apply order. ``id`` grows monotonically: use it as a global change cursor.

    ``args`` is the decoded event as JSON: addresses lowercase hex, bytes/bytes32 ``0x`` hex, integers as
    decimal *strings* (uint256 does not fit a JSON number safely), bools as bools. Rows of blocks that a reorg
    removed are deleted (and a :class:`Reorg` row is written), so a cursor reader must also watch ``reorgs``.
    """

    __tablename__ = "events"
    __table_args__ = (
        # A log is its block and its position in the block (one branch is stored: a rollback deletes the blocks
        # it removes). Led by the block, so a backfill appends to this index in order, and the rollback's range
        # read (chain_id, block_number > fork) uses it (migration 0006).
        UniqueConstraint("chain_id", "block_number", "log_index", name="uq_events_chain_block_log"),
        # Never reuse the id of a row a reorg deleted (SQLite would otherwise hand out max(id)+1 again).
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(_AUTO_ID, primary_key=True, autoincrement=True))
    chain_id: int = Field(sa_type=BigInteger)
    block_number: int = Field(sa_type=BigInteger)
    block_hash: str
    tx_hash: str
    log_index: int
    contract: str  # "registry" | "deposits"
    address: str
    event: str  # ABI event name, e.g. "Deposited"
    args: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class Reorg(SQLModel, table=True):
    """A detected and repaired reorg: events of blocks > ``fork_block`` up to ``old_indexed_block`` were rolled back."""

    __tablename__ = "reorgs"

    id: int | None = Field(default=None, sa_column=Column(_AUTO_ID, primary_key=True, autoincrement=True))
    chain_id: int = Field(sa_type=BigInteger, index=True)
    fork_block: int = Field(sa_type=BigInteger)  # last block both branches share
    old_indexed_block: int = Field(sa_type=BigInteger)
    depth: int
    detected_at: datetime = Field(default_factory=_now, sa_type=DateTime(timezone=True))  # type: ignore[call-overload]


#: ``changes.action`` values: ``apply`` and ``rollback`` are written by the indexer, ``relay`` by the relayer.
ChangeAction = Literal["apply", "rollback", "relay"]

#: ``changes.kind`` of every ``relay`` row (a relay request moved to the state named by ``event``).
RELAY_KIND = "relay"


class Change(SQLModel, table=True):
    """The change feed: an append-only log, in commit order, of what the indexer applied and rolled back, and of
    every state a relay request entered.

    One ``apply`` row per applied event of ``projection.CHANGE_KINDS``, in the same transaction as the event;
    when a reorg removes a block, one ``rollback`` row per still-applied change of that block (newest first,
    ``ref_id`` = the apply row's id, the other columns copied from it), in the rollback's transaction. Rows are
    never updated or deleted and ``id`` is never reused, so ``id`` is an exact resume cursor: replaying from it
    yields the same rows in the same order. On PostgreSQL, writers take a transaction-scoped advisory lock
    before inserting here, so ids become visible in increasing order even with one writer process per chain.

    ``relay`` rows (``indexer/relayer/feed.py``, written in the transaction that changes the request's state, under
    the same lock): ``kind`` ``relay``, ``event`` the request's new state, ``signer`` the request's signer,
    ``tx_hash``/``block_number``/``block_hash`` as the request holds them (NULL before it is sent / mined),
    ``log_index`` NULL, ``args`` the request (docs/relay-api.md). A reorg never rolls them back: the relayer
    writes the request's next state instead.
    """

    __tablename__ = "changes"
    __table_args__ = (
        # Keyed like events: one apply row (and at most one rollback row) per event and occurrence, so a replayed
        # batch adds nothing twice. ``block_hash`` pins the branch; ``occurrence`` counts earlier rollbacks of the
        # same event (a chain may flip back to a branch it left).
        # Led by the block number (a function of the block hash): appended in order by a backfill, and it serves
        # the range reads by (chain_id, block_number) of rollbacks and occurrence counts (migration 0006).
        UniqueConstraint(
            "chain_id",
            "block_number",
            "block_hash",
            "log_index",
            "action",
            "occurrence",
            name="uq_changes_event",
        ),
        # Rollback rows only: the one query is a rollback's `ref_id = id` (which implies NOT NULL).
        Index(
            "ix_changes_ref",
            "ref_id",
            sqlite_where=text("ref_id IS NOT NULL"),
            postgresql_where=text("ref_id IS NOT NULL"),
        ),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(_AUTO_ID, primary_key=True, autoincrement=True))
    action: str  # ChangeAction
    ref_id: int | None = Field(default=None, sa_type=BigInteger)  # rollback: the apply row it undoes
    chain_id: int = Field(sa_type=BigInteger)
    # NULL only in relay rows (a request not yet sent or mined has no transaction or block; none has a log).
    block_number: int | None = Field(default=None, sa_type=BigInteger)
    block_hash: str | None = None
    tx_hash: str | None = None
    log_index: int | None = None
    occurrence: int = (
        0  # how many times this event (block hash, log index) was applied and rolled back before
    )
    event: str  # ABI event name; relay rows: the request's new state
    kind: str  # CHANGE_KINDS[event]; relay rows: RELAY_KIND
    sender: str | None = None  # deposit events: the pair
    recipient: str | None = None  # deposit events and MinDepositSet
    node: str | None = None  # registry events
    signer: str | None = None  # relay rows: the request's signer
    args: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # as in ``events.args``


# --- ProfileRegistry state -------------------------------------------------------------------------------------


class Name(SQLModel, table=True):
    """A registered name or a used address name. ``name`` is the full ENS name when the parent is known."""

    __tablename__ = "names"
    __table_args__ = (
        Index("ix_names_chain_owner", "chain_id", "owner"),
        Index("ix_names_chain_name", "chain_id", "name"),
    )

    chain_id: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    node: str = Field(primary_key=True)
    label: str
    parent_node: str
    name: str | None = None  # "<label>.<parent_name>" or "<label>.addr.<parent_name>"
    owner: str
    block_number: int = Field(sa_type=BigInteger)


def _utf8_key_hex(context: Any) -> str:
    return "0x" + str(context.get_current_parameters()["key"]).encode().hex()


class TextRecord(SQLModel, table=True):
    """``text(node, key)``. Keys are any bytes on-chain: ``key_hex`` (``0x`` hex of the raw key) is the identity,
    ``key`` the text derived from it (invalid UTF-8 and NUL as U+FFFD, so two rows may share it)."""

    __tablename__ = "text_records"

    chain_id: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    node: str = Field(primary_key=True)
    # Left out (rows made by hand, as in tests): the UTF-8 bytes of ``key``.
    key_hex: str | None = Field(default=None, primary_key=True, sa_column_kwargs={"default": _utf8_key_hex})
    key: str
    value: str
    block_number: int = Field(sa_type=BigInteger)


class AddrRecord(SQLModel, table=True):
    """``addr(node, coin_type)``; coin type 60 is the ETH address (``AddrChanged``)."""

    __tablename__ = "addr_records"

    chain_id: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    node: str = Field(primary_key=True)
    coin_type: int = Field(sa_type=Uint256, primary_key=True)
    address: str  # 0x hex of the raw address bytes
    block_number: int = Field(sa_type=BigInteger)


class Contenthash(SQLModel, table=True):
    __tablename__ = "contenthashes"

    chain_id: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    node: str = Field(primary_key=True)
    hash: str  # 0x hex
    block_number: int = Field(sa_type=BigInteger)


class PrimaryName(SQLModel, table=True):
    __tablename__ = "primary_names"

    chain_id: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    account: str = Field(primary_key=True)
    name: str
    block_number: int = Field(sa_type=BigInteger)


class Operator(SQLModel, table=True):
    __tablename__ = "operators"

    chain_id: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    owner: str = Field(primary_key=True)
    operator: str = Field(primary_key=True)
    approved: bool
    block_number: int = Field(sa_type=BigInteger)


# --- InboxDeposits state ---------------------------------------------------------------------------------------


class MinDeposit(SQLModel, table=True):
    """A recipient's price for strangers (no row = never set = 0 = open inbox)."""

    __tablename__ = "min_deposits"

    chain_id: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    recipient: str = Field(primary_key=True)
    amount: int = Field(sa_type=Uint256)
    block_number: int = Field(sa_type=BigInteger)


class Bond(SQLModel, table=True):
    """The bond of one (sender, recipient) pair, rebuilt from events (docs/events.md).

    ``unlock_time`` is set by ``WithdrawalRequested`` and cleared (None) by ``Withdrawn``; ``accepted`` is set by
    ``Released`` and never cleared. Eligible = accepted or min deposit 0 or (amount >= min and unlock_time is None).
    """

    __tablename__ = "bonds"
    __table_args__ = (Index("ix_bonds_chain_recipient", "chain_id", "recipient"),)

    chain_id: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    sender: str = Field(primary_key=True)
    recipient: str = Field(primary_key=True)
    amount: int = Field(sa_type=Uint256)
    accepted: bool = False
    unlock_time: int | None = Field(default=None, sa_type=Uint256)
    block_number: int = Field(sa_type=BigInteger)


class BondHistory(SQLModel, table=True):
    """One row per deposit event touching a pair: the ledger behind stats (deposits, burns, burn rate).

    ``amount``: deposited / burned / withdrawn amount; for ``release`` and ``withdrawal_request`` the bond at that
    moment. ``bond_after``: the pair's bond after the event. ``counterparty``: the payer of a deposit or the
    receiver of a withdrawal, else None.
    """

    __tablename__ = "bond_history"
    __table_args__ = (
        Index("ix_bond_history_pair", "chain_id", "sender", "recipient"),
        Index("ix_bond_history_recipient", "chain_id", "recipient"),
    )

    chain_id: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    tx_hash: str = Field(primary_key=True)
    log_index: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    block_number: int = Field(sa_type=BigInteger)
    sender: str
    recipient: str
    kind: str  # BondEventKind
    amount: int = Field(sa_type=Uint256)
    bond_after: int = Field(sa_type=Uint256)
    counterparty: str | None = None
    unlock_time: int | None = Field(default=None, sa_type=Uint256)


# --- bookkeeping -----------------------------------------------------------------------------------------------


class UndoEntry(SQLModel, table=True):
    """How to undo one row write of block ``block_number``: restore ``previous`` (None = delete the row).

    Entries of a block are undone in reverse ``id`` order. Pruned below the reorg window.
    """

    __tablename__ = "undo_log"
    __table_args__ = (Index("ix_undo_log_chain_block", "chain_id", "block_number"),)

    id: int | None = Field(default=None, sa_column=Column(_AUTO_ID, primary_key=True, autoincrement=True))
    chain_id: int = Field(sa_type=BigInteger)
    block_number: int = Field(sa_type=BigInteger)
    table_name: str
    key: dict[str, Any] = Field(sa_type=JSON)  # primary key columns -> values (JSON-safe)
    previous: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class BlockTags(Protocol):
    """The node's block tags as a `chains` row keeps them (a `Chain`, or a leaner row read by the API)."""

    @property
    def safe_block(self) -> int | None: ...
    @property
    def finalized_block(self) -> int | None: ...


def finality_of(block_number: int, chain: BlockTags) -> Finality:
    """The finality tier of data written at ``block_number`` on ``chain`` (from the node's block tags)."""
    if chain.finalized_block is not None and block_number <= chain.finalized_block:
        return "finalized"
    if chain.safe_block is not None and block_number <= chain.safe_block:
        return "safe"
    return "latest"


#: Tables holding indexed state (everything a reorg may need to roll back), in a stable order.
STATE_TABLES: tuple[type[SQLModel], ...] = (
    Event,
    Name,
    TextRecord,
    AddrRecord,
    Contenthash,
    PrimaryName,
    Operator,
    MinDeposit,
    Bond,
    BondHistory,
)
