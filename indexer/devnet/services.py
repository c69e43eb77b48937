"""The hook to run the indexer and the API/gateway against the devnet, as tracked background processes.

    start(state, options)   # dm3-indexer migrate; then dm3-indexer run, and the API on the gateway port
    stop_all(state_dir)

Both read their settings from the devnet's env (`DevnetState.env()`: DM3_CONFIG, DM3_DATABASE_URL, the gateway
key and resolver). The commands are parameters, so a caller can swap in another server command.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from indexer.devnet.anvil import DevnetError, stop_pid
from indexer.devnet.files import DevnetState

SERVICES = ("indexer", "api", "proposer")


def dm3_indexer(*args: str) -> list[str]:
    """`dm3-indexer <args>` from this environment (the console script next to the running Python)."""
    script = Path(sys.executable).with_name("dm3-indexer")
    return [str(script) if script.is_file() else "dm3-indexer", *args]


def indexer_command() -> list[str]:
    return dm3_indexer("run", "--no-progress")


def api_command(port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "--factory", "indexer.api.main:create_app",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip


def start(
    state: DevnetState,
    *,
    state_dir: Path,
    project_root: Path,
    api_port: int,
    indexer: Sequence[str] | None = None,
    api: Sequence[str] | None = None,
    wait: float = 30.0,
) -> dict[str, int]:
    """Migrate the database, start the indexer, the API and one relayer per L2 (`relayer-<chain id>`); wait
    until the API answers `/health`.

    Returns service name -> pid. A service already running (its pid file names a live process) is kept.
    Without the API package (`indexer.api`) only the indexer starts.
    """
    env = {**os.environ, **state.env()}
    migrate = dm3_indexer("migrate")
    done = subprocess.run(migrate, cwd=project_root, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise DevnetError(f"`dm3-indexer migrate` failed:\n{done.stderr[-800:]}")
    pids = {
        "indexer": _spawn(
            "indexer", indexer or indexer_command(), env=env, cwd=project_root, state_dir=state_dir
        )
    }
    if api is not None or importlib.util.find_spec("indexer.api") is not None:
        pids["api"] = _spawn(
            "api", api or api_command(api_port), env=env, cwd=project_root, state_dir=state_dir
        )
        _wait_for_http(f"http://127.0.0.1:{api_port}/health", timeout=wait, state_dir=state_dir)
    if (
        "proof" in state.extra
    ):  # posts output roots of the proven L2 as dispute games (indexer/devnet/proofs.py)
        command = [sys.executable, "-m", "indexer.devnet", "proposer", "--state-dir", str(state_dir)]
        pids["proposer"] = _spawn("proposer", command, env=env, cwd=project_root, state_dir=state_dir)
    if importlib.util.find_spec("indexer.relayer") is not None:
        for chain in state.l2s:
            if "RelayBatcher" in chain.contracts:
                command = [sys.executable, "-m", "indexer.relayer", "run", "--chain-id", str(chain.chain_id)]
                name = f"relayer-{chain.chain_id}"
                pids[name] = _spawn(name, command, env=env, cwd=project_root, state_dir=state_dir)
    return pids


def stop_all(state_dir: Path) -> list[str]:
    """Stop every tracked service; returns the names of those that were running."""
    stopped = []
    relayers = sorted(path.stem for path in state_dir.glob("relayer-*.pid"))
    for name in (*SERVICES, *relayers):
        pid = _tracked(state_dir, name)
        (state_dir / f"{name}.pid").unlink(missing_ok=True)
        if pid is not None:
            stop_pid(pid)
            stopped.append(name)
    return stopped


def _spawn(name: str, command: Sequence[str], *, env: dict[str, str], cwd: Path, state_dir: Path) -> int:
    if (pid := _tracked(state_dir, name)) is not None:
        return pid
    log_path = state_dir / "logs" / f"{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            list(command), cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    (state_dir / f"{name}.pid").write_text(f"{process.pid}\n")
    return process.pid


def _tracked(state_dir: Path, name: str) -> int | None:
    """The pid in `<name>.pid` if that process is alive and is a Python process (a recycled pid is ignored)."""
    try:
        pid = int((state_dir / f"{name}.pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if any(m in cmdline for m in (b"python", b"uvicorn", b"dm3-indexer", b"dm3-relayer")) else None


def _wait_for_http(url: str, *, timeout: float, state_dir: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise DevnetError(
        f"the API did not answer {url} within {timeout:.0f} s; see {state_dir / 'logs' / 'api.log'}"
    )
