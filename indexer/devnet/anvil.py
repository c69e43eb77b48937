"""Starting, checking and stopping one anvil per chain, tracked by pid files."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from web3 import HTTPProvider, Web3

from indexer.devnet.constants import DEV_MNEMONIC, DevnetChain
from indexer.errors import UserError


class DevnetError(UserError):
    """The devnet cannot be brought up or down; the message says why and what to do."""


def anvil_binary(project_root: Path) -> str:
    """The native anvil from npm (not its node wrapper, so the pid we track is anvil itself), else PATH's."""
    if override := os.environ.get("DM3_ANVIL"):
        return override
    for candidate in sorted((project_root / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil")):
        if os.access(candidate, os.X_OK):
            return str(candidate)
    if found := shutil.which("anvil"):
        return found
    raise DevnetError("anvil not found: run `make setup` (npm installs @foundry-rs/anvil) or set DM3_ANVIL")


def pid_file(state_dir: Path, chain: DevnetChain) -> Path:
    return state_dir / f"anvil-{chain.ecosystem}.pid"


def log_file(state_dir: Path, chain: DevnetChain) -> Path:
    return state_dir / "logs" / f"anvil-{chain.ecosystem}.log"


def rpc_chain_id(url: str, *, timeout: float = 2.0) -> int | None:
    """The chain id an RPC endpoint reports, or None when nothing answers there."""
    try:
        return int(Web3(HTTPProvider(url, request_kwargs={"timeout": timeout})).eth.chain_id)
    except Exception:
        return None


def tracked_pid(state_dir: Path, chain: DevnetChain) -> int | None:
    """The pid of this chain's anvil if its pid file names a live anvil process, else None."""
    path = pid_file(state_dir, chain)
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _is_anvil(pid) else None


def is_running(state_dir: Path, chain: DevnetChain) -> bool:
    """Our anvil is alive and answers with the chain's id."""
    return tracked_pid(state_dir, chain) is not None and rpc_chain_id(chain.rpc_url) == chain.chain_id


def start(
    project_root: Path,
    state_dir: Path,
    chain: DevnetChain,
    *,
    timeout: float = 20.0,
    extra_args: Sequence[str] = (),
) -> int:
    """Start anvil for `chain` in its own session (it outlives this process) and wait until it answers.

    `extra_args` go to anvil as they are (tests use `--prune-history` for a node without past state).
    """
    if _port_in_use(chain.port):
        other = rpc_chain_id(chain.rpc_url)
        what = f"a node of chain {other}" if other is not None else "another program"
        raise DevnetError(
            f"port {chain.port} ({chain.ecosystem}) is taken by {what} not started by this devnet; "
            "stop it or choose other ports (--base-port)"
        )
    log_path = log_file(state_dir, chain)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [
        anvil_binary(project_root),
        "--host", "127.0.0.1",
        "--port", str(chain.port),
        "--chain-id", str(chain.chain_id),
        "--mnemonic", DEV_MNEMONIC,
        "--accounts", "10",
        "--balance", "10000",
        "--hardfork", "cancun",
        *extra_args,
    ]  # fmt: skip
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    pid_file(state_dir, chain).write_text(f"{process.pid}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pid_file(state_dir, chain).unlink(missing_ok=True)
            tail = log_path.read_text(errors="replace")[-800:]
            raise DevnetError(f"anvil for {chain.ecosystem} exited with status {process.returncode}:\n{tail}")
        if rpc_chain_id(chain.rpc_url, timeout=0.5) == chain.chain_id:
            return process.pid
        time.sleep(0.1)
    stop_pid(process.pid)
    pid_file(state_dir, chain).unlink(missing_ok=True)
    raise DevnetError(f"anvil for {chain.ecosystem} did not answer on {chain.rpc_url} within {timeout:.0f} s")


def stop(state_dir: Path, chain: DevnetChain) -> bool:
    """Stop this chain's anvil if ours is running; True when one was stopped. Removes the pid file."""
    pid = tracked_pid(state_dir, chain)
    pid_file(state_dir, chain).unlink(missing_ok=True)
    if pid is None:
        return False
    stop_pid(pid)
    return True


def stop_pid(pid: int, *, timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL if the process is still there after `timeout` seconds."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def _alive(pid: int) -> bool:
    try:
        # A zombie (our own exited child not yet reaped) counts as gone.
        status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    if status == "Z":
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


def _is_anvil(pid: int) -> bool:
    """The pid is alive and is an anvil (a recycled pid of another program is never signalled)."""
    if not _alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc (macOS): trust the pid file
    return bool(cmdline) and Path(cmdline[0].decode(errors="replace")).name == "anvil"


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
