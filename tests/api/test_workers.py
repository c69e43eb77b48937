"""`python -m indexer.api --workers N`: one SO_REUSEPORT socket per worker, a dead worker replaced, a clean stop."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.devnet import free_port
from harness.workers import exiting_worker
from indexer.api import server
from indexer.errors import UserError

ROOT = Path(__file__).resolve().parents[2]


def _workers(supervisor: int) -> list[int]:
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [int(pid) for pid in children if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]


def _sockets(pid: int) -> int:
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # closed meanwhile
            count += os.readlink(fd).startswith("socket:")
    return count


def _wait_up(url: str, process: subprocess.Popen[bytes], *, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the API exited"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the API did not come up")


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    env = {**os.environ, "DM3_DATABASE_URL": f"sqlite:///{tmp_path}/api.db"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "indexer.api",
            "--port",
            str(port),
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_up(f"http://127.0.0.1:{port}/health", process)
        deadline = time.monotonic() + 60
        while len(_workers(process.pid)) < 2:  # both workers up, not only the first
            assert time.monotonic() < deadline
            time.sleep(0.2)
        yield process, port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


def test_connections_opened_at_once__spread_over_both_workers(two_workers):
    process, port = two_workers
    workers = _workers(process.pid)
    deadline = time.monotonic() + 60
    while True:  # the second worker may still be starting its app: wait until both answer
        before = {pid: _sockets(pid) for pid in workers}
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(32)]
        for sock in held:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        for sock in held:
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        gained = {pid: _sockets(pid) - before[pid] for pid in workers}
        for sock in held:
            sock.close()
        if all(gained.values()) or time.monotonic() > deadline:
            break
        time.sleep(1)

    # A shared listening socket let one worker accept the whole burst; SO_REUSEPORT spreads it.
    assert all(count > 0 for count in gained.values()), gained
    # Socket counts, not connections: a worker closing another socket meanwhile (a previous try's connection,
    # seen once under load: 31) moves them by one or two.
    assert sum(gained.values()) >= 28, gained


def test_a_killed_worker__is_replaced_and_sigterm_stops_everything(two_workers):
    process, port = two_workers
    victim = _workers(process.pid)[0]

    os.kill(victim, signal.SIGKILL)

    deadline = time.monotonic() + 90
    while True:
        workers = _workers(process.pid)
        if len(workers) == 2 and victim not in workers:
            break
        assert time.monotonic() < deadline, workers
        time.sleep(0.2)
    assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def test_port_in_use__one_line_error(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "indexer.api", "--port", str(port), "--workers", "2"],
            env={**os.environ, "DM3_DATABASE_URL": f"sqlite:///{tmp_path}/api.db"},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(f"dm3-api: error: cannot listen on 127.0.0.1:{port}: "), done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_workers_exiting_as_they_start__supervisor_gives_up_with_one_error(monkeypatch):
    """A worker that cannot start is not restarted forever: after MAX_QUICK_EXITS in a row the supervisor stops
    and says why (the CLI prints it as one line)."""
    monkeypatch.setattr(server, "RESTART_BACKOFF", 0.05)
    # In this process the supervisor's logging setup would outlive the test (the `indexer` logger no longer
    # propagating to pytest's capture): leave the test process's logging alone.
    monkeypatch.setattr(server.logging.config, "dictConfig", lambda config: None)
    started = time.monotonic()
    with pytest.raises(
        UserError, match=r"workers keep exiting as they start \(5 in a row, the last with code 3\)"
    ):
        server.serve_workers(
            host="127.0.0.1", port=free_port(), workers=2, log_level="warning", target=exiting_worker
        )
    assert time.monotonic() - started < 60
    assert not multiprocessing.active_children()
