"""The sender: one process per chain carries queued requests to the chain and follows them until mined.

Every step (a few times per block) runs, in this order:
1. reconcile: receipts of every transaction not yet mined (by hash, for every attempt of its nonce); mined ones
   settle their requests (a batch's `BatchRelayed` bitmap says which writes failed; the reason comes from an
   `eth_call` of the write at that block); mined transactions inside the reorg window whose block left the
   canonical chain go back to `sent`;
2. an unmined transaction the node does not know (never broadcast after a crash, dropped by a restarted node or by
   a reorg) is broadcast again from its stored raw bytes; one stuck longer than `replace_after` is replaced by a
   new attempt of the same nonce with higher fees (capped);
3. queued requests whose deadline has passed become `expired`;
4. the remaining queued requests are cut into batches, each signed with the next nonce and written (raw bytes and
   hash, and the requests bound to that nonce) in one fenced transaction *before* it is broadcast.
So a crash at any point leaves either a queued request (sent later), or a request bound to a stored, signed
transaction (broadcast again until one attempt of its nonce mines): never lost, never carried twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_abi import decode as abi_decode
from eth_account.signers.local import LocalAccount
from eth_account.typed_transactions import TypedTransaction
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from prometheus_client import Counter, Gauge
from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection, Engine

from indexer.chain.rpc import RpcClient, RpcError
from indexer.errors import UserError
from indexer.redact import redact_urls
from indexer.relayer import calls, feed
from indexer.relayer.lease import SenderLease
from indexer.settings.relayer import RelayerSettings
from indexer.store.db import create_db_engine
from indexer.store.relay_models import RelayRequest, RelaySender, RelayTx

log = logging.getLogger(__name__)

_REQUESTS = RelayRequest.__table__  # type: ignore[attr-defined]
_TXS = RelayTx.__table__  # type: ignore[attr-defined]
_SENDERS = RelaySender.__table__  # type: ignore[attr-defined]
BATCH_RELAYED = "0x" + keccak(text="BatchRelayed(address,uint256,uint256)").hex()
#: Broadcast errors that mean the node has (or had) the transaction: nothing to do.
_KNOWN = ("already known", "known transaction", "nonce too low", "already imported", "alreadyknown")

QUEUE_DEPTH = Gauge("dm3_relayer_queue_depth", "Requests queued, not yet sent", ["chain_id"])
BALANCE = Gauge("dm3_relayer_balance_wei", "The relayer account's balance", ["chain_id"])
GAS_SPENT = Counter("dm3_relayer_gas_spent", "Gas used by the relayer's mined transactions", ["chain_id"])
FEES_PAID = Counter(
    "dm3_relayer_fees_paid_wei", "Fees paid by the relayer's mined transactions", ["chain_id"]
)
REQUESTS = Gauge("dm3_relayer_requests", "Relay requests by state", ["chain_id", "state"])


class SenderError(UserError, RuntimeError):
    """The sender cannot run (wrong chain, no batcher): the message says what to fix."""


@dataclass(frozen=True)
class Fees:
    max_fee: int
    priority: int
    base: int = 0  # the next block's base fee


def _fault(point: str) -> None:
    """Fault injection for the crash tests: `DM3_RELAYER_FAULT=<point>` kills the process (SIGKILL) there."""
    if os.environ.get("DM3_RELAYER_FAULT") == point:
        os.kill(os.getpid(), signal.SIGKILL)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


class Sender:
    def __init__(
        self,
        settings: RelayerSettings,
        *,
        chain_id: int,
        engine: Engine,
        account: LocalAccount,
        rpc: RpcClient,
    ) -> None:
        self.settings = settings
        self.chain_id = chain_id
        self.engine = engine
        # Reads go through a reader engine: on SQLite a writer engine's every transaction takes the write lock
        # (BEGIN IMMEDIATE), which the API's inserts would then wait for.
        self.reader = create_db_engine(engine.url.render_as_string(hide_password=False), role="reader")
        self.account = account
        self.address = str(account.address)
        self.rpc = rpc
        self.lease = SenderLease(engine, chain_id, address=self.address)
        batcher = settings.batcher(chain_id)
        if batcher is None and settings.batch:
            raise SenderError(
                f"chain {chain_id}: no RelayBatcher (set `batcher` in DM3_RELAYER_CHAINS or deploy it and record it "
                f"in {settings.deployments_dir}), or turn batching off with DM3_RELAYER_BATCH=false"
            )
        self.batcher = batcher
        self._label = str(chain_id)
        self._last_stats = 0.0
        self._balance: int | None = None
        self._balance_at = 0.0

    # --- life cycle ---------------------------------------------------------------------------------------------

    async def start(self) -> None:
        node_chain = int(await self.rpc.call("eth_chainId"), 16)
        if node_chain != self.chain_id:
            raise SenderError(f"the RPC node serves chain {node_chain}, not {self.chain_id}")
        self.lease.acquire()

    async def run(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            while not stop.is_set():
                try:
                    await self.step()
                except RpcError as exc:
                    log.warning(
                        "chain %d: node error, retrying: %s",
                        self.chain_id,
                        redact_urls(str(exc)),
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.poll_interval)
        finally:
            self.lease.release()
            self.reader.dispose()

    def _write(self) -> Any:
        """A fenced write transaction: use as `with self._write() as conn:`."""
        return _Fenced(self)

    async def step(self) -> None:
        head, raw_balance = await self.rpc.batch(
            [("eth_getBlockByNumber", ["latest", False]), ("eth_getBalance", [self.address, "latest"])]
        )
        balance = int(raw_balance, 16)
        now = time.monotonic()
        if balance != self._balance or now - self._balance_at > 5.0:  # spare the database's write lock
            with self._write() as conn:
                conn.execute(
                    _SENDERS.update()
                    .where(_SENDERS.c.chain_id == self.chain_id)
                    .values(balance=balance, address=self.address.lower(), updated_at=_now())
                )
            self._balance, self._balance_at = balance, now
        BALANCE.labels(self._label).set(balance)
        await self.reconcile(head)
        self.expire()
        await self.send_queued()
        self._stats()

    # --- reconcile ----------------------------------------------------------------------------------------------

    def _open_txs(self) -> dict[int, list[dict[str, Any]]]:
        with self.reader.connect() as conn:
            rows = conn.execute(
                select(_TXS)
                .where(_TXS.c.chain_id == self.chain_id, _TXS.c.state.in_(("signed", "sent")))
                .order_by(_TXS.c.nonce, _TXS.c.attempt)
            ).mappings()
            groups: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for row in rows:
                groups[int(row["nonce"])].append(dict(row))
        return dict(groups)

    async def reconcile(self, head: dict[str, Any] | None = None) -> None:
        """`head`: the latest block, when the caller already has it."""
        if head is None:
            head = await self.rpc.call("eth_getBlockByNumber", ["latest", False])
        await self._check_reorgs(head)
        groups = self._open_txs()
        if not groups:
            return
        attempts = [tx for group in groups.values() for tx in group]
        # One round trip: the receipt of every attempt, and whether the node knows each nonce's newest attempt
        # (for the nonces that turn out unmined).
        answers = await self.rpc.batch(
            [("eth_getTransactionReceipt", [tx["tx_hash"]]) for tx in attempts]
            + [("eth_getTransactionByHash", [group[-1]["tx_hash"]]) for group in groups.values()]
        )
        by_hash = {tx["tx_hash"]: receipt for tx, receipt in zip(attempts, answers, strict=False)}
        known = dict(zip(groups, answers[len(attempts) :], strict=True))
        unmined: list[tuple[list[dict[str, Any]], Any]] = []
        for nonce, group in groups.items():
            mined = next(((tx, by_hash[tx["tx_hash"]]) for tx in group if by_hash[tx["tx_hash"]]), None)
            if mined is not None and mined[1].get("blockHash"):
                _fault("before_settle")
                await self._settle(group, mined[0], mined[1])
            else:
                unmined.append((group, known[nonce]))
        if unmined:
            await self._rebroadcast(unmined)

    async def _settle(self, group: list[dict[str, Any]], tx: dict[str, Any], receipt: dict[str, Any]) -> None:
        """Record the mined attempt of a nonce and settle the requests it carried."""
        block = int(receipt["blockNumber"], 16)
        gas_used = int(receipt["gasUsed"], 16)
        price = int(receipt.get("effectiveGasPrice") or "0x0", 16)
        with self.reader.connect() as conn:
            carried = [
                dict(r)
                for r in conn.execute(
                    select(_REQUESTS)
                    .where(_REQUESTS.c.chain_id == self.chain_id, _REQUESTS.c.tx_nonce == tx["nonce"])
                    .order_by(_REQUESTS.c.tx_index, _REQUESTS.c.seq)
                ).mappings()
            ]
        failed_bits = self._failed_bits(tx, receipt, len(carried))
        outcomes: dict[str, tuple[str, str | None]] = {}  # id -> (state, reason)
        for index, request in enumerate(carried):
            if failed_bits >> index & 1:
                why = await self._reason(request, block)
                outcomes[request["id"]] = ("expired" if why.endswith("signature expired") else "failed", why)
            else:
                outcomes[request["id"]] = ("mined", None)
        share = gas_used // max(len(carried), 1)
        now = _now()
        with self._write() as conn:
            conn.execute(
                _TXS.update()
                .where(_TXS.c.chain_id == self.chain_id, _TXS.c.nonce == tx["nonce"], _TXS.c.id != tx["id"])
                .values(state="replaced")
            )
            conn.execute(
                _TXS.update()
                .where(_TXS.c.id == tx["id"])
                .values(
                    state="mined",
                    block_number=block,
                    block_hash=receipt["blockHash"],
                    gas_used=gas_used,
                    fee_paid=gas_used * price,
                    mined_at=now,
                )
            )
            common = {
                "tx_hash": tx["tx_hash"],
                "block_number": block,
                "block_hash": receipt["blockHash"],
                "gas_used": share,
                "updated_at": now,
            }
            today = now.date().isoformat()
            conn.execute(
                _SENDERS.update()
                .where(_SENDERS.c.chain_id == self.chain_id)
                .values(
                    gas_spent=case(
                        (_SENDERS.c.gas_day == today, _SENDERS.c.gas_spent + gas_used), else_=gas_used
                    ),
                    gas_day=today,
                )
            )
            mined = [request_id for request_id, (state, _) in outcomes.items() if state == "mined"]
            if mined:  # one statement for the writes that succeeded
                feed.record(
                    conn,
                    _REQUESTS.update()
                    .where(_REQUESTS.c.id.in_(mined))
                    .values(state="mined", error=None, **common),
                )
            for request_id, (state, reason) in outcomes.items():
                if state != "mined":
                    feed.record(
                        conn,
                        _REQUESTS.update()
                        .where(_REQUESTS.c.id == request_id)
                        .values(state=state, error=reason, **common),
                    )
        GAS_SPENT.labels(self._label).inc(gas_used)
        FEES_PAID.labels(self._label).inc(gas_used * price)
        log.info(
            "chain %d: nonce %d mined in block %d (%d writes)",
            self.chain_id,
            tx["nonce"],
            block,
            len(carried),
        )

    def _failed_bits(self, tx: dict[str, Any], receipt: dict[str, Any], count: int) -> int:
        everything = (1 << count) - 1
        if receipt.get("status") != "0x1":
            return everything
        if not tx["batched"]:
            return 0
        for entry in receipt.get("logs", []):
            topics = entry.get("topics") or []
            if (
                entry.get("address", "").lower() == str(self.batcher).lower()
                and topics
                and topics[0] == BATCH_RELAYED
            ):
                _calls, failed = abi_decode(["uint256", "uint256"], bytes.fromhex(entry["data"][2:]))
                return int(failed)
        return everything  # a successful batch always logs; treat a missing log as failure of every write

    async def _reason(self, request: dict[str, Any], block: int) -> str:
        """Why a write failed: an `eth_call` of it alone on the state of its block."""
        try:
            await self.rpc.call(
                "eth_call",
                [{"from": self.address, "to": request["target"], "data": request["calldata"]}, hex(block)],
            )
        except RpcError as exc:
            return calls.revert_reason(exc.data, str(exc))
        return "reverted in its batch (out of gas, or a state that changed within the block)"

    async def _check_reorgs(self, head: dict[str, Any]) -> None:
        """Mined transactions in the reorg window whose block is no longer canonical go back to `sent`."""
        number = int(head["number"], 16)
        window = (
            _TXS.c.chain_id == self.chain_id,
            _TXS.c.state == "mined",
            _TXS.c.block_number > number - self.settings.reorg_window,
        )
        columns = (_TXS.c.nonce, _TXS.c.block_number, _TXS.c.block_hash, _TXS.c.tx_hash)
        with self.reader.connect() as conn:
            newest = conn.execute(
                select(*columns).where(*window).order_by(_TXS.c.block_number.desc()).limit(1)
            ).first()
        # A canonical block proves its ancestors canonical: when the newest block holding one of ours is still
        # canonical (the usual case: one read, and no request at all when it is the head), nothing was dropped.
        if newest is None or await self._canonical(newest.block_number, newest.block_hash, head):
            return
        with self.reader.connect() as conn:
            mined = [
                dict(r)
                for r in conn.execute(
                    select(*columns).where(*window).order_by(_TXS.c.block_number.desc())
                ).mappings()
            ]
        dropped: list[dict[str, Any]] = []
        checked: dict[int, bool] = {}
        for tx in mined:
            block = int(tx["block_number"])
            if block not in checked:
                checked[block] = await self._canonical(block, tx["block_hash"], head)
            if checked[block]:
                break
            dropped.append(tx)
        for tx in dropped:
            receipt = await self.rpc.call("eth_getTransactionReceipt", [tx["tx_hash"]])
            log.warning(
                "chain %d: reorg dropped nonce %d from block %d",
                self.chain_id,
                tx["nonce"],
                tx["block_number"],
            )
            with self._write() as conn:
                conn.execute(
                    _TXS.update()
                    .where(_TXS.c.chain_id == self.chain_id, _TXS.c.nonce == tx["nonce"])
                    .values(
                        state="sent",
                        block_number=None,
                        block_hash=None,
                        gas_used=None,
                        fee_paid=None,
                        mined_at=None,
                    )
                )
                feed.record(
                    conn,
                    _REQUESTS.update()
                    .where(_REQUESTS.c.chain_id == self.chain_id, _REQUESTS.c.tx_nonce == tx["nonce"])
                    .values(state="sent", block_number=None, block_hash=None, error=None, updated_at=_now()),
                    reorg=True,
                )
            if receipt is not None:
                log.info("chain %d: nonce %d is in the new chain too", self.chain_id, tx["nonce"])

    async def _canonical(self, number: int, block_hash: str, head: dict[str, Any]) -> bool:
        """Whether the block `number` of the canonical chain (whose latest block is `head`) has this hash."""
        if number == int(head["number"], 16):
            return bool(head["hash"] == block_hash)
        if number > int(head["number"], 16):
            return False
        block = await self.rpc.call("eth_getBlockByNumber", [hex(number), False])
        return block is not None and block["hash"] == block_hash

    async def _rebroadcast(self, groups: list[tuple[list[dict[str, Any]], Any]]) -> None:
        """Each unmined nonce's group of attempts, with what the node answered for the newest one."""
        fees: Fees | None = None
        now = _now()
        for group, seen in groups:
            newest = group[-1]
            sent_at = _aware(newest["sent_at"])
            if seen is None or newest["state"] == "signed":
                await self._broadcast(newest)
                continue
            if sent_at is not None and (now - sent_at).total_seconds() > self.settings.replace_after:
                fees = fees or await self.fees()
                await self._replace(newest, fees)

    async def _replace(self, tx: dict[str, Any], fees: Fees) -> None:
        bump = 100 + self.settings.fee_bump_percent
        priority = max(int(tx["max_priority_fee_per_gas"]) * bump // 100 + 1, fees.priority)
        max_fee = max(int(tx["max_fee_per_gas"]) * bump // 100 + 1, fees.max_fee, priority)
        if max_fee > self.settings.max_fee_per_gas:
            log.warning(
                "chain %d: nonce %d is stuck, and a replacement would pay more than the fee cap (%d wei/gas)",
                self.chain_id,
                tx["nonce"],
                self.settings.max_fee_per_gas,
            )
            await self._broadcast(tx)
            return
        log.info("chain %d: replacing nonce %d (attempt %d)", self.chain_id, tx["nonce"], tx["attempt"] + 1)
        payload = TypedTransaction.from_bytes(HexBytes(tx["raw"])).as_dict()["data"]
        signed = self._sign(
            nonce=int(tx["nonce"]),
            to=tx["to"],
            data=bytes(payload),
            gas=int(tx["gas_limit"]),
            fees=Fees(max_fee, priority),
        )
        row = {**self._tx_row(signed, tx["to"], tx["batched"], tx["calls"]), "attempt": tx["attempt"] + 1}
        with self._write() as conn:
            conn.execute(_TXS.insert().values(**row))
        await self._broadcast(row)

    # --- sending ------------------------------------------------------------------------------------------------

    async def fees(self) -> Fees:
        method, params = self._fee_history_call()
        return self._fees(await self.rpc.call(method, params))

    @staticmethod
    def _fee_history_call() -> tuple[str, list[Any]]:
        return "eth_feeHistory", [hex(5), "latest", [50]]

    def _fees(self, history: dict[str, Any]) -> Fees:
        base = int(history["baseFeePerGas"][-1], 16)
        rewards = [int(r[0], 16) for r in history.get("reward") or [] if r]
        tip = max(sorted(rewards)[len(rewards) // 2] if rewards else 0, self.settings.min_priority_fee)
        max_fee = min(2 * base + tip, self.settings.max_fee_per_gas)
        return Fees(max_fee=max_fee, priority=min(tip, max_fee), base=base)

    def _sign(self, *, nonce: int, to: str, data: bytes, gas: int, fees: Fees) -> Any:
        transaction: dict[str, Any] = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": nonce,
            "to": to_checksum_address(to),
            "data": data,
            "value": 0,
            "gas": gas,
            "maxFeePerGas": fees.max_fee,
            "maxPriorityFeePerGas": fees.priority,
        }
        return self.account.sign_transaction(transaction)

    def _tx_row(self, signed: Any, to: str, batched: bool, count: int) -> dict[str, Any]:
        raw = signed.raw_transaction
        decoded = TypedTransaction.from_bytes(raw).as_dict()
        return {
            "chain_id": self.chain_id,
            "sender": self.address.lower(),
            "nonce": int(decoded["nonce"]),
            "attempt": 0,
            "tx_hash": "0x" + bytes(signed.hash).hex(),
            "raw": "0x" + bytes(raw).hex(),
            "to": to.lower(),
            "batched": batched,
            "calls": count,
            "gas_limit": int(decoded["gas"]),
            "max_fee_per_gas": int(decoded["maxFeePerGas"]),
            "max_priority_fee_per_gas": int(decoded["maxPriorityFeePerGas"]),
            "state": "signed",
            "created_at": _now(),
        }

    async def _broadcast(self, *txs: dict[str, Any]) -> None:
        """Broadcast signed transactions (one JSON-RPC batch) and record the ones the node took as `sent`."""
        _fault("before_broadcast")
        answers = await self.rpc.batch_outcomes([("eth_sendRawTransaction", [tx["raw"]]) for tx in txs])
        sent = []
        for tx, answer in zip(txs, answers, strict=True):
            if isinstance(answer, RpcError) and not any(phrase in str(answer).lower() for phrase in _KNOWN):
                log.warning("chain %d: broadcast of nonce %d failed: %s", self.chain_id, tx["nonce"], answer)
                continue
            sent.append(tx["tx_hash"])
        if not sent:
            return
        _fault("after_broadcast")
        with self._write() as conn:
            conn.execute(
                _TXS.update()
                .where(_TXS.c.tx_hash.in_(sent), _TXS.c.state == "signed")
                .values(state="sent", sent_at=_now())
            )

    def expire(self) -> None:
        now = int(datetime.now(UTC).timestamp())
        late = (
            _REQUESTS.c.chain_id == self.chain_id,
            _REQUESTS.c.state == "queued",
            _REQUESTS.c.deadline < now + 2,
        )
        with self.reader.connect() as conn:  # a read first: no write lock taken on most steps
            if conn.execute(select(_REQUESTS.c.seq).where(*late).limit(1)).first() is None:
                return
        with self._write() as conn:
            feed.record(
                conn,
                _REQUESTS.update()
                .where(
                    _REQUESTS.c.chain_id == self.chain_id,
                    _REQUESTS.c.state == "queued",
                    _REQUESTS.c.deadline < now + 2,
                )
                .values(
                    state="expired",
                    error="the deadline passed before the request could be sent",
                    updated_at=_now(),
                ),
            )

    def _queued(self) -> list[dict[str, Any]]:
        with self.reader.connect() as conn:
            return [
                dict(r)
                for r in conn.execute(
                    select(_REQUESTS.c.id, _REQUESTS.c.target, _REQUESTS.c.calldata, _REQUESTS.c.gas_limit)
                    .where(_REQUESTS.c.chain_id == self.chain_id, _REQUESTS.c.state == "queued")
                    .order_by(_REQUESTS.c.seq)
                    .limit(calls.BATCH_MAX_CALLS * 16)
                ).mappings()
            ]

    def _batches(self, queued: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """Cut the queue in order into transactions: batches of small writes, a large write alone."""
        out: list[list[dict[str, Any]]] = []
        current: list[dict[str, Any]] = []
        gas = calls.BATCH_BASE_GAS
        for request in queued:
            size = (len(request["calldata"]) - 2) // 2
            if not self.settings.batch or size > calls.BATCH_MAX_CALLDATA:
                if current:
                    out.append(current)
                    current, gas = [], calls.BATCH_BASE_GAS
                out.append([request])
                continue
            if len(current) == calls.BATCH_MAX_CALLS or gas + request["gas_limit"] > self.settings.max_tx_gas:
                out.append(current)
                current, gas = [], calls.BATCH_BASE_GAS
            current.append(request)
            gas += request["gas_limit"]
        if current:
            out.append(current)
        return out

    def _next_nonce(self, node_pending: str) -> int:
        """The next nonce: the node's pending count, or past the newest nonce recorded if that is higher."""
        node = int(node_pending, 16)
        with self.reader.connect() as conn:
            recorded = conn.execute(
                select(func.max(_TXS.c.nonce)).where(_TXS.c.chain_id == self.chain_id)
            ).scalar()
        return max(node, int(recorded) + 1 if recorded is not None else 0)

    async def send_queued(self) -> None:
        queued = self._queued()
        if not queued:
            return
        history, node_pending = await self.rpc.batch(
            [self._fee_history_call(), ("eth_getTransactionCount", [self.address, "pending"])]
        )
        fees = self._fees(history)
        if fees.base > fees.max_fee:
            log.warning(
                "chain %d: the base fee (%d wei/gas) is above the fee cap (%d): %d requests wait",
                self.chain_id,
                fees.base,
                self.settings.max_fee_per_gas,
                len(queued),
            )
            return
        nonce = self._next_nonce(node_pending)
        rows = []
        for batch in self._batches(queued):
            single = len(batch) == 1 and (not self.settings.batch or self.batcher is None or _large(batch[0]))
            if single:
                to = batch[0]["target"]
                data = bytes.fromhex(batch[0]["calldata"][2:])
                gas = int(batch[0]["gas_limit"])
            else:
                to = str(self.batcher)
                data = calls.batch_calldata([(r["target"], bytes.fromhex(r["calldata"][2:])) for r in batch])
                gas = calls.BATCH_BASE_GAS + sum(int(r["gas_limit"]) for r in batch)
            signed = self._sign(nonce=nonce, to=to, data=data, gas=gas, fees=fees)
            row = self._tx_row(signed, to, not single, len(batch))
            try:
                self._bind(batch, row, nonce=nonce, single=single)
            except _Changed:
                break
            _fault("after_sign")
            rows.append(row)
            nonce += 1
        if rows:
            await self._broadcast(*rows)

    def _bind(self, batch: list[dict[str, Any]], row: dict[str, Any], *, nonce: int, single: bool) -> None:
        """Write-ahead: the signed transaction and the requests it carries, in one fenced transaction."""
        with self._write() as conn:
            ids = [request["id"] for request in batch]
            position = (
                None
                if single
                else case({request_id: index for index, request_id in enumerate(ids)}, value=_REQUESTS.c.id)
            )
            bound = feed.record(
                conn,
                _REQUESTS.update()
                .where(_REQUESTS.c.id.in_(ids), _REQUESTS.c.state == "queued")
                .values(
                    state="sent",
                    tx_nonce=nonce,
                    tx_index=position,
                    tx_hash=row["tx_hash"],
                    updated_at=_now(),
                ),
            ).rowcount
            if bound != len(batch):  # a request changed under us (expired): sign this nonce again next step
                raise _Changed
            conn.execute(_TXS.insert().values(**row))

    # --- metrics ------------------------------------------------------------------------------------------------

    def _stats(self) -> None:
        loop_time = asyncio.get_event_loop().time() if _has_loop() else 0.0
        if loop_time - self._last_stats < 5.0 and self._last_stats:
            return
        self._last_stats = loop_time or 1.0
        with self.reader.connect() as conn:
            counts: dict[str, int] = dict(
                conn.execute(
                    select(_REQUESTS.c.state, func.count())
                    .where(_REQUESTS.c.chain_id == self.chain_id)
                    .group_by(_REQUESTS.c.state)
                ).all()
            )
        for state in ("queued", "sent", "mined", "failed", "expired"):
            REQUESTS.labels(self._label, state).set(counts.get(state, 0))
        QUEUE_DEPTH.labels(self._label).set(counts.get("queued", 0))


def _large(request: dict[str, Any]) -> bool:
    return (len(request["calldata"]) - 2) // 2 > calls.BATCH_MAX_CALLDATA


def _has_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class _Changed(Exception):
    """A request left `queued` while a batch was being bound (rolls the binding back)."""


class _Fenced:
    """`with sender._write() as conn:` a write transaction that first checks the sender still holds the lease."""

    def __init__(self, sender: Sender) -> None:
        self._sender = sender
        self._context: Any = None

    def __enter__(self) -> Connection:
        self._context = self._sender.engine.begin()
        conn: Connection = self._context.__enter__()
        try:
            self._sender.lease.fence(conn)
        except BaseException as exc:
            self._context.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return conn

    def __exit__(self, *exc: Any) -> None:
        self._context.__exit__(*exc)
