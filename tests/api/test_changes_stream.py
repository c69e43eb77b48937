"""The change feed end to end: anvil -> indexer (following the head) -> API (uvicorn) -> SSE / long poll -> client.

A deposit shows up in `/v1/eligibility` and in the stream; a reorg that removes it emits its rollback; a client
that reconnects (the server restarted meanwhile) gets exactly the missed changes; the client's EligibilityCache
equals the API after a seeded random mix of deposit operations and reorgs.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from harness.devnet import Anvil, Devnet, contract_types, cs, free_port
from harness.indexer import BackgroundIndexer, fresh_engine
from indexer.api.main import create_app
from indexer.api.names import parse_target
from indexer.api.queries.eligibility import address_pair_eligibility
from indexer.api.state import read_all
from indexer.client import AsyncDm3Client, ChangeOut, Dm3Client, EligibilityCache
from indexer.settings.api import ApiSettings
from indexer.store.db import create_db_engine

CHAIN_ID = 31_011
ETHER = 10**18


class ApiServer:
    """The API under uvicorn in a thread, on a fixed port so that it can be stopped and started again."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self.app: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # The in-memory eligibility state is opt-in; this server runs with it so that its tests below see it.
        app = self.app = create_app(ApiSettings(database_url=self.database_url, memory_state=True))
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "API did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(10)


def wait_until(predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


class Collector:
    """Reads `api.changes(...)` in a thread (auto-reconnecting) into a list."""

    def __init__(self, api: Dm3Client, **kwargs: Any) -> None:
        self.changes: list[ChangeOut] = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(api, kwargs), daemon=True)
        self._thread.start()

    def _run(self, api: Dm3Client, kwargs: dict[str, Any]) -> None:
        try:
            for change in api.changes(**kwargs):
                self.changes.append(change)
        except BaseException as exc:  # the client was closed at the end of the test
            self.error = exc

    def find(self, **fields: Any) -> ChangeOut | None:
        for change in self.changes:
            if all(getattr(change, k) == v for k, v in fields.items()):
                return change
        return None


@pytest.fixture
def world(project: Any, tmp_path: Path) -> Iterator[tuple[Devnet, BackgroundIndexer, ApiServer]]:
    anvil = Anvil(chain_id=CHAIN_ID)
    try:
        devnet = Devnet(anvil, contract_types(project))
        devnet.fund()
        url = f"sqlite:///{tmp_path / 'dm3.db'}"
        engine = fresh_engine(url)
        spec = devnet.spec(reorg_window=16, poll_interval=0.1, ws_poll_interval=0.5)
        server = ApiServer(url)
        with BackgroundIndexer(engine, [spec]) as indexer:
            indexer.wait_for_head(anvil)
            server.start()
            try:
                yield devnet, indexer, server
            finally:
                server.stop()
        engine.dispose()
    finally:
        anvil.stop()


def latest_block(devnet: Devnet) -> dict[str, Any]:
    return dict(devnet.anvil.rpc("eth_getBlockByNumber", ["latest", False]))


def test_changes__deposit__reorg_rollback__reconnect_gets_exactly_the_missed(
    world: tuple[Devnet, BackgroundIndexer, ApiServer],
) -> None:
    devnet, indexer, server = world
    dep = devnet.deposits
    sender, recipient = devnet.accounts[7], devnet.accounts[8]
    api = Dm3Client(server.url, timeout=10, backoff=0.05)
    try:
        start = api.poll_changes(timeout=0).next_cursor
        stream = Collector(api, cursor=start, recipient=recipient)

        assert devnet.send(dep, recipient, "set_min_deposit", ETHER)
        assert devnet.send(dep, sender, "deposit", cs(recipient), 2 * ETHER)
        block = latest_block(devnet)
        wait_until(lambda: api.eligibility(sender, recipient).eligible)
        deposit = wait_until(lambda: stream.find(event="Deposited", action="apply"))
        assert (deposit.chain_id, deposit.block_number, deposit.block_hash) == (
            CHAIN_ID,
            int(block["number"], 16),
            block["hash"],
        )
        assert (deposit.kind, deposit.sender, deposit.recipient, deposit.finality) == (
            "deposit",
            sender,
            recipient,
            "latest",
        )
        assert deposit.args["bond"] == str(2 * ETHER)
        assert [c.kind for c in stream.changes] == ["min_deposit", "deposit"]

        # A reorg removes the deposit's block: the stream says so, the API no longer counts the deposit.
        devnet.anvil.rpc("anvil_reorg", [1, []])
        rollback = wait_until(lambda: stream.find(action="rollback"))
        assert (rollback.ref_id, rollback.kind, rollback.block_hash) == (
            deposit.id,
            "deposit",
            deposit.block_hash,
        )
        assert rollback.id > deposit.id
        assert not api.eligibility(sender, recipient).eligible

        # The server goes away; changes keep being indexed; the client reconnects from its last change id.
        seen = len(stream.changes)
        last = stream.changes[-1].id
        server.stop()
        assert devnet.send(dep, sender, "deposit", cs(recipient), ETHER)
        assert devnet.send(dep, recipient, "burn", cs(sender), ETHER // 2)
        assert devnet.send(dep, devnet.accounts[6], "deposit", cs(recipient), ETHER)
        indexer.wait_for_head(devnet.anvil)
        server.start()
        wait_until(lambda: len(stream.changes) >= seen + 3)
        time.sleep(0.5)  # anything extra (a duplicate) would arrive now

        truth = api.poll_changes(cursor=start, recipient=recipient, timeout=0).data
        assert [c.id for c in stream.changes] == [c.id for c in truth]  # no gap, no duplicate, same order
        assert [c for c in stream.changes] == truth
        missed = [c.id for c in truth if c.id > last]
        assert [c.kind for c in truth if c.id > last] == ["deposit", "burn", "deposit"]
        # The same through the long poll, and through a fresh SSE stream resumed with Last-Event-ID.
        assert [c.id for c in api.poll_changes(cursor=last, recipient=recipient, timeout=0).data] == missed
        resumed = api.changes(cursor=last, recipient=recipient, reconnect=False)
        assert [next(resumed).id for _ in missed] == missed
        assert api.poll_changes(cursor=missed[-1], recipient=recipient, timeout=0.3).data == []
    finally:
        api.close()


def test_changes__poll__waits_for_a_change_and_validates_input(
    world: tuple[Devnet, BackgroundIndexer, ApiServer],
) -> None:
    devnet, _, server = world
    api = Dm3Client(server.url, timeout=10)
    try:
        cursor = api.poll_changes(timeout=0).next_cursor
        timer = threading.Timer(0.3, devnet.send, (devnet.deposits, devnet.accounts[5], "set_min_deposit", 7))
        timer.start()
        started = time.monotonic()
        page = api.poll_changes(cursor=cursor, timeout=10, kinds=["min_deposit"])
        assert time.monotonic() - started < 3
        assert [(c.kind, c.recipient, c.args["amount"]) for c in page.data] == [
            ("min_deposit", devnet.accounts[5], "7")
        ]
        assert page.next_cursor == page.data[-1].id and page.chains[0].chain_id == CHAIN_ID
        for params in ({"kinds": "nope"}, {"sender": "0x12"}, {"cursor": "-1"}):
            response = httpx.get(f"{server.url}/v1/changes/poll", params={**params, "timeout": 0})
            assert response.status_code == 422, params
        assert httpx.get(f"{server.url}/v1/changes", params={"chain_id": 999}).status_code == 404
        response = httpx.get(f"{server.url}/v1/changes", headers={"Last-Event-ID": "abc"})
        assert response.status_code == 422

        async def first_async() -> ChangeOut:  # the asyncio client replays the same change
            async with AsyncDm3Client(server.url) as client:
                async for change in client.changes(cursor=cursor, kinds=["min_deposit"], reconnect=False):
                    return change
            raise AssertionError("stream ended")

        assert asyncio.run(first_async()) == page.data[0]
    finally:
        api.close()


def random_deposit_step(
    devnet: Devnet, rng: random.Random, senders: list[str], recipients: list[str]
) -> bool:
    """One random InboxDeposits write between a random sender and recipient; False: the step is a reorg (the
    caller brings it about, after the blocks so far are indexed)."""
    dep, s, r = devnet.deposits, rng.choice(senders), rng.choice(recipients)
    action = rng.choices(
        ["deposit", "burn", "release", "request", "withdraw", "min", "reorg"], weights=[8, 4, 1, 2, 2, 2, 3]
    )[0]
    if action == "deposit":
        devnet.send(dep, s, "deposit", cs(r), rng.choice([ETHER // 2, ETHER, 2 * ETHER]))
    elif action == "burn":
        devnet.send(dep, r, "burn", cs(s), rng.choice([ETHER // 4, ETHER]))
    elif action == "release":
        devnet.send(dep, r, "release", cs(s))
    elif action == "request":
        devnet.send(dep, s, "request_withdrawal", cs(r))
    elif action == "withdraw":
        devnet.anvil.rpc("evm_increaseTime", [devnet.cooldown + 1])
        devnet.send(dep, s, "withdraw", cs(r), cs(s))
    elif action == "min":
        devnet.send(dep, r, "set_min_deposit", rng.choice([0, ETHER, 3 * ETHER]))
    else:
        return False
    return True


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_eligibility_cache__equals_the_api_after_random_operations_and_reorgs(
    world: tuple[Devnet, BackgroundIndexer, ApiServer], seed: int
) -> None:
    devnet, indexer, server = world
    dep, rng = devnet.deposits, random.Random(seed)
    senders, recipients = devnet.accounts[1:4], devnet.accounts[4:7]
    pairs = [(s, r) for s in senders for r in recipients]
    for r in recipients:
        assert devnet.send(dep, r, "set_min_deposit", ETHER)
    indexer.wait_for_head(devnet.anvil)
    api = Dm3Client(server.url, timeout=10, backoff=0.05)
    cache = EligibilityCache(api)
    try:
        cache.track(pairs)

        def follow() -> None:
            with contextlib.suppress(RuntimeError):  # "client has been closed": the test is over
                cache.follow()

        threading.Thread(target=follow, daemon=True).start()

        def check() -> None:
            indexer.wait_for_head(devnet.anvil)
            latest = api.poll_changes(timeout=0).next_cursor
            wait_until(lambda: cache.cursor is not None and cache.cursor >= latest)
            answers = api.eligibility_batch(pairs)
            assert [cache.eligible(s, r) for s, r in pairs] == [a.eligible for a in answers]

        flips = 0
        for step in range(60):
            if not random_deposit_step(devnet, rng, senders, recipients):
                # The blocks are indexed (and streamed) before they vanish.
                indexer.wait_for_head(devnet.anvil)
                devnet.anvil.rpc("anvil_reorg", [rng.randint(1, 3), []])
                flips += 1
            if step % 6 == 5:
                check()
        check()
        assert flips > 0 and cache.refetches > 1  # rollbacks were exercised
    finally:
        api.close()


@pytest.mark.parametrize("seed", [4, 5])
def test_eligibility_state__equals_the_database_after_random_operations_and_reorgs(
    world: tuple[Devnet, BackgroundIndexer, ApiServer], seed: int
) -> None:
    """The API's in-memory state (indexer.api.state), fed by the real indexer's change rows, holds exactly the
    database's minimums and bonds after every mix of deposit operations and reorgs, by updates (not reloads);
    and every `GET /v1/eligibility` it answers is the database path's answer, byte for byte."""
    devnet, indexer, server = world
    rng = random.Random(seed)
    senders, recipients = devnet.accounts[1:4], devnet.accounts[4:7]
    pairs = [(s, r) for s in senders for r in recipients] + [(devnet.accounts[8], recipients[0])]
    state = server.app.state.eligibility_state
    reader = create_db_engine(server.database_url, role="reader")
    http = httpx.Client(base_url=server.url, timeout=10)

    def same_as_database() -> bool:
        snapshot = state.snapshot()
        return snapshot is not None and snapshot == read_all(reader)  # every row it keeps (not the memo)

    def answers_match() -> bool:
        for s, r in pairs:
            served = http.get("/v1/eligibility", params={"sender": s, "recipient": r}).content
            read = address_pair_eligibility(
                reader,
                sender=parse_target(s, what="sender"),
                recipient=parse_target(r, what="recipient"),
                chain_id=None,
                min_finality="latest",
            )
            if served != read.model_dump_json().encode():
                return False
        return True

    def check() -> None:
        indexer.wait_for_head(devnet.anvil)
        wait_until(same_as_database)
        wait_until(answers_match)

    try:
        wait_until(lambda: state.snapshot() is not None)
        loads = state.loads
        flips = 0
        for step in range(60):
            if not random_deposit_step(devnet, rng, senders, recipients):
                indexer.wait_for_head(devnet.anvil)
                devnet.anvil.rpc("anvil_reorg", [rng.randint(1, 3), []])
                flips += 1
            if step % 6 == 5:
                check()
        check()
        facts = read_all(reader).facts
        assert flips > 0 and facts.bonds and facts.minimums  # rollbacks and rows were exercised
        assert state.loads == loads and state.refreshes > 0  # kept by updates, never reloaded
    finally:
        http.close()
        reader.dispose()
