"""Test support for the indexer suite: anvil subprocesses, contract deployment with plain JSON-RPC, a seeded
random scenario, the contracts' views as the oracle, in-process indexing and canonical database dumps."""

from __future__ import annotations

import asyncio
import random
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from eth_abi import encode as abi_encode
from eth_utils import keccak
from sqlalchemy import select
from sqlalchemy.engine import Engine
from web3 import Web3

from indexer.ens import node_hex
from indexer.settings.indexer import ChainConfig, ContractConfig, IndexedChain, resolve_chain
from indexer.store import models
from indexer.store.db import create_db_engine
from indexer.store.migrate import upgrade
from indexer.sync.runner import index_chains

ROOT = Path(__file__).resolve().parents[2]
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"
PARENT = "op.dm3.eth"
GAS = 2_000_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RpcFailed(RuntimeError):
    pass


class Anvil:
    """An anvil node on a free loopback port (automine on)."""

    def __init__(self, *, chain_id: int) -> None:
        self.chain_id = chain_id
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                str(ANVIL),
                "--port",
                str(self.port),
                "--chain-id",
                str(chain_id),
                "--silent",
                "--accounts",
                "10",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.http = httpx.Client(timeout=30)
        deadline = time.monotonic() + 20
        while True:
            try:
                self.rpc("eth_chainId")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("anvil did not start") from None
                time.sleep(0.05)

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        body = self.http.post(
            self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
        )
        data = body.json()
        if data.get("error"):
            raise RpcFailed(f"{method}: {data['error']}")
        return data["result"]

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def receipt(self, tx: str) -> dict[str, Any]:
        """The receipt of ``tx`` (anvil mines right after answering eth_sendTransaction, so poll briefly)."""
        for _ in range(500):
            receipt = self.rpc("eth_getTransactionReceipt", [tx])
            if receipt is not None:
                return dict(receipt)
            time.sleep(0.002)
        raise RpcFailed(f"no receipt for {tx}")

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", [hex(blocks)])

    def stop(self) -> None:
        self.http.close()
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@dataclass
class Contract:
    name: str
    address: str
    block: int
    w3c: Any  # web3 contract bound to the address (used to encode calls and decode views)

    def data(self, fn: str, *args: Any) -> str:
        return str(self.w3c.encode_abi(fn, list(args)))

    def view(self, fn: str, *args: Any) -> Any:
        return getattr(self.w3c.functions, fn)(*args).call()


class Devnet:
    """ProfileRegistry + Dm3Token + InboxDeposits deployed on one anvil; transactions sent unlocked."""

    def __init__(
        self, anvil: Anvil, contract_types: dict[str, dict[str, Any]], *, cooldown: int = 60
    ) -> None:
        self.anvil = anvil
        self.types = contract_types
        self.w3 = Web3(Web3.HTTPProvider(anvil.url))
        self.accounts = [a.lower() for a in anvil.rpc("eth_accounts")]
        self.deployer = self.accounts[0]
        self.cooldown = cooldown
        self.registry = self._deploy("ProfileRegistry", ["string"], [PARENT])
        self.token = self._deploy("Dm3Token", ["address"], [self.deployer])
        self.deposits = self._deploy(
            "InboxDeposits", ["address", "uint256", "address"], [self.token.address, cooldown, self.deployer]
        )

    def _deploy(self, name: str, arg_types: list[str], args: list[Any]) -> Contract:
        ct = self.types[name]
        data = ct["bytecode"] + abi_encode(arg_types, args).hex()
        tx = self.anvil.rpc(
            "eth_sendTransaction", [{"from": self.deployer, "data": data, "gas": hex(10_000_000)}]
        )
        receipt = self.anvil.receipt(tx)
        address = receipt["contractAddress"].lower()
        w3c = self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=ct["abi"])
        return Contract(name, address, int(receipt["blockNumber"], 16), w3c)

    def tx_request(self, contract: Contract, sender: str, fn: str, *args: Any) -> dict[str, Any]:
        return {"from": sender, "to": contract.address, "data": contract.data(fn, *args), "gas": hex(GAS)}

    def send(self, contract: Contract, sender: str, fn: str, *args: Any) -> bool:
        """Send and mine one transaction; True if it succeeded (reverts are mined and reported False)."""
        tx = self.anvil.rpc("eth_sendTransaction", [self.tx_request(contract, sender, fn, *args)])
        receipt = self.anvil.receipt(tx)
        return bool(receipt["status"] == "0x1")

    def fund(self, amount: int = 10**26 // 20) -> None:
        for account in self.accounts:
            assert self.send(self.token, self.deployer, "mint", Web3.to_checksum_address(account), amount)
            assert self.send(
                self.token, account, "approve", Web3.to_checksum_address(self.deposits.address), 2**256 - 1
            )

    def spec(self, *, name: str = "op", **overrides: Any) -> IndexedChain:
        cfg = ChainConfig(
            name=name,
            chain_id=self.anvil.chain_id,
            rpc_url=overrides.pop("rpc_url", self.anvil.url),
            registry=ContractConfig(address=self.registry.address, start_block=self.registry.block),
            deposits=ContractConfig(address=self.deposits.address, start_block=self.deposits.block),
            parent_name=PARENT,
            **overrides,
        )
        return resolve_chain(cfg, ROOT / "deployments")


def contract_types(project: Any) -> dict[str, dict[str, Any]]:
    out = {}
    for name in ("ProfileRegistry", "InboxDeposits", "Dm3Token"):
        ct = project.get_contract(name).contract_type
        out[name] = {
            "abi": [item.model_dump(mode="json", by_alias=True) for item in ct.abi],
            "bytecode": ct.deployment_bytecode.bytecode,
        }
    return out


# --- scenario --------------------------------------------------------------------------------------------------


@dataclass
class Touched:
    """Every key the scenario may have written: the oracle compares exactly these (and the DB has no others)."""

    nodes: set[str] = field(default_factory=set)
    texts: set[tuple[str, str]] = field(default_factory=set)
    addrs: set[tuple[str, int]] = field(default_factory=set)
    contenthashes: set[str] = field(default_factory=set)
    primary: set[str] = field(default_factory=set)
    operators: set[tuple[str, str]] = field(default_factory=set)
    recipients: set[str] = field(default_factory=set)
    pairs: set[tuple[str, str]] = field(default_factory=set)
    succeeded: int = 0


LABELS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "x-1", "zz9"]
KEYS = ["network.dm3.profile", "email", "url", "avatar", "com.github"]
COINS = [60, 0, 2]


def cs(address: str) -> str:
    return Web3.to_checksum_address(address)


def address_node(account: str) -> str:
    return node_hex(f"{account[2:].lower()}.addr.{PARENT}")


def run_scenario(devnet: Devnet, *, seed: int, steps: int, touched: Touched | None = None) -> Touched:
    """A seeded random mix of registry and deposit writes; most succeed, some revert (and emit nothing)."""
    rng = random.Random(seed)
    t = touched or Touched()
    users = devnet.accounts[1:7]
    reg, dep = devnet.registry, devnet.deposits

    if touched is None:
        _prologue(devnet, t)

    def owned_nodes(account: str) -> list[str]:
        return [n for n in t.nodes if devnet.registry.view("owner", bytes.fromhex(n[2:])).lower() == account]

    for _ in range(steps):
        who = rng.choice(users)
        action = rng.choices(
            [
                "register",
                "text",
                "addr",
                "coin",
                "contenthash",
                "primary",
                "operator",
                "transfer",
                "addrname",
                "min",
                "deposit",
                "burn",
                "release",
                "request",
                "withdraw",
            ],
            weights=[6, 8, 3, 3, 2, 2, 2, 2, 4, 4, 10, 4, 2, 4, 4],
        )[0]
        ok = False
        if action == "register":
            label = rng.choice(LABELS)
            ok = devnet.send(reg, who, "register", label, cs(rng.choice(users)))
            t.nodes.add(node_hex(f"{label}.{PARENT}"))
        elif action in ("text", "addr", "coin", "contenthash", "transfer", "addrname"):
            mine = owned_nodes(who) if action != "addrname" else []
            node = rng.choice(mine) if mine and rng.random() < 0.9 else address_node(who)
            t.nodes.add(address_node(who))
            nb = bytes.fromhex(node[2:])
            if action in ("text", "addrname"):
                key = rng.choice(KEYS)
                value = "" if rng.random() < 0.15 else f"v{rng.randrange(10**6)}" * rng.randrange(1, 4)
                ok = devnet.send(reg, who, "setText", nb, key, value)
                t.texts.add((node, key))
            elif action == "addr":
                ok = devnet.send(reg, who, "setAddr", nb, cs(rng.choice(devnet.accounts)))
                t.addrs.add((node, 60))
            elif action == "coin":
                coin = rng.choice([0, 2])
                value = b"" if rng.random() < 0.2 else rng.randbytes(rng.choice([20, 25, 34, 40]))
                ok = devnet.send(reg, who, "setAddrForCoin", nb, coin, value)
                t.addrs.add((node, coin))
            elif action == "contenthash":
                value = b"" if rng.random() < 0.2 else b"\xe3\x01" + rng.randbytes(rng.choice([34, 40, 100]))
                ok = devnet.send(reg, who, "setContenthash", nb, value)
                t.contenthashes.add(node)
            else:  # transfer
                ok = devnet.send(reg, who, "setOwner", nb, cs(rng.choice(users)))
        elif action == "primary":
            ok = devnet.send(
                reg, who, "setPrimaryName", "" if rng.random() < 0.2 else f"{rng.choice(LABELS)}.{PARENT}"
            )
            t.primary.add(who)
        elif action == "operator":
            op = rng.choice(devnet.accounts)
            ok = devnet.send(reg, who, "setApprovalForAll", cs(op), rng.random() < 0.7)
            t.operators.add((who, op))
        elif action == "min":
            ok = devnet.send(dep, who, "set_min_deposit", rng.choice([0, 10**18, 5 * 10**18, 123456789]))
            t.recipients.add(who)
        else:
            other = rng.choice([u for u in users if u != who])
            mine = sorted(r for s, r in t.pairs if s == who)
            if action == "withdraw":
                mine = [
                    r for r in mine if any(dep.view("bonds", cs(who), cs(r))[1:])
                ]  # requested or accepted
            if action in ("request", "withdraw") and mine and rng.random() < 0.8:
                other = rng.choice(mine)  # usually act on a pair that has a bond
            if action == "deposit":
                amount = rng.choice([1, 10**18, 3 * 10**18, rng.randrange(1, 10**22)])
                ok = devnet.send(dep, who, "deposit", cs(other), amount)
                t.pairs.add((who, other))
            elif action == "burn":  # who = recipient burns other's bond
                bond = dep.view("bond", cs(other), cs(who))
                ok = devnet.send(dep, who, "burn", cs(other), rng.randrange(1, bond + 1) if bond else 1)
                t.pairs.add((other, who))
            elif action == "release":
                ok = devnet.send(dep, who, "release", cs(other))
                t.pairs.add((other, who))
            elif action == "request":
                ok = devnet.send(dep, who, "request_withdrawal", cs(other))
                t.pairs.add((who, other))
            else:  # withdraw, after the cooldown
                devnet.anvil.rpc("evm_increaseTime", [devnet.cooldown + 1])
                ok = devnet.send(dep, who, "withdraw", cs(other), cs(rng.choice(devnet.accounts)))
                t.pairs.add((who, other))
        t.succeeded += int(ok)
    return t


def _prologue(devnet: Devnet, t: Touched) -> None:
    """A fixed story emitting every event kind at least once, so no seed can leave one untested."""
    reg, dep = devnet.registry, devnet.deposits
    a, b, c = devnet.accounts[1:4]
    node = node_hex(f"prologue.{PARENT}")
    nb = bytes.fromhex(node[2:])
    steps = [
        (reg, a, "register", "prologue", cs(a)),
        (reg, a, "setText", nb, "network.dm3.profile", "data:application/json,{}"),
        (reg, a, "setAddr", nb, cs(b)),
        (reg, a, "setAddrForCoin", nb, 0, b"\x00" * 25),
        (reg, a, "setContenthash", nb, b"\xe3\x01" + b"\x11" * 34),
        (reg, a, "setPrimaryName", f"prologue.{PARENT}"),
        (reg, a, "setApprovalForAll", cs(b), True),
        (reg, b, "setText", nb, "url", "https://example.org"),  # as operator
        (reg, a, "setOwner", nb, cs(c)),
        (reg, b, "setText", bytes.fromhex(address_node(b)[2:]), "email", "b@example.org"),  # address name
        (dep, c, "set_min_deposit", 10**18),
        (dep, a, "deposit", cs(c), 2 * 10**18),
        (dep, c, "burn", cs(a), 10**18 // 2),
        (dep, a, "request_withdrawal", cs(c)),
        ("warp",),
        (dep, a, "withdraw", cs(c), cs(b)),
        (dep, b, "deposit", cs(c), 10**18),
        (dep, c, "release", cs(b)),
        (dep, b, "withdraw", cs(c), cs(b)),
    ]
    for step in steps:
        if step[0] == "warp":
            devnet.anvil.rpc("evm_increaseTime", [devnet.cooldown + 1])
            continue
        contract, sender, fn, *args = step
        assert devnet.send(contract, sender, fn, *args), (fn, args)  # type: ignore[arg-type]
        t.succeeded += 1
    t.nodes |= {node, address_node(b)}
    t.texts |= {(node, "network.dm3.profile"), (node, "url"), (address_node(b), "email")}
    t.addrs |= {(node, 60), (node, 0)}
    t.contenthashes.add(node)
    t.primary.add(a)
    t.operators.add((a, b))
    t.recipients.add(c)
    t.pairs |= {(a, c), (b, c)}


# --- oracle ----------------------------------------------------------------------------------------------------


def assert_matches_views(devnet: Devnet, engine: Engine, touched: Touched) -> None:
    """Every indexed row equals the contracts' views, and every touched key absent from the DB is empty there."""
    cid = devnet.anvil.chain_id
    reg, dep = devnet.registry, devnet.deposits
    with engine.connect() as conn:

        def rows(model: Any) -> list[Any]:
            table = model.__table__
            return list(conn.execute(select(table).where(table.c.chain_id == cid)).mappings())

        names = {r["node"]: r for r in rows(models.Name)}
        texts = {(r["node"], r["key"]): r["value"] for r in rows(models.TextRecord)}
        addrs = {(r["node"], r["coin_type"]): r["address"] for r in rows(models.AddrRecord)}
        hashes = {r["node"]: r["hash"] for r in rows(models.Contenthash)}
        primary = {r["account"]: r["name"] for r in rows(models.PrimaryName)}
        operators = {(r["owner"], r["operator"]): r["approved"] for r in rows(models.Operator)}
        mins = {r["recipient"]: r["amount"] for r in rows(models.MinDeposit)}
        bonds = {(r["sender"], r["recipient"]): r for r in rows(models.Bond)}

    b = lambda h: bytes.fromhex(h[2:])  # noqa: E731
    for node in touched.nodes | set(names):
        owner = reg.view("owner", b(node)).lower()
        if owner == "0x" + "0" * 40:
            assert node not in names, node
        else:
            assert names[node]["owner"] == owner, node
            assert names[node]["name"] is not None and node_hex(names[node]["name"]) == node
    assert set(names) <= touched.nodes
    for node, key in touched.texts | set(texts):
        assert texts.get((node, key), "") == reg.view("text", b(node), key), (node, key)
    for node, coin in touched.addrs | set(addrs):
        assert addrs.get((node, coin), "0x") == "0x" + reg.view("addrForCoin", b(node), coin).hex(), (
            node,
            coin,
        )
    for node in touched.contenthashes | set(hashes):
        assert hashes.get(node, "0x") == "0x" + reg.view("contenthash", b(node)).hex(), node
    for account in touched.primary | set(primary):
        assert primary.get(account, "") == reg.view("primaryName", cs(account)), account
    for owner, op in touched.operators | set(operators):
        assert operators.get((owner, op), False) == reg.view("isApprovedForAll", cs(owner), cs(op)), (
            owner,
            op,
        )
    for recipient in touched.recipients | set(mins):
        assert mins.get(recipient, 0) == dep.view("min_deposit", cs(recipient)), recipient
    for sender, recipient in touched.pairs | set(bonds):
        amount, unlock_time, accepted = dep.view("bonds", cs(sender), cs(recipient))
        row = bonds.get((sender, recipient))
        if row is None:
            assert (amount, unlock_time, accepted) == (0, 0, False), (sender, recipient)
        else:
            assert (row["amount"], row["unlock_time"] or 0, row["accepted"]) == (
                amount,
                unlock_time,
                accepted,
            )


# --- indexing and dumps ----------------------------------------------------------------------------------------


def fresh_engine(url: str) -> Engine:
    engine = create_db_engine(url, role="writer")
    upgrade(engine)
    return engine


def index_once(engine: Engine, specs: list[IndexedChain]) -> dict[str, BaseException | None]:
    """`dm3-indexer sync` in-process: backfill every chain to its head, then return."""
    return asyncio.run(index_chains(specs, engine=engine, follow=False, stop=asyncio.Event()))


def sync_ok(engine: Engine, specs: list[IndexedChain]) -> None:
    outcome = index_once(engine, specs)
    failed = {k: v for k, v in outcome.items() if v is not None}
    assert not failed, failed


DUMP_TABLES = [
    models.Name,
    models.TextRecord,
    models.AddrRecord,
    models.Contenthash,
    models.PrimaryName,
    models.Operator,
    models.MinDeposit,
    models.Bond,
    models.BondHistory,
    models.Event,
    models.Block,
]


def dump(engine: Engine, chain_id: int) -> dict[str, Any]:
    """Canonical content of one chain (event ids, timestamps of our own writes and the undo log excluded)."""
    out: dict[str, Any] = {}
    with engine.connect() as conn:
        for model in DUMP_TABLES:
            table = model.__table__  # type: ignore[attr-defined]
            cols = [c for c in table.c if c.name != "id"]
            result = conn.execute(select(*cols).where(table.c.chain_id == chain_id))
            out[table.name] = sorted((tuple(sorted(dict(r).items())) for r in result.mappings()), key=repr)
        chain = (
            conn.execute(select(models.Chain.__table__).where(models.Chain.__table__.c.chain_id == chain_id))
            .mappings()
            .one()
        )  # type: ignore[attr-defined]
        out["checkpoint"] = (chain["indexed_block"], chain["indexed_block_hash"])
    return out


def topic(signature: str) -> str:
    return "0x" + keccak(text=signature).hex()


class BackgroundIndexer:
    """`dm3-indexer run` in-process, in a thread with its own event loop: ``with BackgroundIndexer(...) as ix:``."""

    def __init__(self, engine: Engine, specs: list[IndexedChain]) -> None:
        self.engine = engine
        self.specs = specs
        self.outcome: dict[str, BaseException | None] | None = None
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self.outcome = self._loop.run_until_complete(
            index_chains(self.specs, engine=self.engine, follow=True, stop=self._stop)
        )

    def __enter__(self) -> BackgroundIndexer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        self._loop.close()
        assert self.outcome is not None and not any(self.outcome.values()), self.outcome

    def indexed(self, chain_id: int) -> tuple[int | None, str | None]:
        with self.engine.connect() as conn:
            table = models.Chain.__table__  # type: ignore[attr-defined]
            row = conn.execute(select(table).where(table.c.chain_id == chain_id)).mappings().first()
        return (row["indexed_block"], row["indexed_block_hash"]) if row else (None, None)

    def wait_for_head(self, anvil: Anvil, timeout: float = 20.0) -> None:
        """Until the indexed block is anvil's latest block (same hash)."""
        deadline = time.monotonic() + timeout
        while True:
            latest = anvil.rpc("eth_getBlockByNumber", ["latest", False])
            if self.indexed(anvil.chain_id) == (int(latest["number"], 16), latest["hash"]):
                return
            assert time.monotonic() < deadline, "indexer did not reach the head"
            time.sleep(0.02)


def chain_row(engine: Engine, chain_id: int) -> Any:
    """The `chains` row of `chain_id` as a mapping (empty when there is none)."""
    with engine.connect() as conn:
        table = models.Chain.__table__  # type: ignore[attr-defined]
        return conn.execute(select(table).where(table.c.chain_id == chain_id)).mappings().first() or {}


def bond_amount(engine: Engine, sender: str, recipient: str) -> int | None:
    """The indexed bond of a pair (None when the pair has no row)."""
    with engine.connect() as conn:
        table = models.Bond.__table__  # type: ignore[attr-defined]
        return conn.execute(
            select(table.c.amount).where(table.c.sender == sender, table.c.recipient == recipient)
        ).scalar()
