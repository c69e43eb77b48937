"""A backfill's fetching and decoding in a process of its own, so the writer keeps this process's CPU.

A cold backfill does three things of about equal weight in Python: read ``eth_getLogs`` answers (HTTP, JSON),
decode the logs, and project and write them. In one process they share one interpreter lock, so the backfill runs
at the speed of their sum. :class:`FetchProcess` moves the first two into a child process that runs the very same
:meth:`LogFetcher.chunk <indexer.sync.fetch.LogFetcher.chunk>` (same adaptive ranges, header checks, retries) and
sends each chunk back pickled (:class:`~indexer.chain.abi.DecodedLog` is a msgspec struct, and the hashes a
block's logs share are one string each, so a chunk of 5,000 logs loads in ~5 ms). The parent keeps everything that
decides: the order chunks are applied in, the checks that link them, reorg repair, the writer.

Used only below the reorg window (where a chunk is a plain range query), by chains whose backfill has at least
``fetch_process_min_blocks`` blocks there to go, and only with an :class:`~indexer.chain.rpc.RpcClient` that can be
rebuilt in the child (no custom transport). Until the child reports ready (it imports the decoder, ~0.5 s), and
whenever it is gone, chunks are fetched in this process as before: the child never holds anything the parent
needs. Its log records are sent to the parent and logged there (through the parent's handlers and their URL
redaction); its RPC metrics too. The child ignores SIGINT (the parent decides when to stop), exits when the parent
closes the pipe or dies (end of file), and is killed at the end of the backfill if it does not exit by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from indexer import metrics
from indexer.chain.abi import ContractKind, stored_args_json
from indexer.chain.rpc import RetryPolicy, RpcClient, RpcError
from indexer.redact import redact_urls
from indexer.sync.fetch import AdaptiveRange, Chunk, LogFetcher

log = logging.getLogger(__name__)

#: Seconds the child gets to exit by itself once asked to stop, then it is killed.
STOP_SECONDS = 2.0

#: Fetch processes at once in one indexer process, whatever its number of chains: one per core beyond the one the
#: writer keeps busy (a chain that finds none free fetches by itself and takes one when it is freed).
MAX_PROCESSES = max(1, (os.cpu_count() or 2) - 1)
_running: set[FetchProcess] = set()

#: Seconds the child may take to start (imports, its HTTP client) before it is killed.
START_SECONDS = 15.0

#: Chunks the child fetches at once (the parent may ask for more ahead: they wait their turn unparsed).
CHILD_CONCURRENCY = 2

#: The child's program (argument: the socket's file descriptor). It never runs httpx's command-line client, whose
#: import (rich, click, pygments) would be ~40% of its start: marked missing, httpx skips it.
_CHILD = (
    "import sys; sys.modules['httpx._main'] = None; "
    "from indexer.sync.fetch_process import child_main; child_main(int(sys.argv[1]))"
)


class FetchProcessGone(Exception):
    """The child process ended (killed, crashed): the chunk is fetched in this process instead."""


@dataclass(frozen=True)
class FetchParams:
    """What the child needs to fetch like the parent's :class:`LogFetcher` (sent through the pipe, never argv)."""

    rpc_url: str
    chain: str
    timeout: float
    retry: RetryPolicy
    contracts: dict[str, ContractKind]
    initial_range: int
    max_range: int
    target_bytes: int
    batch_size: int
    #: The parent's effective level of each logger the child logs through ("" = the root): the child forwards only
    #: what the parent would log (`parent_log_levels`).
    log_levels: dict[str, int]


#: The loggers whose levels the child takes from the parent: ours, and the HTTP client's (whose request lines
#: carry the node's URL; the CLI keeps them at WARNING).
_CHILD_LOGGERS = ("", "indexer", "httpx", "httpcore")


def parent_log_levels() -> dict[str, int]:
    """This process's effective level of each logger the fetch process logs through."""
    return {name: logging.getLogger(name or None).getEffectiveLevel() for name in _CHILD_LOGGERS}


class FetchProcess:
    """The parent's side: chunks asked of the child, answered through futures of this event loop."""

    def __init__(self, params: FetchParams) -> None:
        self.params = params
        self.ready = False
        self.gone = False
        self.range_size: int | None = None  # the child's adaptive span after its last answer
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Chunk]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conn: Connection | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None

    @staticmethod
    def available() -> bool:
        """Whether another fetch process may start now (:data:`MAX_PROCESSES`)."""
        return len(_running) < MAX_PROCESSES

    def start(self) -> None:
        """Start the child (returns at once; :attr:`ready` turns true when it can take chunks).

        A fresh interpreter (:data:`_CHILD`: nothing of this process's threads, and unlike multiprocessing's
        spawn it does not import the parent's ``__main__`` again) on one end of a socket pair; the parameters,
        the RPC URL among them, go through the socket, never the command line."""
        self._loop = asyncio.get_running_loop()
        _running.add(self)
        ours, theirs = socket.socketpair()
        self._conn = Connection(ours.detach())
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _CHILD, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                close_fds=True,
            )
        except OSError as exc:  # no process (out of pids, fds, memory): fetched here, as when it is gone
            self._conn.close()
            self._conn = None
            self.gone = True
            _running.discard(self)
            log.warning("fetch process did not start (%s); fetching in the indexer process", exc)
            return
        finally:
            theirs.close()  # the child's end lives in the child only: its exit is our end of file
        self._conn.send(self.params)
        self._reader = threading.Thread(target=self._read, name="dm3-fetch-reader", daemon=True)
        self._reader.start()
        self._loop.call_later(START_SECONDS, self._not_started)

    def _not_started(self) -> None:
        """Still not ready after :data:`START_SECONDS`: kill it (its chunks are then fetched in this process)."""
        if not self.ready and not self.gone and self._process is not None:
            log.warning("fetch process did not start within %.0f s; killing it", START_SECONDS)
            self._process.kill()  # the reader sees the end of file: pending chunks fail over to this process

    async def chunk(self, from_block: int, to_block: int, *, window_floor: int, range_size: int) -> Chunk:
        """The child's :meth:`LogFetcher.chunk`; raises what it raised, or :class:`FetchProcessGone`."""
        if self.gone or self._conn is None or self._loop is None:
            raise FetchProcessGone("the fetch process is not running")
        request = next(self._ids)
        future: asyncio.Future[Chunk] = self._loop.create_future()
        self._pending[request] = future
        try:
            try:
                self._conn.send(("chunk", request, from_block, to_block, window_floor, range_size))
            except (OSError, ValueError) as exc:  # the pipe is closed: the child is gone
                self._lost()
                raise FetchProcessGone("the fetch process is gone") from exc
            return await future
        except asyncio.CancelledError:
            with contextlib.suppress(OSError, ValueError):
                self._conn.send(("cancel", request))
            raise
        finally:
            self._pending.pop(request, None)

    async def close(self) -> None:
        """Ask the child to stop; kill it if it has not within :data:`STOP_SECONDS`."""
        _running.discard(self)
        process, conn = self._process, self._conn
        if process is None or conn is None:
            return
        self._process = None
        with contextlib.suppress(OSError, ValueError):
            conn.send(None)
        await asyncio.get_running_loop().run_in_executor(None, _stop_process, process)
        conn.close()
        self.gone = True

    # --- the reader thread ------------------------------------------------------------------------------------

    def _read(self) -> None:
        conn, loop = self._conn, self._loop
        assert conn is not None and loop is not None
        while True:
            try:
                message = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError):
                break
            except Exception as exc:  # a message that does not load: treat the child as gone
                log.warning("fetch process sent an unreadable message (%s)", type(exc).__name__)
                break
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
                loop.call_soon_threadsafe(self._handle, message)
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._lost)

    def _handle(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "ready":
            self.ready = True
            log.debug("fetch process ready")
        elif kind == "log":
            _, name, level, text = message
            logging.getLogger(name).log(level, "%s", text)
        elif kind in ("chunk", "error"):
            _, request, payload, range_size, samples = message
            _replay(samples)
            self.range_size = range_size
            future = self._pending.get(request)
            if future is None or future.done():
                return  # cancelled meanwhile
            if kind == "chunk":
                future.set_result(payload)
            else:
                future.set_exception(payload)

    def _lost(self) -> None:
        _running.discard(self)
        if not self.gone:
            self.gone = True
            self.ready = False
            if self._process is not None:
                log.warning("fetch process ended; fetching in the indexer process")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(FetchProcessGone("the fetch process is gone"))


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_SECONDS)


# --- metrics: recorded in the child, replayed in the parent ----------------------------------------------------

#: The RPC client's metrics (indexer/metrics.py names) and how a sample is applied in the parent.
_RPC_METRICS = {"RPC_ERRORS": "inc", "RPC_LATENCY": "observe"}


class _Recorder:
    """Stands in for a Prometheus metric in the child: ``labels(...).inc()`` / ``.observe(v)`` append a sample."""

    def __init__(self, name: str, samples: list[tuple[str, dict[str, str], float]]) -> None:
        self._name = name
        self._samples = samples

    def labels(self, **labels: str) -> _Recorder._Child:
        return _Recorder._Child(self._name, labels, self._samples)

    class _Child:
        def __init__(self, name: str, labels: dict[str, str], samples: list[Any]) -> None:
            self._sample: Callable[[float], None] = lambda value: samples.append((name, labels, value))

        def inc(self, amount: float = 1.0) -> None:
            self._sample(amount)

        def observe(self, value: float) -> None:
            self._sample(value)


def _replay(samples: list[tuple[str, dict[str, str], float]]) -> None:
    for name, labels, value in samples:
        metric = getattr(metrics, name).labels(**labels)
        getattr(metric, _RPC_METRICS[name])(value)


# --- the child -------------------------------------------------------------------------------------------------


class _ForwardLogs(logging.Handler):
    def __init__(self, send: Callable[[tuple[Any, ...]], None]) -> None:
        super().__init__()
        self._send = send

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):  # redacted here already: the parent's handlers redact again
            self._send(("log", record.name, record.levelno, redact_urls(record.getMessage())))


def child_main(fd: int) -> None:
    """The child process: serve chunk requests on socket ``fd`` until the parent closes it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    conn = Connection(fd)
    try:
        params: FetchParams = conn.recv()
    except (EOFError, OSError):
        return
    lock = threading.Lock()

    def send(message: tuple[Any, ...]) -> None:
        blob = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        with lock:
            conn.send_bytes(blob)

    root = logging.getLogger()
    root.handlers[:] = [_ForwardLogs(send)]
    for name, level in params.log_levels.items():
        logging.getLogger(name or None).setLevel(level)
    # Whatever ends it, the parent sees the end of file and fetches itself: no traceback on the shared stderr.
    with contextlib.suppress(BaseException):
        asyncio.run(_serve(conn, params, send))


async def _serve(conn: Connection, params: FetchParams, send: Callable[[tuple[Any, ...]], None]) -> None:
    samples: list[tuple[str, dict[str, str], float]] = []
    for name in _RPC_METRICS:
        setattr(metrics, name, _Recorder(name, samples))
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    tasks: dict[int, asyncio.Task[None]] = {}
    block_range = AdaptiveRange(
        initial=params.initial_range, maximum=params.max_range, target_bytes=params.target_bytes
    )
    sized = False
    # Chunks fetched at once here: the child is busy parsing and decoding, so a third or fourth answer in flight
    # would only wait, parsed, in memory (each ~5x its JSON); two keep the node's latency hidden.
    at_once = asyncio.Semaphore(CHILD_CONCURRENCY)
    sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dm3-fetch-send")
    async with RpcClient(
        params.rpc_url, chain=params.chain, timeout=params.timeout, retry=params.retry
    ) as rpc:
        fetcher = LogFetcher(
            rpc, contracts=params.contracts, block_range=block_range, batch_size=params.batch_size
        )

        async def answer(request: int, from_block: int, to_block: int, window_floor: int) -> None:
            try:
                async with at_once:
                    payload: Any = await fetcher.chunk(from_block, to_block, window_floor=window_floor)
                for entry in payload.logs:  # what the writer would encode next: done here, off its CPU
                    entry.args_json = stored_args_json(entry.args)
                kind = "chunk"
            except asyncio.CancelledError:
                return
            except Exception as exc:  # sent to the parent, which raises it where it waits
                payload, kind = _portable(exc), "error"
            taken = list(samples)
            samples.clear()
            message = (kind, request, payload, block_range.size, taken)
            with contextlib.suppress(OSError, ValueError):
                await loop.run_in_executor(sender, send, message)
            tasks.pop(request, None)

        def handle(message: tuple[Any, ...] | None) -> None:
            nonlocal sized
            if message is None:
                done.set()
            elif message[0] == "cancel":
                task = tasks.pop(message[1], None)
                if task is not None:
                    task.cancel()
            else:
                _, request, from_block, to_block, window_floor, range_size = message
                if not sized:  # start from the span the parent has learnt so far
                    block_range.size, sized = max(1, min(range_size, block_range.maximum)), True
                tasks[request] = loop.create_task(answer(request, from_block, to_block, window_floor))

        def read() -> None:
            while True:
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    message = None
                loop.call_soon_threadsafe(handle, message)
                if message is None:
                    return

        threading.Thread(target=read, name="dm3-fetch-requests", daemon=True).start()
        send(("ready",))
        await done.wait()
        for task in tasks.values():
            task.cancel()
    sender.shutdown(wait=True)


def _portable(exc: Exception) -> Exception:
    """``exc`` if it survives pickling as itself, else an :class:`RpcError` with its message."""
    try:
        back = pickle.loads(pickle.dumps(exc))
    except Exception:
        return RpcError(f"{type(exc).__name__}: {exc}")
    return back if type(back) is type(exc) else RpcError(f"{type(exc).__name__}: {exc}")
