"""ProfileRegistry fixtures: one deployment per session, names and nodes, EIP-712 signing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harness import signing

from .registry_helpers import PARENT, name_node

Signer = Callable[..., bytes]


@pytest.fixture(scope="session")
def registry(project, deployer):
    return deployer.deploy(project.ProfileRegistry, PARENT)


@pytest.fixture(scope="session")
def alice_name(registry, alice) -> bytes:
    """`alice.op.dm3.eth`, registered to alice once for the whole session."""
    registry.register("alice", alice, sender=alice)
    return name_node("alice")


@pytest.fixture(scope="session")
def sign(chain, registry) -> Signer:
    """Signs a write for the registry's domain; chain id and contract can be overridden."""

    def _sign(
        private_key: str,
        primary_type: str,
        message: dict[str, Any],
        *,
        chain_id: int | None = None,
        verifying_contract: str | None = None,
    ) -> bytes:
        domain = signing.domain(
            "ProfileRegistry",
            chain_id=chain.chain_id if chain_id is None else chain_id,
            verifying_contract=registry.address if verifying_contract is None else verifying_contract,
        )
        return signing.sign_write(private_key, primary_type, message, domain=domain)

    return _sign


@pytest.fixture
def deadline(chain) -> int:
    """A deadline an hour ahead."""
    return chain.pending_timestamp + 3600
