"""The backfill's fetch process (indexer/sync/fetch_process.py), against a real anvil and real SQLite.

The child takes ~0.4 s to start, and until it is ready the parent fetches in-process: the tests that need the
child to serve chunks slow the PARENT's in-process ``LogFetcher.chunk`` (the child is another interpreter, the
patch does not reach it) and count the chunks the child answered (``FetchProcess.chunk`` returning).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.engine import Engine

from harness.devnet import Anvil, Devnet, free_port
from harness.indexer import Touched, assert_matches_views, dump, fresh_engine, run_scenario, sync_ok
from indexer.chain.abi import ContractKind, stored_args_json
from indexer.chain.rpc import RetryPolicy, RpcClient, RpcError, RpcUnreachable
from indexer.sync import fetch_process
from indexer.sync.fetch import AdaptiveRange, Chunk, LogFetcher
from indexer.sync.fetch_process import FetchParams, FetchProcess, FetchProcessGone

#: Small spans, a small window: a devnet chain of ~150 blocks is mostly below the window, in many chunks.
SMALL: dict[str, Any] = {"initial_block_range": 5, "max_block_range": 9, "concurrency": 3, "reorg_window": 4}
SECRET = "SECRETKEY123"
MODULE = b"indexer.sync.fetch_process"
GONE_WARNING = "fetch process ended; fetching in the indexer process"


# --- helpers ---------------------------------------------------------------------------------------------------


def fetch_children(parent: int | None = None) -> list[int]:
    """Pids of the fetch processes whose parent is ``parent`` (this process): running, or exited and not reaped."""
    parent = os.getpid() if parent is None else parent
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        comm, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        state, ppid = rest[0], int(rest[1])
        zombie = state == "Z" and comm.startswith("python")  # a zombie's cmdline is empty
        if ppid == parent and (MODULE in cmdline or zombie):
            found.append(int(entry))
    return found


def running(pid: int) -> bool:
    """True while ``pid`` exists and has not exited (a zombie waiting for its reaper has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].split()[0] != "Z"


def slow_parent_fetch(monkeypatch: pytest.MonkeyPatch, seconds: float = 0.1) -> list[int]:
    """Slow this process's ``LogFetcher.chunk`` (not the child's); returns the list of from_blocks it served."""
    original = LogFetcher.chunk
    served: list[int] = []

    async def chunk(self: LogFetcher, from_block: int, *args: Any, **kwargs: Any) -> Chunk:
        await asyncio.sleep(seconds)
        served.append(from_block)
        return await original(self, from_block, *args, **kwargs)

    monkeypatch.setattr(LogFetcher, "chunk", chunk)
    return served


class ChildChunks:
    """Counts the chunks the child answered; ``on_answer(fp, count)`` runs after each."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, on_answer: Callable[[FetchProcess, int], None] | None = None
    ) -> None:
        self.count = 0
        original = FetchProcess.chunk

        async def chunk(fp: FetchProcess, *args: Any, **kwargs: Any) -> Chunk:
            result = await original(fp, *args, **kwargs)
            self.count += 1
            if on_answer is not None:
                on_answer(fp, self.count)
            return result

        monkeypatch.setattr(FetchProcess, "chunk", chunk)


def contracts_of(devnet: Devnet) -> dict[str, ContractKind]:
    return {address: kind for address, kind in devnet.spec().contracts().items()}  # type: ignore[misc]


def params(
    rpc_url: str,
    *,
    contracts: dict[str, ContractKind] | None = None,
    chain: str = "fetch-process-test",
    timeout: float = 10.0,
    attempts: int = 1,
    initial_range: int = 5,
    max_range: int = 9,
    target_bytes: int = 4_000_000,
    log_level: int = logging.WARNING,
    httpx_level: int = logging.WARNING,
) -> FetchParams:
    return FetchParams(
        rpc_url=rpc_url,
        chain=chain,
        timeout=timeout,
        retry=RetryPolicy(attempts=attempts, initial_wait=0.01),
        contracts=contracts if contracts is not None else {"0x" + "11" * 20: "registry"},
        initial_range=initial_range,
        max_range=max_range,
        target_bytes=target_bytes,
        batch_size=100,
        log_levels={"": log_level, "httpx": httpx_level},
    )


async def started(fetch_params: FetchParams, timeout: float = 8.0) -> FetchProcess:
    """A started fetch process, once it reports ready."""
    fp = FetchProcess(fetch_params)
    fp.start()
    deadline = time.monotonic() + timeout
    while not fp.ready:
        assert not fp.gone, "the fetch process ended before it was ready"
        assert time.monotonic() < deadline, "the fetch process did not get ready"
        await asyncio.sleep(0.01)
    return fp


# --- backfill through the child --------------------------------------------------------------------------------


def indexed_in_process(devnet: Devnet, tmp_path: Path, *, seed: int) -> tuple[Touched, int, Engine]:
    """A scenario of 120 steps, and its backfill without a fetch process (the reference to compare with)."""
    touched = run_scenario(devnet, seed=seed, steps=120)
    reference = fresh_engine(f"sqlite:///{tmp_path}/in-process.db")
    sync_ok(reference, [devnet.spec(fetch_process_min_blocks=None, **SMALL)])
    return touched, devnet.anvil.chain_id, reference


def test_backfill__fetch_process__same_rows_as_in_process(
    devnet: Devnet,
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    touched, cid, reference = indexed_in_process(devnet, tmp_path, seed=21)

    slow_parent_fetch(monkeypatch)
    seen: list[list[int]] = []  # the scan below, while the child runs: proves it finds a child
    child = ChildChunks(monkeypatch, lambda fp, n: seen.append(fetch_children()) if n == 1 else None)
    engine = fresh_engine(sqlite_url)
    with caplog.at_level(logging.INFO, logger="indexer.sync"):
        sync_ok(engine, [devnet.spec(fetch_process_min_blocks=0, **SMALL)])

    assert child.count > 0, "the child answered no chunk"
    assert any("fetching them in a separate process" in m for m in caplog.messages)
    assert GONE_WARNING not in caplog.messages  # a child stopped at the end is not a child lost
    assert len(seen) == 1 and len(seen[0]) == 1, seen
    assert fetch_children() == [], "the fetch process outlived the backfill"
    assert dump(engine, cid) == dump(reference, cid)
    assert_matches_views(devnet, engine, touched)
    engine.dispose()
    reference.dispose()


def test_backfill__fetch_process_killed__completes_in_process(
    devnet: Devnet,
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    touched, cid, reference = indexed_in_process(devnet, tmp_path, seed=22)

    served = slow_parent_fetch(monkeypatch)
    killed: list[tuple[int, int]] = []  # (pid, chunks served in-process so far)

    def kill_after_first(fp: FetchProcess, count: int) -> None:
        if count == 1:
            assert fp._process is not None
            os.kill(fp._process.pid, signal.SIGKILL)
            killed.append((fp._process.pid, len(served)))

    child = ChildChunks(monkeypatch, kill_after_first)
    engine = fresh_engine(sqlite_url)
    with caplog.at_level(logging.WARNING, logger="indexer.sync.fetch_process"):
        sync_ok(engine, [devnet.spec(fetch_process_min_blocks=0, **SMALL)])

    assert len(killed) == 1, "the child answered no chunk, so it was never killed"
    assert child.count >= 1  # (answers already sent when it died may still arrive)
    assert len(served) > killed[0][1], "nothing was fetched in-process after the kill"
    warnings = [
        r for r in caplog.records if r.name == "indexer.sync.fetch_process" and r.levelno == logging.WARNING
    ]
    assert [r.getMessage() for r in warnings] == [GONE_WARNING]
    assert fetch_children() == []
    assert dump(engine, cid) == dump(reference, cid)
    assert_matches_views(devnet, engine, touched)
    engine.dispose()
    reference.dispose()


def test_backfill__fetch_process_cannot_start__completes_in_process(
    devnet: Devnet, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    touched = run_scenario(devnet, seed=25, steps=40)

    def no_process(*_args: Any, **_kwargs: Any) -> subprocess.Popen[bytes]:
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    engine = fresh_engine(sqlite_url)
    with (
        monkeypatch.context() as patch,
        caplog.at_level(logging.WARNING, logger="indexer.sync.fetch_process"),
    ):
        patch.setattr(fetch_process.subprocess, "Popen", no_process)  # no other process is started meanwhile
        sync_ok(engine, [devnet.spec(fetch_process_min_blocks=0, **SMALL)])
    assert any(m.startswith("fetch process did not start") for m in caplog.messages), caplog.messages
    assert_matches_views(devnet, engine, touched)
    engine.dispose()


# --- FetchProcess driven directly --------------------------------------------------------------------------------


def test_fetch_process__child_error__raised_in_parent_with_its_type(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{free_port()}/{SECRET}"  # nothing listens there
    chain = "fetch-process-errors"
    sample = ("dm3_indexer_rpc_errors_total", {"chain": chain, "kind": "connection"})
    before = REGISTRY.get_sample_value(*sample) or 0.0

    async def main() -> BaseException:
        fp = await started(params(url, chain=chain, attempts=1))
        try:
            with pytest.raises(RpcUnreachable) as raised:
                await asyncio.wait_for(fp.chunk(1, 5, window_floor=100, range_size=5), 8)
            assert not fp.gone  # an error answered; the child still serves
            return raised.value
        finally:
            await fp.close()

    with caplog.at_level(logging.DEBUG):
        error = asyncio.run(main())
    assert type(error) is RpcUnreachable
    assert "cannot reach http://127.0.0.1:" in str(error)
    assert SECRET not in str(error) and SECRET not in repr(error.args)
    assert SECRET not in caplog.text
    # The child's RPC error metric, replayed here (this process never used that chain label).
    assert (REGISTRY.get_sample_value(*sample) or 0.0) == before + 1


def test_fetch_process__closed__chunk_raises_gone() -> None:
    async def main() -> None:
        fp = await started(params(f"http://127.0.0.1:{free_port()}"))
        process = fp._process
        assert process is not None
        await fp.close()
        assert process.poll() is not None  # exited and reaped
        with pytest.raises(FetchProcessGone):
            await fp.chunk(1, 5, window_floor=100, range_size=5)

    asyncio.run(main())


def test_fetch_process__killed_while_a_chunk_waits__chunk_raises_gone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A node that accepts connections and never answers: the child's request waits (its timeout is 30 s).
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"

        async def main() -> None:
            fp = await started(params(url, timeout=30.0))
            assert fp._process is not None
            waiting = asyncio.create_task(fp.chunk(1, 5, window_floor=100, range_size=5))
            await asyncio.sleep(0.3)
            assert not waiting.done()
            os.kill(fp._process.pid, signal.SIGKILL)
            with pytest.raises(FetchProcessGone):
                await asyncio.wait_for(waiting, 5)
            assert fp.gone and not fp.ready
            await fp.close()

        with caplog.at_level(logging.WARNING, logger="indexer.sync.fetch_process"):
            asyncio.run(main())
    assert GONE_WARNING in caplog.messages


class Forwarder:
    """A loopback HTTP server that forwards every POST, whatever its path, to ``target`` (anvil answers only on
    ``/``); records the paths asked for."""

    def __init__(self, target: str) -> None:
        paths: list[str] = []
        self.paths = paths

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                paths.append(self.path)
                body = self.rfile.read(int(self.headers["content-length"]))
                answer = httpx.post(target, content=body, headers={"content-type": "application/json"})
                self.send_response(answer.status_code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Forwarder:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_fetch_process__secret_rpc_url__not_on_the_command_line(devnet: Devnet) -> None:
    async def main(url: str) -> tuple[bytes, Chunk]:
        fp = await started(params(url, contracts=contracts_of(devnet)))
        try:
            assert fp._process is not None
            cmdline = Path(f"/proc/{fp._process.pid}/cmdline").read_bytes()
            head = devnet.anvil.block_number()
            # The child did get the URL (through the socket): it fetches a chunk with it.
            chunk = await fp.chunk(1, 5, window_floor=head, range_size=5)
            return cmdline, chunk
        finally:
            await fp.close()

    with Forwarder(devnet.anvil.url) as node:
        cmdline, chunk = asyncio.run(main(f"{node.url}/{SECRET}"))
    assert MODULE in cmdline  # the child's command line indeed
    assert SECRET.encode() not in cmdline
    assert (chunk.from_block, chunk.to_block) == (1, 5)
    assert node.paths and set(node.paths) == {f"/{SECRET}"}


ORPHAN = """
import asyncio, logging, sys
from indexer.chain.rpc import RetryPolicy
from indexer.sync.fetch_process import FetchParams, FetchProcess

async def main():
    fp = FetchProcess(FetchParams(
        rpc_url=sys.argv[1], chain="orphan", timeout=5.0, retry=RetryPolicy(attempts=1),
        contracts={"0x" + "11" * 20: "registry"}, initial_range=5, max_range=9, target_bytes=4_000_000,
        batch_size=100, log_levels={"": logging.WARNING},
    ))
    fp.start()
    while not fp.ready:
        await asyncio.sleep(0.01)
    print(fp._process.pid, flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


def test_fetch_process__parent_killed__child_exits(anvil: Anvil) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", ORPHAN, anvil.url], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    child = None
    try:
        assert parent.stdout is not None
        readable, _, _ = select.select([parent.stdout], [], [], 15)
        assert readable, "the script did not start its fetch process"
        child = int(parent.stdout.readline())
        assert running(child) and fetch_children(parent.pid) == [child]
        parent.kill()
        parent.wait(5)
        deadline = time.monotonic() + 10
        while running(child):
            assert time.monotonic() < deadline, "the fetch process outlived its parent by 10 s"
            time.sleep(0.05)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(5)
        if child is not None and running(child):
            os.kill(child, signal.SIGKILL)


def test_fetch_process__child_logs_and_metrics__replayed_in_parent(
    devnet: Devnet, caplog: pytest.LogCaptureFixture
) -> None:
    run_scenario(devnet, seed=23, steps=40)
    head = devnet.anvil.block_number()
    start = devnet.registry.block
    chain = "fetch-process-forwarding"
    sample = ("dm3_indexer_rpc_latency_seconds_count", {"chain": chain, "method": "eth_getLogs"})
    before = REGISTRY.get_sample_value(*sample) or 0.0

    # Answers over 4 x 2,000 bytes are refused: a first span of 64 blocks of logs is far over that.
    fetch_params = params(
        devnet.anvil.url,
        contracts=contracts_of(devnet),
        chain=chain,
        initial_range=64,
        max_range=64,
        target_bytes=2_000,
        log_level=logging.DEBUG,
    )

    async def main() -> Chunk:
        fp = await started(fetch_params)
        try:
            return await fp.chunk(start, head - 4, window_floor=head - 3, range_size=64)
        finally:
            await fp.close()

    with caplog.at_level(logging.DEBUG, logger="indexer.sync.fetch"):
        chunk = asyncio.run(main())

    assert chunk.logs
    too_large = [
        r
        for r in caplog.records
        if r.name == "indexer.sync.fetch" and r.levelno == logging.DEBUG and "too large" in r.getMessage()
    ]
    assert too_large, caplog.text
    after = REGISTRY.get_sample_value(*sample) or 0.0
    assert after > before


def test_fetch_process__chunk__equals_parent_chunk(devnet: Devnet) -> None:
    run_scenario(devnet, seed=24, steps=40)
    head = devnet.anvil.block_number()
    floor = head - 4
    start = devnet.registry.block
    contracts = contracts_of(devnet)
    below = (start, floor - 1)  # entirely below the window
    across = (floor - 6, head)  # from below the window into it: window headers too

    async def main() -> list[tuple[Chunk, Chunk]]:
        fp = await started(params(devnet.anvil.url, contracts=contracts, initial_range=7, max_range=30))
        pairs = []
        try:
            async with RpcClient(devnet.anvil.url) as rpc:
                for a, b in (below, across):
                    fetcher = LogFetcher(
                        rpc, contracts=contracts, block_range=AdaptiveRange(initial=7, maximum=30)
                    )
                    theirs = await fp.chunk(a, b, window_floor=floor, range_size=7)
                    ours = await fetcher.chunk(a, b, window_floor=floor)
                    pairs.append((theirs, ours))
        finally:
            await fp.close()
        return pairs

    (child_below, parent_below), (child_across, parent_across) = asyncio.run(main())
    for chunk in (
        child_below,
        child_across,
    ):  # the child also encodes each log's args as stored, for the writer
        for entry in chunk.logs:
            assert entry.args_json == stored_args_json(entry.args)
            entry.args_json = None
    assert (child_below.from_block, child_below.to_block) == below
    assert len(child_below.logs) > 20
    assert child_below.window_headers == []
    assert child_below == parent_below
    assert child_across.window_headers and [h.number for h in child_across.window_headers] == list(
        range(floor, head + 1)
    )
    assert child_across == parent_across


def test_fetch_process__one_per_spare_core__slot_freed_on_close_and_on_death(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from indexer.sync import fetch_process

    monkeypatch.setattr(fetch_process, "MAX_PROCESSES", 1)

    async def main() -> None:
        assert FetchProcess.available()
        first = await started(params(f"http://127.0.0.1:{free_port()}"))
        assert not FetchProcess.available()  # a second chain's backfill fetches by itself meanwhile
        await first.close()
        assert FetchProcess.available()
        second = await started(params(f"http://127.0.0.1:{free_port()}"))
        assert not FetchProcess.available()
        assert second._process is not None
        os.kill(second._process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while not second.gone:
            assert time.monotonic() < deadline, "the dead fetch process was not noticed"
            await asyncio.sleep(0.01)
        assert FetchProcess.available()  # a dead child frees its slot at once
        await second.close()

    asyncio.run(main())


def test_backfill__two_chains_one_slot__one_child_at_a_time_and_handed_over(
    devnet: Devnet, compiled: dict[str, Any], sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two chains backfill in one process with one fetch-process slot: never two children at once, the chain that
    found the slot taken fetches by itself and takes the slot once the other chain's backfill frees it."""
    other_node = Anvil(chain_id=31_011)
    try:
        other = Devnet(other_node, compiled)
        other.fund()
        touched = {devnet.anvil.chain_id: run_scenario(devnet, seed=26, steps=120)}
        touched[other_node.chain_id] = run_scenario(other, seed=27, steps=120)
        monkeypatch.setattr(fetch_process, "MAX_PROCESSES", 1)
        slow_parent_fetch(monkeypatch, seconds=0.8)  # the chain without the slot is the slower one by far
        most_at_once: list[int] = []
        served_by_child: dict[str, int] = {}
        original_start, original_chunk = FetchProcess.start, FetchProcess.chunk

        def start(fp: FetchProcess) -> None:
            original_start(fp)
            most_at_once.append(len(fetch_process._running))

        async def chunk(fp: FetchProcess, *args: Any, **kwargs: Any) -> Chunk:
            result = await original_chunk(fp, *args, **kwargs)
            served_by_child[fp.params.chain] = served_by_child.get(fp.params.chain, 0) + 1
            return result

        monkeypatch.setattr(FetchProcess, "start", start)
        monkeypatch.setattr(FetchProcess, "chunk", chunk)
        engine = fresh_engine(sqlite_url)
        sync_ok(
            engine,
            [
                devnet.spec(name="op", fetch_process_min_blocks=0, **SMALL),
                other.spec(name="base", fetch_process_min_blocks=0, **SMALL),
            ],
        )
        assert most_at_once and max(most_at_once) == 1, most_at_once
        assert len(most_at_once) == 2, "the second chain never took the freed slot"
        assert set(served_by_child) == {"op", "base"}, served_by_child
        assert fetch_children() == []
        assert_matches_views(devnet, engine, touched[devnet.anvil.chain_id])
        assert_matches_views(other, engine, touched[other_node.chain_id])
        engine.dispose()
    finally:
        other_node.stop()


def test_portable__exception_that_does_not_pickle__sent_as_rpc_error_with_its_message() -> None:
    class Local(Exception):  # not importable by name: pickle cannot send it
        pass

    class NeedsTwo(Exception):  # pickles, but does not load back (its __init__ wants two arguments)
        def __init__(self, a: str, b: str) -> None:
            super().__init__(f"{a} {b}")

    for exc, text in ((Local("node said no"), "Local: node said no"), (NeedsTwo("x", "y"), "NeedsTwo: x y")):
        sent = fetch_process._portable(exc)
        assert type(sent) is RpcError and str(sent) == text
    kept = RpcUnreachable("eth_getLogs: cannot reach http://127.0.0.1:1")
    assert type(fetch_process._portable(kept)) is RpcUnreachable  # what pickles keeps its type


@pytest.mark.parametrize("httpx_level", [logging.INFO, logging.WARNING])
def test_fetch_process__http_request_lines__only_at_the_parents_level_and_redacted(
    devnet: Devnet, caplog: pytest.LogCaptureFixture, httpx_level: int
) -> None:
    """httpx logs every request with the node's URL at INFO: the child forwards such lines only when the parent's
    `httpx` logger would log them (the CLI keeps it at WARNING), and redacted even then."""

    head = devnet.anvil.block_number()

    async def main(url: str) -> None:
        fp = await started(
            params(url, contracts=contracts_of(devnet), log_level=logging.DEBUG, httpx_level=httpx_level)
        )
        try:
            await fp.chunk(1, 5, window_floor=head, range_size=5)
        finally:
            await fp.close()

    with Forwarder(devnet.anvil.url) as node, caplog.at_level(logging.DEBUG):
        asyncio.run(main(f"{node.url}/{SECRET}"))
    # The child's requests go to the forwarder (the forwarder's own, in this process, go to anvil).
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx" and node.url in r.getMessage()]
    if httpx_level == logging.INFO:
        assert lines and all(line.startswith(f"HTTP Request: POST {node.url} ") for line in lines), lines
    else:
        assert lines == []
    assert SECRET not in caplog.text
