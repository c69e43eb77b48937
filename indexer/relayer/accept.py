"""Accepting a relay request (`POST /v1/relay`): every check before a request is queued, cheapest first.

1. the chain has a relayer and a running sender with enough balance; the daily gas budget is not spent;
2. the body parses into the function's EIP-712 message (`indexer.relayer.calls`); the deadline is ahead by the
   configured margin; the signature is 64/65 bytes and recovers to the signer in the contract's exact domain (an
   account with code is an ERC-1271 signer: the simulation decides);
3. quotas (signer, client IP, pending requests of the signer);
4. authority from the indexed state (owner or operator of the node, a bond to burn, ...);
5. the nonce is the signer's next one, counting its requests still waiting for the chain;
6. a simulation on the latest state: this write must succeed. Alone (no waiting writes of the signer), it is
   `eth_estimateGas` of the write, which executes it and errors when it reverts (an `eth_call` then gives the
   reason, and decides when the node cannot estimate); after waiting writes, an `eth_call` of RelayBatcher with
   them followed by this one.
The node answers the nonce (5), the simulation (6) and an ERC-1271 signer's code (2) in one JSON-RPC batch, and
the database the chain, the sender, the quotas and the waiting requests (1, 3, 5) in one statement.
Anything else raises :class:`Refused` (a 4xx with the reason) and nothing is queued.

Concurrent requests are accepted in groups (`RelayService._run_groups`): the requests waiting when the previous
group is done share one read transaction, one JSON-RPC batch and one write transaction, in which the quotas are
counted again under the writers' lock so that they hold exactly however many requests arrive at once. Each request
is still checked on its own and answered on its own: a 202 only once the insert of its group has committed, its
own 4xx otherwise. A group holds at most one request per signer.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from eth_account import Account
from eth_utils import to_checksum_address
from sqlalchemy import BigInteger, bindparam, func, or_, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from indexer import signing
from indexer.chain.rpc import RetryPolicy, RpcClient, RpcError
from indexer.ens import node_hex
from indexer.errors import Dm3Error
from indexer.redact import redact_urls
from indexer.relayer import calls, feed
from indexer.settings.relayer import RelayerSettings
from indexer.store import models
from indexer.store.relay_models import PENDING_STATES, RelayRequest, RelaySender, RelayTx
from indexer.store.writer import CHANGES_LOCK_KEY

_REQUESTS = RelayRequest.__table__  # type: ignore[attr-defined]
_SENDERS = RelaySender.__table__  # type: ignore[attr-defined]
_TXS = RelayTx.__table__  # type: ignore[attr-defined]
_NAMES = models.Name.__table__  # type: ignore[attr-defined]
_OPERATORS = models.Operator.__table__  # type: ignore[attr-defined]
_BONDS = models.Bond.__table__  # type: ignore[attr-defined]
_CHAINS = models.Chain.__table__  # type: ignore[attr-defined]
_WINDOW_TYPE = _REQUESTS.c.created_at.type

#: Per signer of a chain (parameters chain_id, signers, window): its requests accepted since `window` and its
#: requests waiting for the chain.
_SIGNER_COUNTS = (
    select(
        _REQUESTS.c.signer,
        func.count().filter(_REQUESTS.c.created_at >= bindparam("window", type_=_WINDOW_TYPE)),
        func.count().filter(_REQUESTS.c.state.in_(PENDING_STATES)),
    )
    .where(
        _REQUESTS.c.chain_id == bindparam("chain_id", type_=BigInteger),
        _REQUESTS.c.signer.in_(bindparam("signers", expanding=True)),
        or_(
            _REQUESTS.c.created_at >= bindparam("window", type_=_WINDOW_TYPE),
            _REQUESTS.c.state.in_(PENDING_STATES),
        ),
    )
    .group_by(_REQUESTS.c.signer)
)

_NODE_WRITES = {
    "setOwnerWithSig",
    "setTextWithSig",
    "setAddrWithSig",
    "setAddrForCoinWithSig",
    "setContenthashWithSig",
}


class Refused(Dm3Error):
    """The request is refused; `status` is the HTTP status, `retry_after` seconds for a 429."""

    def __init__(self, message: str, *, status: int = 422, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class ChainFacts:
    """What one acceptance reads from the database, in one snapshot."""

    registry: str | None
    deposits: str | None
    parent_name: str
    indexed_block: int | None
    relayer: str | None
    balance: int
    gas_today: int
    signer_recent: int
    signer_oldest: datetime | None
    client_recent: int
    client_oldest: datetime | None
    pending: list[dict[str, Any]]  # the signer's requests waiting for the chain, oldest first
    authority: str | None  # why the signer lacks authority, None when it has it


#: At most this many groups per chain and process are accepted at once (each waits on the database and the node
#: for most of its time).
GROUPS_IN_FLIGHT = 4


@dataclass
class _Waiting:
    """A request that passed the checks on its own (parsing, deadline) and waits for its group."""

    chain_id: int
    call: calls.SignedCall
    client: str
    now: datetime
    future: asyncio.Future[RelayRequest]


@dataclass
class _Plan:
    """A request that passed the checks on the database's facts, and what it asks the node."""

    item: _Waiting
    facts: ChainFacts
    contract: str
    recovered: str | None
    write: dict[str, Any]
    queries: list[tuple[str, list[Any]]]


def _fail(item: _Waiting, error: BaseException) -> None:
    """Answer a waiting request with `error` (unless its client went away)."""
    if not item.future.done():
        item.future.set_exception(error)


def utc_day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def gas_with_margin(estimate: int, *, bound: int) -> int:
    """A write's gas limit from the node's estimate: a 25% margin (a write's cost varies little between now and
    its block), never more than the static bound."""
    return min(estimate + estimate // 4 + 10_000, bound)


def _bounded_count(limit: int, window: Any, *where: Any) -> Any:
    """How many requests matching `where` were accepted since `window`, counted up to `limit` only: a bounded
    scan however many there are (a scalar subquery)."""
    recent = select(_REQUESTS.c.seq).where(*where, _REQUESTS.c.created_at >= window).limit(limit)
    return select(func.count()).select_from(recent.subquery()).scalar_subquery()


def recover_signer(call: calls.SignedCall, *, chain_id: int, contract: str) -> str | None:
    """The EOA that signed, or None when the signature recovers to nothing."""
    signable = signing.signable_message(
        call.function, call.message, chain_id=chain_id, verifying_contract=contract
    )
    signature = call.signature
    if len(signature) == 64:  # EIP-2098 compact: yParity in the top bit of s
        vs = int.from_bytes(signature[32:], "big")
        signature = signature[:32] + (vs & ((1 << 255) - 1)).to_bytes(32, "big") + bytes([27 + (vs >> 255)])
    try:
        return str(Account.recover_message(signable, signature=signature))
    except Exception:  # eth-keys refuses an invalid v/r/s: not a signature of anyone
        return None


class RelayService:
    """The API side of the relayer: accepts requests into the queue and reads them back."""

    def __init__(self, settings: RelayerSettings, *, reader: Engine, writer: Engine) -> None:
        self.settings = settings
        self.reader = reader
        self.writer = writer
        self._rpc: dict[int, RpcClient] = {}
        self._batchers: dict[int, str | None] = {}
        self._facts_select: Any = None
        self._waiting: dict[int, list[_Waiting]] = {}  # per chain, in arrival order
        self._runners: dict[int, int] = {}  # per chain, how many group runners are running
        self._in_flight: set[tuple[int, str]] = (
            set()
        )  # (chain, signer) of the requests in groups being accepted
        self._tasks: set[asyncio.Task[None]] = set()
        self._to_commit: list[tuple[list[dict[str, Any]], asyncio.Future[dict[int, Refused]]]] = []
        self._committing = False

    def rpc(self, chain_id: int) -> RpcClient:
        client = self._rpc.get(chain_id)
        if client is None:
            chain = self.settings.chain(chain_id)
            assert chain is not None
            client = RpcClient(
                chain.rpc_url,
                chain=str(chain_id),
                timeout=self.settings.rpc_timeout,
                retry=RetryPolicy(attempts=3, max_elapsed=5.0),
            )
            self._rpc[chain_id] = client
        return client

    def batcher(self, chain_id: int) -> str | None:
        if chain_id not in self._batchers:
            self._batchers[chain_id] = self.settings.batcher(chain_id)
        return self._batchers[chain_id]

    async def aclose(self) -> None:
        for client in self._rpc.values():
            await client.aclose()

    # --- acceptance ---------------------------------------------------------------------------------------------

    def parse(self, body: Any) -> tuple[int, calls.SignedCall]:
        if not isinstance(body, dict):
            raise Refused("the body must be a JSON object with chain_id, function, message and signature")
        unknown = sorted(set(body) - {"chain_id", "function", "message", "signature", "permit"})
        if unknown:
            raise Refused(f"unknown field(s): {', '.join(str(u)[:40] for u in unknown[:5])}")
        chain_id = body.get("chain_id")
        if isinstance(chain_id, bool) or not isinstance(chain_id, int) or not 0 < chain_id < 2**63:
            raise Refused("chain_id: must be a positive integer")
        if self.settings.chain(chain_id) is None:
            raise Refused(f"chain_id: no relayer for chain {chain_id}", status=404)
        try:
            call = calls.parse(
                body.get("function"),
                body.get("message"),
                body.get("signature"),
                body.get("permit"),
                allowed=self.settings.allowed,
            )
        except calls.InvalidRequest as exc:
            raise Refused(str(exc)) from None
        return chain_id, call

    def facts(self, chain_id: int, call: calls.SignedCall, client: str, now: datetime) -> ChainFacts:
        """Everything the database says about this request, in one read transaction (see `_facts`)."""
        with self.reader.connect() as conn:
            return self._facts(conn, chain_id, call, client, now)

    def group_facts(self, chain_id: int, group: list[_Waiting]) -> list[ChainFacts]:
        """The facts of every request of a group, in one read transaction (one snapshot)."""
        with self.reader.connect() as conn:
            return [self._facts(conn, chain_id, item.call, item.client, item.now) for item in group]

    def _facts(
        self, conn: Connection, chain_id: int, call: calls.SignedCall, client: str, now: datetime
    ) -> ChainFacts:
        """Everything the database says about this request: one statement for the chain, the sender, the quota
        counts and the signer's waiting requests (the usual case), a second one for those requests' calldata when
        there are any, and the authority lookups of the function."""
        signer = call.signer.lower()
        window = now - timedelta(seconds=self.settings.quota_window)
        by_signer = (_REQUESTS.c.chain_id == chain_id, _REQUESTS.c.signer == signer)
        by_client = (_REQUESTS.c.client == client,)
        row = (
            conn.execute(
                self._facts_statement(),
                {"chain_id": chain_id, "signer": signer, "client": client, "window": window},
            )
            .mappings()
            .one()
        )
        signer_oldest = (
            self._oldest(conn, window, *by_signer)
            if row["signer_recent"] >= self.settings.signer_quota
            else None
        )
        client_oldest = (
            self._oldest(conn, window, *by_client)
            if row["client_recent"] >= self.settings.client_quota
            else None
        )
        pending = (
            [
                dict(p)
                for p in conn.execute(
                    select(
                        _REQUESTS.c.function,
                        _REQUESTS.c.target,
                        _REQUESTS.c.nonce,
                        _REQUESTS.c.calldata,
                        _REQUESTS.c.message,
                    )
                    .where(*by_signer, _REQUESTS.c.state.in_(PENDING_STATES))
                    .order_by(_REQUESTS.c.seq)
                ).mappings()
            ]
            if row["pending"]
            else []
        )
        parent_name = row["parent_name"] or ""
        indexed = row["chain_id"] is not None
        authority = self._authority(conn, chain_id, call, parent_name, row) if indexed else None
        return ChainFacts(
            registry=row["registry_address"],
            deposits=row["deposits_address"],
            parent_name=parent_name,
            indexed_block=row["indexed_block"],
            relayer=row["address"] or None,
            balance=int(row["balance"] or 0),
            gas_today=int(row["gas_spent"] or 0) if row["gas_day"] == now.date().isoformat() else 0,
            signer_recent=int(row["signer_recent"]),
            signer_oldest=signer_oldest,
            client_recent=int(row["client_recent"]),
            client_oldest=client_oldest,
            pending=pending,
            authority=authority,
        )

    def _facts_statement(self) -> Any:
        """The statement reading the chain, the sender, the quota counts and the number of the signer's waiting
        requests, built once (its parameters: chain_id, signer, client, window): building and hashing it for
        every request cost more than running it."""
        if self._facts_select is None:
            chain_id, window = (
                bindparam("chain_id", type_=BigInteger),
                bindparam("window", type_=_WINDOW_TYPE),
            )
            by_signer = (_REQUESTS.c.chain_id == chain_id, _REQUESTS.c.signer == bindparam("signer"))
            by_client = (_REQUESTS.c.client == bindparam("client"),)
            counts = select(
                _bounded_count(self.settings.signer_quota, window, *by_signer).label("signer_recent"),
                _bounded_count(self.settings.client_quota, window, *by_client).label("client_recent"),
                select(func.count())
                .where(*by_signer, _REQUESTS.c.state.in_(PENDING_STATES))
                .scalar_subquery()
                .label("pending"),
            ).subquery()
            self._facts_select = (
                select(
                    _CHAINS.c.chain_id,
                    _CHAINS.c.registry_address,
                    _CHAINS.c.deposits_address,
                    _CHAINS.c.parent_name,
                    _CHAINS.c.indexed_block,
                    _SENDERS.c.address,
                    _SENDERS.c.balance,
                    _SENDERS.c.gas_day,
                    _SENDERS.c.gas_spent,
                    counts,
                )
                .select_from(counts)
                .outerjoin(_CHAINS, _CHAINS.c.chain_id == chain_id)
                .outerjoin(_SENDERS, _SENDERS.c.chain_id == chain_id)
            )
        return self._facts_select

    @staticmethod
    def _oldest(conn: Connection, window: datetime, *where: Any) -> datetime | None:
        """The oldest request matching `where` in the quota window (for `Retry-After` once a quota is reached)."""
        return conn.execute(
            select(func.min(_REQUESTS.c.created_at)).where(*where, _REQUESTS.c.created_at >= window)
        ).scalar()

    def _authority(
        self, conn: Connection, chain_id: int, call: calls.SignedCall, parent: str, chain: Any
    ) -> str | None:
        """Why the indexed state says the signer may not make this write (None: it may)."""
        signer = call.signer.lower()
        message = call.message
        at = f"(indexed up to block {chain['indexed_block']})"
        if call.function == "registerWithSig":
            node = node_hex(f"{message['label']}.{parent}")
            owner = conn.execute(
                select(_NAMES.c.owner).where(_NAMES.c.chain_id == chain_id, _NAMES.c.node == node)
            ).scalar()
            if owner is not None:
                return f"{message['label']}.{parent} is already registered (owner {owner}) {at}"
            return None
        if call.function in _NODE_WRITES:
            node = "0x" + bytes(message["node"]).hex()
            owner = conn.execute(
                select(_NAMES.c.owner).where(_NAMES.c.chain_id == chain_id, _NAMES.c.node == node)
            ).scalar()
            if owner is None:
                if node == node_hex(f"{signer[2:].lower()}.addr.{parent}"):
                    return None  # the signer's own address name
                if self._pending_register(conn, chain_id, signer, node, parent):
                    return None
                return f"node {node} is not registered {at}"
            if owner == signer:
                return None
            approved = conn.execute(
                select(_OPERATORS.c.approved).where(
                    _OPERATORS.c.chain_id == chain_id,
                    _OPERATORS.c.owner == owner,
                    _OPERATORS.c.operator == signer,
                )
            ).scalar()
            if approved:
                return None
            return f"{call.signer} is neither the owner ({owner}) of node {node} nor an operator of its owner {at}"
        if call.function in (
            "burn_with_sig",
            "release_with_sig",
            "request_withdrawal_with_sig",
            "withdraw_with_sig",
        ):
            sender, recipient = str(message["sender"]).lower(), str(message["recipient"]).lower()
            bond = (
                conn.execute(
                    select(_BONDS).where(
                        _BONDS.c.chain_id == chain_id,
                        _BONDS.c.sender == sender,
                        _BONDS.c.recipient == recipient,
                    )
                )
                .mappings()
                .first()
            )
            pair = f"from {message['sender']} to {message['recipient']}"
            if bond is None or int(bond["amount"]) == 0:
                return f"no bond {pair} {at}"
            if call.function == "burn_with_sig":
                if bond["accepted"]:
                    return f"the bond {pair} was released and can no longer be burned {at}"
                if int(bond["amount"]) < int(message["amount"]):
                    return (
                        f"the bond {pair} is {bond['amount']}, less than the {message['amount']} to burn {at}"
                    )
            if call.function == "release_with_sig" and bond["accepted"]:
                return f"the bond {pair} is already released {at}"
            if call.function == "request_withdrawal_with_sig" and bond["unlock_time"] is not None:
                return f"a withdrawal of the bond {pair} is already pending {at}"
            if call.function == "withdraw_with_sig" and bond["unlock_time"] is None and not bond["accepted"]:
                return f"no withdrawal of the bond {pair} was requested {at}"
        return None

    def _pending_register(self, conn: Connection, chain_id: int, signer: str, node: str, parent: str) -> bool:
        """Whether a queued or carried `registerWithSig` of this signer creates `node` for the signer."""
        rows = conn.execute(
            select(_REQUESTS.c.message).where(
                _REQUESTS.c.chain_id == chain_id,
                _REQUESTS.c.signer == signer,
                _REQUESTS.c.function == "registerWithSig",
                _REQUESTS.c.state.in_(("queued", "sent", "mined")),
            )
        ).scalars()
        return any(
            node_hex(f"{m['label']}.{parent}") == node and str(m["owner"]).lower() == signer for m in rows
        )

    async def accept(self, body: Any, *, client: str, read: Any) -> RelayRequest:
        """Check everything, queue, return the stored request (raises :class:`Refused`).

        `read(work)` runs blocking database work as the API does (in the thread pool). The request joins the
        chain's next group (see `_run_groups`): it is answered once its group's insert has committed, or with its
        own refusal; another request's failure never affects it.
        """
        chain_id, call = self.parse(body)
        settings = self.settings
        now = datetime.now(UTC)
        if call.deadline < int(time.time()) + settings.deadline_margin:
            raise Refused(
                f"message.deadline: {call.deadline} has passed or is less than {settings.deadline_margin} s ahead; "
                "sign again with a later deadline"
            )
        item = _Waiting(chain_id, call, client, now, asyncio.get_running_loop().create_future())
        self._waiting.setdefault(chain_id, []).append(item)
        if self._runners.get(chain_id, 0) < GROUPS_IN_FLIGHT:
            self._runners[chain_id] = self._runners.get(chain_id, 0) + 1
            task = asyncio.create_task(self._run_groups(chain_id, read))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await item.future

    # --- groups -------------------------------------------------------------------------------------------------

    async def _run_groups(self, chain_id: int, read: Any) -> None:
        """Accept the chain's waiting requests group by group until none is left that it may take (up to
        `GROUPS_IN_FLIGHT` runners per chain and process, each started by a request that found fewer running).

        A group is the requests waiting when a runner is free (up to `accept_group_max`), so a lone request goes through
        at once and concurrent ones share the work: one read transaction for their facts, one JSON-RPC batch for
        their nonces and simulations, one write transaction for the inserts. A signer has at most one request in
        the groups being accepted: a second one waits for a later group, which sees the first one queued (its
        nonce counted, its write simulated before the second), exactly as if it had come after the first's 202.
        """
        try:
            while True:
                group = self._take_group(chain_id)
                if not group:
                    return
                try:
                    await self._accept_group(chain_id, group, read)
                except Exception as exc:  # unexpected (the database is down, say): every request of the group
                    for item in group:
                        _fail(item, exc)
                finally:
                    self._in_flight.difference_update((chain_id, item.call.signer.lower()) for item in group)
        finally:
            self._runners[chain_id] -= 1
            if not self._runners[chain_id] and self._waiting.get(chain_id):
                # cancelled (the loop is shutting down): nobody will serve them
                for item in self._waiting.pop(chain_id):
                    _fail(item, Refused("the service is shutting down", status=503))

    def _take_group(self, chain_id: int) -> list[_Waiting]:
        group: list[_Waiting] = []
        later: list[_Waiting] = []
        for item in self._waiting.get(chain_id, []):
            if item.future.done():  # its client went away
                continue
            key = (chain_id, item.call.signer.lower())
            if len(group) < self.settings.accept_group_max and key not in self._in_flight:
                group.append(item)
                self._in_flight.add(key)
            else:
                later.append(item)
        self._waiting[chain_id] = later
        return group

    async def _accept_group(self, chain_id: int, group: list[_Waiting], read: Any) -> None:
        all_facts = await read(lambda: self.group_facts(chain_id, group))
        plans: list[_Plan] = []
        for item, facts in zip(group, all_facts, strict=True):
            try:
                plans.append(self._plan(item, facts))
            except Refused as refused:
                _fail(item, refused)
        if not plans:
            return
        # One round trip to the node for the whole group: each request's queries (see `_plan`), in order.
        queries = [query for plan in plans for query in plan.queries]
        try:
            results = await self.rpc(chain_id).batch_outcomes(queries)
        except RpcError as exc:
            reason = redact_urls(str(exc))  # an RPC URL may carry an API key: scheme and host only
            for plan in plans:
                _fail(
                    plan.item,
                    Refused(f"chain {chain_id}: the node cannot simulate the write ({reason})", status=503),
                )
            return
        start = 0
        outcomes = []
        for plan in plans:
            outcomes.append(self._decide(plan, results[start : start + len(plan.queries)]))
            start += len(plan.queries)
        decided = await asyncio.gather(*outcomes, return_exceptions=True)
        rows: list[tuple[_Waiting, dict[str, Any]]] = []
        for plan, outcome in zip(plans, decided, strict=True):
            if isinstance(outcome, BaseException):
                _fail(plan.item, outcome)
            else:
                rows.append((plan.item, outcome))
        if not rows:
            return
        refusals = await self._commit([row for _, row in rows])
        for index, (item, row) in enumerate(rows):
            if index in refusals:
                _fail(item, refusals[index])
            elif not item.future.done():
                item.future.set_result(RelayRequest(**row))

    def _plan(self, item: _Waiting, facts: ChainFacts) -> _Plan:
        """The checks on the database's facts (raises :class:`Refused`), and the node queries for the rest."""
        chain_id, call, now, settings = item.chain_id, item.call, item.now, self.settings
        contract = facts.registry if call.contract == "ProfileRegistry" else facts.deposits
        batcher = self.batcher(chain_id)
        if contract is None or batcher is None:
            raise Refused(
                f"chain {chain_id}: the relayer is not set up ({call.contract if contract is None else 'RelayBatcher'} "
                "unknown)",
                status=503,
            )
        if facts.relayer is None:
            raise Refused(f"chain {chain_id}: no relayer process is running for this chain", status=503)
        if facts.balance < settings.min_balance:
            raise Refused(
                f"chain {chain_id}: the relayer is out of funds (balance {facts.balance} wei, floor "
                f"{settings.min_balance}); send the transaction yourself or try later",
                status=503,
            )
        if facts.gas_today >= settings.daily_gas_budget:
            midnight = utc_day_start(now) + timedelta(days=1)
            raise Refused(
                f"chain {chain_id}: the relayer's gas budget for today is spent",
                status=429,
                retry_after=max(int((midnight - now).total_seconds()), 1),
            )
        self._quota(
            facts.signer_recent, facts.signer_oldest, settings.signer_quota, now, f"signer {call.signer}"
        )
        self._quota(facts.client_recent, facts.client_oldest, settings.client_quota, now, "this client")
        if len(facts.pending) >= settings.max_pending_per_signer:
            raise Refused(
                f"{call.signer} has {len(facts.pending)} requests waiting for the chain (at most "
                f"{settings.max_pending_per_signer}); wait until they are mined",
                status=429,
                retry_after=2,
            )
        recovered = recover_signer(call, chain_id=chain_id, contract=contract)
        if facts.authority is not None:
            raise Refused(f"no authority: {facts.authority}", status=403)
        pending_calls = [(str(p["target"]), bytes.fromhex(p["calldata"][2:])) for p in facts.pending]
        write = {"from": facts.relayer, "to": contract, "data": "0x" + call.calldata.hex()}
        # The node answers the signer's nonce on the contract, the simulation, and the signer's code when the
        # signature does not recover to it (an ERC-1271 wallet). With no waiting writes of the signer, the
        # simulation is `eth_estimateGas` of the write alone: it executes the write on the latest state and errors
        # when the write reverts, and its gas becomes the write's limit. After waiting writes, it is an `eth_call`
        # of RelayBatcher with those first and this one last (its bitmap says which would fail).
        if facts.pending:
            batch = calls.batch_calldata([*pending_calls, (contract, call.calldata)])
            simulation = (
                "eth_call",
                [{"from": facts.relayer, "to": batcher, "data": "0x" + batch.hex()}, "latest"],
            )
        else:
            simulation = ("eth_estimateGas", [write, "latest"])
        queries: list[tuple[str, list[Any]]] = [
            (
                "eth_call",
                [{"to": contract, "data": "0x" + calls.nonces_calldata(call.signer).hex()}, "latest"],
            ),
            simulation,
        ]
        if recovered != call.signer:
            queries.append(("eth_getCode", [call.signer, "latest"]))
        return _Plan(item, facts, contract, recovered, write, queries)

    async def _decide(self, plan: _Plan, results: list[Any]) -> dict[str, Any]:
        """The node's answers to the plan's queries: the request's row to insert, or :class:`Refused`."""
        item, facts, contract, call = plan.item, plan.facts, plan.contract, plan.item.call
        chain_id = item.chain_id
        try:
            for result in (results[0], *results[2:]):  # the simulation's own error is looked at below
                if isinstance(result, RpcError):
                    raise result
            if facts.pending and isinstance(results[1], RpcError):
                raise results[1]
        except RpcError as exc:
            reason = redact_urls(str(exc))  # an RPC URL may carry an API key: scheme and host only
            raise Refused(
                f"chain {chain_id}: the node cannot simulate the write ({reason})", status=503
            ) from None
        if plan.recovered != call.signer and results[2] in (None, "0x", ""):
            raise Refused(
                f"signature: not {call.signer}'s signature of this {signing.SIGNED_FUNCTIONS[call.function].primary_type} "
                f"message in the domain of {call.contract} {contract} on chain {chain_id}",
                status=401,
            )
        same_target = [int(p["nonce"]) for p in facts.pending if p["target"] == contract.lower()]
        onchain = int(results[0], 16)
        expected = max([onchain, *(n + 1 for n in same_target)])
        if call.nonce != expected:
            raise Refused(
                f"message.nonce: {call.nonce} is not {call.signer}'s next nonce on {call.contract}, which is {expected}"
                + (f" ({len(same_target)} of its requests are waiting for the chain)" if same_target else ""),
                status=409,
            )
        gas_limit = call.gas_limit
        if facts.pending:
            if calls.decode_bitmap(results[1]) >> len(facts.pending) & 1:
                raise Refused(
                    f"simulation: the write would fail: {await self._reason(chain_id, contract, call, facts)}"
                )
        elif isinstance(results[1], RpcError):
            # The estimate failed: the write reverts (the usual), or this node cannot estimate it. An `eth_call`
            # decides, and gives the revert reason.
            failure = await self._failure(chain_id, plan.write)
            if failure is not None:
                raise Refused(f"simulation: the write would fail: {failure}")
        else:
            gas_limit = gas_with_margin(int(results[1], 16), bound=call.gas_limit)
        queued_at = datetime.now(UTC)  # the request's `created_at`: when it is queued, just before its 202
        return {
            "id": uuid.uuid4().hex,
            "chain_id": chain_id,
            "function": call.function,
            "target": contract.lower(),
            "signer": call.signer.lower(),
            "nonce": call.nonce,
            "deadline": call.deadline,
            "message": call.json_message(),
            "calldata": "0x" + call.calldata.hex(),
            "gas_limit": gas_limit,
            "client": item.client,
            "state": "queued",
            "created_at": queued_at,
            "updated_at": queued_at,
        }

    async def _commit(self, rows: list[dict[str, Any]]) -> dict[int, Refused]:
        """Queue a group's rows; the refusals by row index (the others are queued once this returns).

        Group commit: the rows of every group that is ready while a write transaction is under way wait for it and
        then go in the next one together, so the process holds the database's write lock once per commit, not
        once per group (on SQLite a writer that finds the lock taken polls for it, sleeping up to tens of ms)."""
        done: asyncio.Future[dict[int, Refused]] = asyncio.get_running_loop().create_future()
        self._to_commit.append((rows, done))
        if not self._committing:
            self._committing = True
            task = asyncio.create_task(self._run_commits())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await done

    async def _run_commits(self) -> None:
        try:
            while self._to_commit:
                batch, self._to_commit = self._to_commit, []
                rows = [row for group, _ in batch for row in group]
                try:
                    # A write may wait for SQLite's lock: not on the loop.
                    refusals = await run_in_threadpool(self._insert, rows)
                except Exception as exc:
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                start = 0
                for group, done in batch:
                    mine = {i - start: r for i, r in refusals.items() if start <= i < start + len(group)}
                    start += len(group)
                    if not done.done():
                        done.set_result(mine)
        finally:
            self._committing = False
            for _, done in self._to_commit:  # cancelled (the loop is shutting down)
                if not done.done():
                    done.set_exception(Refused("the service is shutting down", status=503))
            self._to_commit = []

    def _insert(self, rows: list[dict[str, Any]]) -> dict[int, Refused]:
        """Queue the rows in one write transaction; the refusals by row index (the others are queued).

        The quotas are counted again inside the transaction, under the lock every writer of relay requests
        takes (SQLite: the write lock of `BEGIN IMMEDIATE`; PostgreSQL: the change feed's advisory lock, which
        `feed.record` takes anyway), with the earlier rows of the same transaction added: however many requests
        arrive at once, in however many processes, a quota is never exceeded. A pending nonce already taken (the
        unique index) fails the whole statement: then each row goes alone, and only the duplicate is refused
        (409)."""
        try:
            with self.writer.begin() as conn:
                refusals = self._recount(conn, rows)
                kept = [row for index, row in enumerate(rows) if index not in refusals]
                if kept:
                    feed.record(conn, _REQUESTS.insert(), kept)  # executemany: one compiled statement
                return refusals
        except IntegrityError:
            if len(rows) == 1:
                row = rows[0]
                return {
                    0: Refused(
                        f"message.nonce: a request of {to_checksum_address(row['signer'])} with nonce "
                        f"{row['nonce']} is already queued",
                        status=409,
                    )
                }
        refusals = {}
        for index, row in enumerate(rows):
            refused = self._insert([row]).get(0)
            if refused is not None:
                refusals[index] = refused
        return refusals

    def _recount(self, conn: Connection, rows: list[dict[str, Any]]) -> dict[int, Refused]:
        """Which rows the quotas refuse, counted in the write transaction (see `_insert`)."""
        settings = self.settings
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHANGES_LOCK_KEY})
        now = datetime.now(UTC)
        window = now - timedelta(seconds=settings.quota_window)
        # The signers' counts by one statement of a fixed shape per chain (compiled once); each signer has at most
        # its quota of recent requests and its cap of waiting ones, so the rows it reads are bounded.
        signer_recent: dict[tuple[int, str], int] = {}
        pending: dict[tuple[int, str], int] = {}
        for chain_id in sorted({row["chain_id"] for row in rows}):
            signers = sorted({row["signer"] for row in rows if row["chain_id"] == chain_id})
            for signer in signers:
                signer_recent[(chain_id, signer)] = pending[(chain_id, signer)] = 0
            params = {"chain_id": chain_id, "signers": signers, "window": window}
            for signer, recent, waiting in conn.execute(_SIGNER_COUNTS, params):
                signer_recent[(chain_id, signer)], pending[(chain_id, signer)] = int(recent), int(waiting)
        # The clients' by bounded counts (a client may have many requests in the window).
        clients = sorted({row["client"] for row in rows})
        counts = conn.execute(
            select(
                *(
                    _bounded_count(settings.client_quota, window, _REQUESTS.c.client == client).label(f"c{i}")
                    for i, client in enumerate(clients)
                )
            )
        ).one()
        client_recent = {client: int(counts[i]) for i, client in enumerate(clients)}
        refusals: dict[int, Refused] = {}
        for index, row in enumerate(rows):
            key, client = (row["chain_id"], row["signer"]), row["client"]
            try:
                if signer_recent[key] >= settings.signer_quota:
                    by_signer = (_REQUESTS.c.chain_id == key[0], _REQUESTS.c.signer == key[1])
                    oldest = self._oldest(conn, window, *by_signer)
                    who = f"signer {to_checksum_address(key[1])}"
                    self._quota(signer_recent[key], oldest, settings.signer_quota, now, who)
                if client_recent[client] >= settings.client_quota:
                    oldest = self._oldest(conn, window, _REQUESTS.c.client == client)
                    self._quota(client_recent[client], oldest, settings.client_quota, now, "this client")
                if pending[key] >= settings.max_pending_per_signer:
                    raise Refused(
                        f"{to_checksum_address(key[1])} has {pending[key]} requests waiting for the chain (at "
                        f"most {settings.max_pending_per_signer}); wait until they are mined",
                        status=429,
                        retry_after=2,
                    )
            except Refused as refused:
                refusals[index] = refused
                continue
            signer_recent[key] += 1
            client_recent[client] += 1
            pending[key] += 1
        return refusals

    async def _failure(self, chain_id: int, write: dict[str, Any]) -> str | None:
        """Why an `eth_call` of the write alone on the latest state fails, None when it succeeds."""
        try:
            await self.rpc(chain_id).call("eth_call", [write, "latest"])
        except RpcError as exc:
            return calls.revert_reason(exc.data, str(exc))
        return None

    async def _reason(self, chain_id: int, contract: str, call: calls.SignedCall, facts: ChainFacts) -> str:
        """Why the write fails after the signer's waiting requests (the batch simulation said it does)."""
        write = {"from": facts.relayer, "to": contract, "data": "0x" + call.calldata.hex()}
        failure = await self._failure(chain_id, write)
        if failure is None:
            return f"it fails after the signer's {len(facts.pending)} waiting request(s)"
        return f"{failure} (simulated after the signer's {len(facts.pending)} waiting request(s))"

    def _quota(self, recent: int, oldest: datetime | None, limit: int, now: datetime, who: str) -> None:
        if recent < limit:
            return
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        window = timedelta(seconds=self.settings.quota_window)
        retry = 1 if oldest is None else 1 + int((oldest + window - now).total_seconds())
        raise Refused(f"{who} reached its quota of {limit} requests", status=429, retry_after=max(retry, 1))

    # --- reading ------------------------------------------------------------------------------------------------

    def load(self, request_id: str) -> tuple[dict[str, Any], Any] | None:
        """The request row and its chain row (for the envelope), or None."""
        with self.reader.connect() as conn:
            row = conn.execute(select(_REQUESTS).where(_REQUESTS.c.id == request_id)).mappings().first()
            if row is None:
                return None
            chain = (
                conn.execute(select(_CHAINS).where(_CHAINS.c.chain_id == row["chain_id"])).mappings().first()
            )
            return dict(row), chain

    def sender(self, chain_id: int) -> dict[str, Any]:
        with self.reader.connect() as conn:
            row = conn.execute(select(_SENDERS).where(_SENDERS.c.chain_id == chain_id)).mappings().first()
            chain = conn.execute(select(_CHAINS).where(_CHAINS.c.chain_id == chain_id)).mappings().first()
        return {"sender": dict(row) if row else None, "chain": dict(chain) if chain else None}
