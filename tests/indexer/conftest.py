"""Fixtures for the indexer suite: anvil nodes as subprocesses, deployed contracts, SQLite/PostgreSQL URLs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from harness.devnet import Anvil, Devnet, contract_types


@pytest.fixture(scope="session")
def compiled(project: Any) -> dict[str, dict[str, Any]]:
    return contract_types(project)


@pytest.fixture
def anvil() -> Iterator[Anvil]:
    node = Anvil(chain_id=31_010)
    yield node
    node.stop()


@pytest.fixture
def devnet(anvil: Anvil, compiled: dict[str, dict[str, Any]]) -> Devnet:
    net = Devnet(anvil, compiled)
    net.fund()
    return net


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path}/dm3.db"
