"""Shared helpers for the benchmarks: machine description, result files and the README tables."""

from __future__ import annotations

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
