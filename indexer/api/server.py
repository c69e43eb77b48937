"""The API's own HTTP server: uvicorn (httptools) with the connection limits a public service needs.

uvicorn bounds neither how long a client may take to send a request's headers (a slowloris client holds its
connection forever) nor how many connections stay open, and its own overload answer is plain text. The protocol
here adds, per worker process:

- a header timeout: from a connection's opening, and from the first byte of each further request on it, to the
  end of the request's headers (`header_timeout`); a client that is too slow gets a 408 and is disconnected;
- a bound on the request head (`max_header_bytes`; 431 beyond);
- a bound on open connections (`max_connections`): at the limit a new connection displaces the longest-idle one
  (no request in flight: idle keep-alive, or still sending headers), so idle or slow clients cannot starve
  others; when every connection is busy the new one is answered 503 and closed;
- JSON for every error the server itself writes (400 malformed request, 408, 431, 503);
- the delivery nodes' hot path, `GET /v1/eligibility` in plain form, answered from the in-memory state inside the
  parser's callback, as soon as the request's head is in (`_answer_hot`): no ASGI cycle, no task, one write. It
  answers what the app's own hot path (`main.Dm3Api`, `fastpath.HotPath`) answers, with the same bytes on the wire
  (tests compare them), counted in the metrics and the access log the same way; whatever it does not take (a
  pipelined request behind a slow one, a paused write, HTTP/1.0, `Connection: close`, anything the app's hot path
  refuses) goes to the app as before.

The keep-alive timeout is uvicorn's own (`timeout_keep_alive`); request bodies, concurrency and every error
the app produces are bounded inside the app (`indexer.api.guards`).
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import logging
import logging.config
import multiprocessing
import multiprocessing.connection
import multiprocessing.process
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from indexer.api.fastpath import PATH as _HOT_PATH
from indexer.api.fastpath import HotPath
from indexer.errors import UserError
from indexer.settings.api import ApiSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerLimits:
    max_connections: int
    header_timeout: float
    max_header_bytes: int

    @classmethod
    def of(cls, settings: ApiSettings) -> ServerLimits:
        return cls(
            max_connections=settings.max_connections,
            header_timeout=settings.header_timeout,
            max_header_bytes=settings.max_header_bytes,
        )


#: The hot path's request target, up to its query.
_HOT_TARGET = _HOT_PATH.encode() + b"?"
_HOT_HEAD = b"HTTP/1.1 200 OK\r\n"
_HOT_HEADERS = b"content-type: application/json\r\nvary: Origin\r\n\r\n"


class _NoEvent:
    def set(self) -> None:
        pass


class _Answered:
    """`cycle` of a request the protocol answered itself: complete, so uvicorn's callbacks leave it alone (when the
    connection is lost, uvicorn sets `cycle.message_event`)."""

    response_complete = True
    message_event = _NoEvent()


_ANSWERED: Any = _Answered()


def _hot_path(app: Any) -> HotPath | None:
    """The app's `HotPath` (`main.Dm3Api.hot`) behind uvicorn's wrappers (each keeps the next in `.app`), or None."""
    for _ in range(8):
        if app is None:
            return None
        hot = getattr(app, "hot", None)
        if isinstance(hot, HotPath):
            return hot
        app = getattr(app, "app", None)
    return None


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header timeout, a head size limit, a connection limit and the hot path
    answered in the parser's callback."""

    def __init__(self, *args: Any, limits: ServerLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        # Found once per connection: the app's hot path exists from the app's creation (None when it is off).
        self._hot = _hot_path(self.app) if not self.root_path else None
        self._answered = False  # this `data_received` answered a request itself
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0  # bytes received while waiting for a request's head
        self._head_size = 0  # the parsed head's size so far (request target and headers)
        self._refusal: tuple[HTTPStatus, str] | None = None
        self._idle_since = self.loop.time()

    # --- state ---------------------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """A request is in flight (its headers are in, its answer is not complete)."""
        return self.cycle is not None and not self.cycle.response_complete

    # --- asyncio.Protocol ------------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._idle_since = self.loop.time()
        if len(self.connections) > self.limits.max_connections and not self._displace_idle():
            self._refuse(
                HTTPStatus.SERVICE_UNAVAILABLE, "the server is at its connection limit; retry shortly"
            )
            return
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        awaiting_head = not self.busy
        if awaiting_head and self._head_timer is None:
            self._arm_head_timer()  # the first byte of a further request on a keep-alive connection
        self._answered = False
        super().data_received(data)
        if self.transport.is_closing():
            self._cancel_head_timer()
        elif (
            self.busy or self._answered
        ):  # the headers are complete: the app has the request, or it is answered
            self._cancel_head_timer()
            self._head_bytes = 0
        elif awaiting_head:
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_header_bytes:
                self._refuse(
                    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                    f"the request line and headers are larger than {self.limits.max_header_bytes} bytes",
                )

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._idle_since = self.loop.time()

    # --- parser callbacks ------------------------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_size = 0

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count_head(self, size: int) -> None:
        self._head_size += size
        if self._head_size > self.limits.max_header_bytes:
            self._refusal = (
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                f"the request line and headers are larger than {self.limits.max_header_bytes} bytes",
            )
            raise _HeadTooLarge  # aborts the parse: uvicorn answers through send_400_response

    def on_headers_complete(self) -> None:
        if self._answer_hot():
            return
        # A request answered earlier in this same `data_received` armed the keep-alive timeout: this one is not idle.
        self._unset_keepalive_if_required()
        super().on_headers_complete()

    def _answer_hot(self) -> bool:
        """Answer a plain `GET /v1/eligibility` from the app's hot path, now; False when the app must answer it."""
        url, parser, hot = self.url, self.parser, self._hot
        if (
            hot is None
            or not url.startswith(_HOT_TARGET)
            or b"#" in url
            or parser.get_method() != b"GET"
            or parser.get_http_version() != "1.1"
            or not parser.should_keep_alive()
            or parser.should_upgrade()
            or (self.cycle is not None and not self.cycle.response_complete)
            or self.pipeline
            or self.flow.write_paused
            or self.transport.is_closing()
        ):
            return False
        started = time.perf_counter()
        query = url[len(_HOT_TARGET) :]
        try:
            body = hot.answer({"headers": self.headers, "query_string": query})
        except Exception:  # the app answers it (and turns what it cannot answer into a 500)
            log.debug("hot path failed; handing over to the app", exc_info=True)
            return False
        if body is None:
            return False
        content = [_HOT_HEAD]
        for name, value in self.server_state.default_headers:
            content += (name, b": ", value, b"\r\n")
        content += (b"content-length: ", str(len(body)).encode(), b"\r\n", _HOT_HEADERS, body)
        if self.access_log:
            scope = self.scope
            scope["method"], scope["path"], scope["query_string"] = "GET", _HOT_PATH, query
            self.access_logger.info(
                '%s - "%s %s HTTP/%s" %d',
                get_client_addr(scope),
                "GET",
                get_path_with_query_string(scope),
                "1.1",
                200,
            )
        self.transport.write(b"".join(content))
        hot.metrics.count("GET", _HOT_PATH, 200, started)
        self.cycle = _ANSWERED
        self._answered = True
        self.on_response_complete()
        return True

    def send_400_response(self, msg: str) -> None:
        self._refuse(*(self._refusal or (HTTPStatus.BAD_REQUEST, msg)))

    # --- limits ----------------------------------------------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.busy or self.transport.is_closing():
            return
        if self._head_bytes:
            message = f"the request headers did not arrive within {self.limits.header_timeout:g} s"
            self._refuse(HTTPStatus.REQUEST_TIMEOUT, message)
        else:  # a connection that never started a request: just close it
            self.transport.close()

    def _displace_idle(self) -> bool:
        """Close the connection idle the longest (no request in flight) to make room; False when all are busy."""
        idle = [
            other
            for other in self.connections
            if other is not self
            and isinstance(other, GuardedHttpProtocol)
            and not other.busy
            and not other.transport.is_closing()
        ]
        if not idle:
            return False
        oldest = min(idle, key=lambda other: other._idle_since)
        oldest.transport.close()
        return True

    def _refuse(self, status: HTTPStatus, message: str) -> None:
        """Write a complete JSON error answer and close the connection (outside any request)."""
        self._cancel_head_timer()
        body = json.dumps({"message": message}).encode()
        head = (
            f"HTTP/1.1 {status.value} {status.phrase}\r\n"
            "content-type: application/json\r\n"
            f"content-length: {len(body)}\r\n"
            "connection: close\r\n\r\n"
        )
        if not self.transport.is_closing():
            self.transport.write(head.encode() + body)
            self.transport.close()


class _HeadTooLarge(Exception):
    pass


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, with every handler redacting URLs (indexer.redact) and the app's own loggers (the
    500s' tracebacks) sent to the same place."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": "indexer.redact.RedactingFilter"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    config["loggers"]["indexer"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return config


def uvicorn_options(settings: ApiSettings, *, log_level: str) -> dict[str, Any]:
    """The `uvicorn.Config` keyword arguments for the limits in `settings` (also used by the tests)."""
    return {
        "http": functools.partial(GuardedHttpProtocol, limits=ServerLimits.of(settings)),
        "ws": "none",  # no websocket routes: an upgrade request is an ordinary (refused) request
        "timeout_keep_alive": settings.keep_alive_timeout,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "log_config": log_config(log_level),
        "log_level": log_level,
        "server_header": False,
    }


#: Seconds a worker process may take to answer the supervisor's health ping (uvicorn's supervisor; see `serve`).
WORKER_HEALTHCHECK_TIMEOUT = 60

#: A worker that dies sooner than this after its start is started again only after `RESTART_BACKOFF` seconds, so a
#: worker that cannot start (an unreachable database, say) does not spin.
QUICK_EXIT = 5.0
RESTART_BACKOFF = 1.0
#: After this many quick exits in a row (no worker lasting `QUICK_EXIT` in between) the supervisor gives up: a
#: worker that cannot start would otherwise be restarted forever, the service looking up while answering nothing.
MAX_QUICK_EXITS = 5


def serve(settings: ApiSettings, *, host: str, port: int, workers: int, log_level: str) -> None:
    """Run the API until SIGINT/SIGTERM: in this process, or in `workers` worker processes."""
    options = uvicorn_options(settings, log_level=log_level)
    if workers > 1 and hasattr(socket, "SO_REUSEPORT"):
        serve_workers(host=host, port=port, workers=workers, log_level=log_level)
        return
    if workers > 1:
        # No SO_REUSEPORT: uvicorn's supervisor, one listening socket shared by the workers. It kills a worker that
        # does not answer its ping within `timeout_worker_healthcheck` (uvicorn's default 5 s): on a loaded
        # machine a starting worker importing its modules took longer, and every worker was killed and restarted in
        # a loop, never serving.
        uvicorn.run(
            "indexer.api.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_TIMEOUT,
            **options,
        )
        return
    from indexer.api.main import create_app

    uvicorn.run(create_app(settings), host=host, port=port, **options)


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port` with SO_REUSEPORT: each worker binds its own, and the kernel spreads new
    connections evenly over the listening ones (a shared socket lets whichever worker wakes first accept a whole
    burst of connections: 32 connections opened at once all landed on one of two workers)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _run_worker(host: str, port: int, log_level: str) -> None:
    """One worker process: its own SO_REUSEPORT socket and a uvicorn server on it (settings from the environment,
    as the supervisor's were; they were checked there)."""
    settings = ApiSettings.load()
    sock = reuse_port_socket(host, port)
    config = uvicorn.Config(
        "indexer.api.main:create_app", factory=True, **uvicorn_options(settings, log_level=log_level)
    )
    uvicorn.Server(config).run(sockets=[sock])


def serve_workers(
    *,
    host: str,
    port: int,
    workers: int,
    log_level: str,
    target: Callable[[str, int, str], None] = _run_worker,
) -> None:
    """Supervise `workers` worker processes (`target`), each listening on its own SO_REUSEPORT socket, until
    SIGINT/SIGTERM (passed on to the workers, which finish their requests); a worker that dies is started again,
    unless workers keep dying as they start (`MAX_QUICK_EXITS`): then the others are stopped and a `UserError`
    says so."""
    # Bound here first: a port in use fails now, with one message, and port 0 picks the port the workers share.
    try:
        holder = reuse_port_socket(host, port)
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    port = holder.getsockname()[1]
    logging.config.dictConfig(log_config(log_level))
    logger = logging.getLogger("uvicorn.error")
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> tuple[multiprocessing.process.BaseProcess, float]:
        process = context.Process(target=target, args=(host, port, log_level), name="dm3-api-worker")
        process.start()
        return process, time.monotonic()

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    running = [start() for _ in range(workers)]
    logger.info("dm3-api: %d workers on %s:%d (SO_REUSEPORT)", workers, host, port)
    quick_exits = 0
    try:
        while not stopping:
            multiprocessing.connection.wait([process.sentinel for process, _ in running], timeout=0.5)
            for i, (process, started) in enumerate(running):
                if process.is_alive() or stopping:
                    continue
                quick = time.monotonic() - started < QUICK_EXIT
                quick_exits = quick_exits + 1 if quick else 0
                if quick_exits >= MAX_QUICK_EXITS:
                    raise UserError(
                        f"workers keep exiting as they start ({quick_exits} in a row, the last with code "
                        f"{process.exitcode}); the reason is in the log above"
                    )
                logger.warning(
                    "dm3-api: worker %s exited with code %s; starting another", process.pid, process.exitcode
                )
                if quick:
                    time.sleep(RESTART_BACKOFF)
                running[i] = start()
    finally:
        for process, _ in running:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn's graceful shutdown
        for process, _ in running:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()
        holder.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
