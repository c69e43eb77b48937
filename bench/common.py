"""Shared helpers for the benchmarks: machine description, result files and the README tables."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import subprocess
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
README = ROOT / "bench" / "README.md"


def descendants(pid: int) -> list[int]:
    """`pid` and the processes below it (a server's workers are its children), from /proc."""
    out = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):  # the thread or process exited meanwhile
            for child in (task / "children").read_text().split():
                out += descendants(int(child))
    return out


def cpu_seconds(pid: int, *, tree: bool = True) -> float:
    """User + system CPU seconds used so far by a process and (`tree`) its live descendants (Linux
    /proc). A process that exits meanwhile counts 0."""
    total = 0
    for each in descendants(pid) if tree else [pid]:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def stop_processes(processes: list[subprocess.Popen[Any]], *, grace: float = 10.0) -> None:
    """SIGTERM each process, then SIGKILL whichever has not exited after `grace` seconds."""
    for process in processes:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()


def machine() -> dict[str, Any]:
    """Describe the machine a benchmark ran on, so figures are never read without their context."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        anvil = subprocess.run(
            [str(ROOT / "node_modules" / ".bin" / "anvil"), "--version"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.splitlines()[0]
    except (OSError, IndexError):
        anvil = "unknown"
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "anvil": anvil,
        "tools": {pkg: version(pkg) for pkg in ("eth-ape", "vyper", "snekmate", "web3")},
    }


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Write `bench/results/<name>.json` with the machine description attached."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **payload}, indent=2) + "\n")
    return path


def update_readme_table(section: str, table: str) -> None:
    """Replace the block between `<!-- <section>:start -->` and `<!-- <section>:end -->` in bench/README.md."""
    text = README.read_text()
    start, end = f"<!-- {section}:start -->", f"<!-- {section}:end -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    block = f"{start}\n{table.rstrip()}\n{end}"
    text = (
        pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    )
    README.write_text(text)
