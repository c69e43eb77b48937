"""Fixtures for the deploy tooling: the `scripts/deploy.py` click group loaded as a module."""

from __future__ import annotations

import importlib.util
import socket
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def deploy_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dm3_deploy_script", ROOT / "scripts" / "deploy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def free_ports() -> Callable[[int], int]:
    """`free_ports(n)`: the first of n consecutive free loopback ports."""
    return free_port_block


def free_port_block(size: int) -> int:
    """The first of `size` consecutive free loopback ports (from the OS's pick, so parallel runs differ)."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            base = sock.getsockname()[1]
        if base + size > 65535:
            continue
        if all(_free(base + i) for i in range(size)):
            return base
    raise RuntimeError("no block of free ports")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
