"""Consistency under writes on PostgreSQL: two API processes read while the real indexer follows an anvil chain
through a reorg, and no answer ever mixes two blocks.

Every block of the run carries two transactions: the recipient sets its minimum deposit to `block * 1000 + branch`
and the sender tops up its bond, so each block leaves a (minimum, bond) pair that no other block leaves, on the
original branch and on the branch `anvil_reorg` replaces it with. Readers poll single and batch eligibility and
`/v1/status` on both API processes; every answer's envelope names a block hash, and the minimum and bond it reports
must be exactly what that block left (read from the contract's views at that block). An answer whose envelope was
read before an indexer commit and whose rows after it (or the reverse) fails the check.

PostgreSQL from `DM3_TEST_DATABASE_URL` (default `postgresql+psycopg://postgres@127.0.0.1:5432/test`), in a fresh
schema dropped afterwards; skipped with the reason when no server answers.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from harness.devnet import ROOT, Anvil, Devnet, contract_types, cs, free_port
from harness.indexer import fresh_engine
from indexer.sync.runner import index_chains

CHAIN_ID = 31_337_010
BLOCKS_BEFORE, REORG_DEPTH, BLOCKS_AFTER = 30, 6, 12
BRANCH_ORIGINAL, BRANCH_REPLACEMENT = 1, 2


@pytest.fixture(scope="module")
def compiled(project: Any) -> dict[str, dict[str, Any]]:
    return contract_types(project)


# --- the chain side --------------------------------------------------------------------------------------------


@dataclass
class Ledger:
    """What each block left: block hash -> (number, minimum, bond); plus which hashes the reorg orphaned."""

    blocks: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    orphaned: set[str] = field(default_factory=set)
    replacement: set[str] = field(default_factory=set)


def _record(devnet: Devnet, ledger: Ledger, number: int, *, sender: str, recipient: str) -> str:
    block = devnet.anvil.rpc("eth_getBlockByNumber", [hex(number), False])
    dep = devnet.deposits.w3c.functions
    minimum = dep.min_deposit(cs(recipient)).call(block_identifier=number)
    bond = dep.bond(cs(sender), cs(recipient)).call(block_identifier=number)
    ledger.blocks[block["hash"]] = (number, minimum, bond)
    return str(block["hash"])


def _block_txs(
    devnet: Devnet, number: int, branch: int, *, sender: str, recipient: str
) -> list[dict[str, Any]]:
    return [
        devnet.tx_request(devnet.deposits, recipient, "set_min_deposit", number * 1000 + branch),
        devnet.tx_request(devnet.deposits, sender, "deposit", cs(recipient), number * 10 + branch),
    ]


def _mine_block(devnet: Devnet, ledger: Ledger, branch: int, *, sender: str, recipient: str) -> None:
    number = devnet.anvil.block_number() + 1
    hashes = [
        devnet.anvil.rpc("eth_sendTransaction", [tx])
        for tx in _block_txs(devnet, number, branch, sender=sender, recipient=recipient)
    ]
    devnet.anvil.rpc("evm_mine")
    assert all(devnet.anvil.receipt(h)["status"] == "0x1" for h in hashes)
    _record(devnet, ledger, number, sender=sender, recipient=recipient)


def _reorg(devnet: Devnet, ledger: Ledger, *, sender: str, recipient: str) -> None:
    head = devnet.anvil.block_number()
    first = head - REORG_DEPTH + 1
    old = {
        str(devnet.anvil.rpc("eth_getBlockByNumber", [hex(n), False])["hash"]) for n in range(first, head + 1)
    }
    replacement = [
        [tx, offset]
        for offset in range(REORG_DEPTH)
        for tx in _block_txs(devnet, first + offset, BRANCH_REPLACEMENT, sender=sender, recipient=recipient)
    ]
    devnet.anvil.rpc("anvil_reorg", [REORG_DEPTH, replacement])
    assert devnet.anvil.block_number() == head
    ledger.orphaned |= old
    for number in range(first, head + 1):
        ledger.replacement.add(_record(devnet, ledger, number, sender=sender, recipient=recipient))
    assert not ledger.orphaned & ledger.replacement


# --- the processes -----------------------------------------------------------------------------------------------


class Indexer:
    """The real indexer following the chain in a thread (its own event loop), writing to PostgreSQL."""

    def __init__(self, engine: Engine, spec: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.outcome: Any = None
        self.thread = threading.Thread(target=self._run, args=(engine, spec), daemon=True)
        self.thread.start()

    def _run(self, engine: Engine, spec: Any) -> None:
        async def main() -> Any:
            self.stop_event = asyncio.Event()
            return await index_chains([spec], engine=engine, follow=True, stop=self.stop_event)

        self.outcome = self.loop.run_until_complete(main())

    def stop(self) -> Any:
        while self.stop_event is None:
            time.sleep(0.01)
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(30)
        assert not self.thread.is_alive(), "indexer did not stop"
        return self.outcome


@pytest.fixture
def api_servers(pg_url: str) -> Iterator[list[str]]:
    """Two uvicorn processes serving the real app from the same PostgreSQL."""
    ports = [free_port(), free_port()]
    env = {**os.environ, "DM3_DATABASE_URL": pg_url}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "indexer.api", "--port", str(port), "--log-level", "warning"],
            env=env,
            cwd=ROOT,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url, proc in zip(urls, procs, strict=True):
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, "API process did not start"
                time.sleep(0.1)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@dataclass
class Answer:
    kind: str
    url: str
    block_number: int | None
    block_hash: str | None
    minimum: int | None = None
    bond: int | None = None


class Readers:
    """Threads polling single and batch eligibility and status on every API process until stopped."""

    def __init__(self, urls: list[str], *, sender: str, recipient: str, chain_id: int) -> None:
        self.urls, self.sender, self.recipient, self.chain_id = urls, sender, recipient, chain_id
        self.answers: list[Answer] = []
        self.errors: list[str] = []
        self.done = threading.Event()
        self.threads = [
            threading.Thread(target=self._poll, args=(url, kind), daemon=True)
            for url in urls
            for kind in ("single", "batch", "status")
        ]
        for thread in self.threads:
            thread.start()

    def _poll(self, url: str, kind: str) -> None:
        params = {"sender": self.sender, "recipient": self.recipient, "chain_id": self.chain_id}
        batch = {
            "pairs": [{"sender": self.sender, "recipient": self.recipient}] * 2,
            "chain_id": self.chain_id,
        }
        with httpx.Client(base_url=url, timeout=10) as client:
            while not self.done.is_set():
                try:
                    if kind == "single":
                        self._eligibility(url, kind, [client.get("/v1/eligibility", params=params).json()])
                    elif kind == "batch":
                        self._eligibility(
                            url, kind, client.post("/v1/eligibility", json=batch).json()["data"]
                        )
                    else:
                        for chain in client.get("/v1/status").json()["data"]:
                            self.answers.append(
                                Answer(kind, url, chain["indexed_block"], chain["indexed_block_hash"])
                            )
                except (httpx.HTTPError, KeyError, ValueError) as exc:
                    self.errors.append(f"{kind} {url}: {exc!r}")
                    time.sleep(0.05)

    def _eligibility(self, url: str, kind: str, bodies: list[dict[str, Any]]) -> None:
        for body in bodies:
            if not body.get("chains"):
                self.errors.append(f"{kind} {url}: no chain in {body}")
                continue
            (chain,) = body["chains"]
            envelope = chain["envelope"]
            self.answers.append(
                Answer(
                    kind,
                    url,
                    envelope["block_number"],
                    envelope["block_hash"],
                    int(chain["min_deposit"]),
                    int(chain["bond"]),
                )
            )

    def _batch(self, url: str, data: list[dict[str, Any]]) -> None:
        """The pair's two answers are checked like single ones; the rest must agree with them."""
        self._eligibility(url, "batch", data[:2])
        reverse, names = data[2], data[3:]
        envelopes = {str(d["chains"][0]["envelope"]) for d in data[:3]}
        if len(envelopes) != 1 or (reverse["chains"][0]["bond"], reverse["chains"][0]["min_deposit"]) != (
            "0",
            "0",
        ):
            self.errors.append(
                f"batch {url}: one batch, several envelopes or a bond on the reverse pair: {data[:3]}"
            )
        if any(d["reason"] != "unknown_sender" for d in names):
            self.errors.append(f"batch {url}: unregistered names resolved: {names}")

    def stop(self) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(15)


# --- the test ------------------------------------------------------------------------------------------------------


def _wait_until_indexed(url: str) -> None:
    """Until the indexer has written its chain row and a first checkpoint (before that, eligibility is a 404)."""
    deadline = time.monotonic() + 30
    while not any(c["indexed_block"] is not None for c in httpx.get(f"{url}/v1/status").json()["data"]):
        assert time.monotonic() < deadline, "the indexer wrote no checkpoint"
        time.sleep(0.05)


def test_two_api_processes__during_writes_and_a_reorg__no_answer_mixes_two_blocks(
    compiled: dict[str, dict[str, Any]], pg_url: str, api_servers: list[str]
) -> None:
    anvil = Anvil(chain_id=CHAIN_ID)
    engine: Engine | None = None
    indexer: Indexer | None = None
    readers: Readers | None = None
    try:
        devnet = Devnet(anvil, compiled)
        devnet.fund()
        sender, recipient = devnet.accounts[1], devnet.accounts[2]
        ledger = Ledger()
        first = devnet.anvil.block_number()  # blocks up to here: no minimum, no bond yet
        for number in range(devnet.deposits.block, first + 1):
            _record(devnet, ledger, number, sender=sender, recipient=recipient)

        engine = fresh_engine(pg_url)
        spec = devnet.spec(reorg_window=32, poll_interval=0.02, concurrency=2)
        indexer = Indexer(engine, spec)
        _wait_until_indexed(api_servers[0])
        readers = Readers(api_servers, sender=sender, recipient=recipient, chain_id=CHAIN_ID)

        anvil.rpc("evm_setAutomine", [False])
        for _ in range(BLOCKS_BEFORE):
            _mine_block(devnet, ledger, BRANCH_ORIGINAL, sender=sender, recipient=recipient)
            time.sleep(0.05)
        time.sleep(0.5)  # let the readers see the branch that is about to be replaced
        _reorg(devnet, ledger, sender=sender, recipient=recipient)
        for _ in range(BLOCKS_AFTER):
            _mine_block(devnet, ledger, BRANCH_ORIGINAL, sender=sender, recipient=recipient)
            time.sleep(0.05)

        head = str(anvil.rpc("eth_getBlockByNumber", ["latest", False])["hash"])
        deadline = time.monotonic() + 30
        while not any(a.block_hash == head for a in readers.answers[-50:] if a.kind == "single"):
            assert time.monotonic() < deadline, "the API never served the chain head"
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        if readers is not None:
            readers.stop()
        outcome = indexer.stop() if indexer is not None else None
        if engine is not None:
            engine.dispose()
        anvil.stop()
    assert outcome == {"op": None}

    # No answer mixes two blocks: the rows each answer reports are exactly those of its envelope's block.
    mixed = []
    for answer in readers.answers:
        if answer.block_hash is None:
            continue
        assert answer.block_hash in ledger.blocks, f"unknown block in {answer}"
        number, minimum, bond = ledger.blocks[answer.block_hash]
        expected = (number, minimum, bond) if answer.kind != "status" else (number, None, None)
        if (answer.block_number, answer.minimum, answer.bond) != expected:
            mixed.append((answer, expected))
    assert not mixed, f"{len(mixed)} answers mix blocks, e.g. {mixed[:3]}"

    # The check saw something: both processes, every kind, many blocks, both sides of the reorg.
    assert not readers.errors, readers.errors[:5]
    eligibility = [a for a in readers.answers if a.kind != "status" and a.block_hash is not None]
    assert {(a.url, a.kind) for a in readers.answers} == {
        (url, kind) for url in api_servers for kind in ("single", "batch", "status")
    }
    assert len({a.block_hash for a in eligibility}) >= 10
    assert any(a.block_hash in ledger.orphaned for a in eligibility), "no answer from the replaced branch"
    assert any(a.block_hash in ledger.replacement for a in eligibility), "no answer from the replacement"
    assert all(m % 1000 in (BRANCH_ORIGINAL, BRANCH_REPLACEMENT) for *_, m, _ in ledger.blocks.values() if m)
