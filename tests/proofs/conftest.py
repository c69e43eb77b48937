"""Fixtures of the proof tests: one devnet (anvil + the dm3 contracts) per module; the tests write to it and
read it back through `eth_getStorageAt` / `eth_getProof`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from harness.devnet import Anvil, Devnet, contract_types


@pytest.fixture(scope="module")
def chain(project: Any) -> Iterator[Devnet]:
    node = Anvil(chain_id=31_010)
    try:
        devnet = Devnet(node, contract_types(project))
        devnet.fund()
        yield devnet
    finally:
        node.stop()
