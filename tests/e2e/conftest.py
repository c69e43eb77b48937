"""Fixtures for the end-to-end ENS suite: one devnet per session (two anvils, ENS + Dm3Resolver on L1, a
ProfileRegistry on L2, the indexer and the gateway as subprocesses) with alice's signed dm3 profile published."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from harness.devnet import contract_types
from harness.ens import (
    DEVNET_CONTRACTS,
    ENS_REGISTRY_ARTIFACT,
    EnsDevnet,
    Published,
    dm3_profile_record,
    ens_devnet,
    npm_artifact,
)
from indexer.dm3.profile import PROFILE_KEY

# Fixed test keys (never funded outside the devnet), so failures are reproducible.
ALICE = Account.from_key("0x" + "a1" * 32)
BOB = Account.from_key("0x" + "b0" * 32)


@pytest.fixture(scope="session")
def compiled(project: Any) -> dict[str, Any]:
    return contract_types(project, DEVNET_CONTRACTS)


@pytest.fixture(scope="session")
def published(compiled: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    workdir: Path = tmp_path_factory.mktemp("ens-e2e")
    with ens_devnet(workdir, compiled) as devnet:
        alice_node = devnet.register("alice", ALICE)
        alice_profile = dm3_profile_record(ALICE, ["ds.dm3.eth"])
        devnet.set_text(alice_node, PROFILE_KEY, alice_profile, ALICE)
        devnet.set_addr(alice_node, ALICE.address, ALICE)
        # bob publishes on his address name only: no registration, one write per record.
        devnet.l2.fund(BOB.address)
        bob_name = devnet.address_name(BOB.address)
        bob_node = devnet.profiles.functions.addr_name_node(BOB.address).call()
        devnet.set_addr(bob_node, BOB.address, BOB)
        devnet.set_text(bob_node, "email", "bob@example.org", BOB)
        devnet.index()
        devnet.deploy_proof_mode(compiled)
        devnet.serve()
        yield Published(
            devnet=devnet,
            alice=ALICE,
            bob=BOB,
            alice_name="alice.op.dm3.eth",
            alice_profile=alice_profile,
            bob_name=bob_name,
            bob_email="bob@example.org",
        )


@pytest.fixture(scope="session")
def devnet(published: Published) -> EnsDevnet:
    return published.devnet


@pytest.fixture
def l1_snapshot(devnet: EnsDevnet) -> Iterator[None]:
    """Undo a test's L1 changes (resolver swaps, signer removals) afterwards; the session state is shared."""
    snapshot = devnet.l1.snapshot()
    yield
    devnet.l1.revert(snapshot)


@pytest.fixture
def loopback_gateways(monkeypatch: pytest.MonkeyPatch) -> None:
    """web3.py >= 7.15 refuses CCIP-read gateways on private and loopback hosts (an SSRF guard). The devnet's
    gateway is on 127.0.0.1, so lift the guard for this test only; the product keeps it."""

    def allow(url: str) -> None:
        return None

    async def allow_async(url: str) -> None:
        return None

    monkeypatch.setattr("web3.utils.exception_handling.validate_ccip_url_host", allow)
    monkeypatch.setattr("web3.utils.async_exception_handling.async_validate_ccip_url_host", allow_async)


@pytest.fixture
def l1_web3(devnet: EnsDevnet) -> Web3:
    """A web3.py client of the L1 that follows OffchainLookup to a plain-http gateway."""
    w3 = Web3(Web3.HTTPProvider(devnet.l1.url))
    w3.provider.ccip_read_allow_http = True
    return w3


@pytest.fixture(scope="session")
def ens_abi() -> list[dict[str, Any]]:
    return list(npm_artifact(ENS_REGISTRY_ARTIFACT)["abi"])
