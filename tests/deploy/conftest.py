"""Fixtures for the deploy tooling: the `scripts/deploy.py` click group loaded as a module."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from harness.devnet import free_port_block

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
