"""Fixtures for InboxDeposits: a Dm3Token-backed deployment, funded senders and EIP-712 signing helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harness import signing

from .deposits_helpers import COOLDOWN, FUNDS, MAX_UINT256


@pytest.fixture(scope="session")
def token(project, owner, senders):
    token = project.Dm3Token.deploy(owner, sender=owner)
    for account in senders:
        token.mint(account, FUNDS, sender=owner)
    return token


@pytest.fixture(scope="session")
def deposits(project, owner, token, senders):
    deposits = project.InboxDeposits.deploy(token, COOLDOWN, owner, sender=owner)
    for account in senders:
        token.approve(deposits, MAX_UINT256, sender=account)
    return deposits


@pytest.fixture(scope="session")
def chain_id(chain) -> int:
    return chain.chain_id


@pytest.fixture(scope="session")
def domain(deposits, chain_id) -> dict[str, Any]:
    return signing.domain("InboxDeposits", chain_id=chain_id, verifying_contract=deposits.address)


@pytest.fixture(scope="session")
def sign_burn(domain) -> Callable[..., bytes]:
    def _sign(
        private_key: str,
        *,
        sender: str,
        recipient: str,
        amount: int,
        nonce: int,
        deadline: int,
        domain_override: dict[str, Any] | None = None,
    ) -> bytes:
        message = {
            "sender": str(sender),
            "recipient": str(recipient),
            "amount": amount,
            "nonce": nonce,
            "deadline": deadline,
        }
        return signing.sign_write(private_key, "Burn", message, domain=domain_override or domain)

    return _sign


@pytest.fixture(scope="session")
def sign_release(domain) -> Callable[..., bytes]:
    def _sign(
        private_key: str,
        *,
        sender: str,
        recipient: str,
        nonce: int,
        deadline: int,
        domain_override: dict[str, Any] | None = None,
    ) -> bytes:
        message = {"sender": str(sender), "recipient": str(recipient), "nonce": nonce, "deadline": deadline}
        return signing.sign_write(private_key, "Release", message, domain=domain_override or domain)

    return _sign


@pytest.fixture(scope="session")
def sign_signed(domain) -> Callable[..., bytes]:
    """Signs any signed call of InboxDeposits: `sign_signed(key, "Withdraw", sender=..., ..., nonce=, deadline=)`."""

    def _sign(private_key: str, primary: str, **message: Any) -> bytes:
        return signing.sign_write(private_key, primary, message, domain=domain)

    return _sign


@pytest.fixture(scope="session")
def sign_permit(chain_id) -> Callable[..., tuple[int, bytes, bytes]]:
    """EIP-2612 permit for a snekmate token (domain name/version as given); returns (v, r, s)."""

    def _sign(
        private_key: str,
        *,
        token: Any,
        name: str,
        owner: str,
        spender: str,
        value: int,
        deadline: int,
        version: str = "1",
    ) -> tuple[int, bytes, bytes]:
        return signing.sign_permit(
            private_key,
            token=token,
            name=name,
            version=version,
            chain_id=chain_id,
            owner=owner,
            spender=spender,
            value=value,
            nonce=token.nonces(owner),
            deadline=deadline,
        )

    return _sign


@pytest.fixture
def deadline(chain) -> int:
    return chain.pending_timestamp + 3_600


@pytest.fixture(scope="session")
def deploy_with(project, owner) -> Callable[..., Any]:
    """Deploys an InboxDeposits over `token_type` (a project contract with a public `mint`), funds and
    approves `holders`; returns (token, deposits)."""

    def _deploy(token_type: Any, holders: list[Any], funds: int = FUNDS) -> tuple[Any, Any]:
        token = token_type.deploy(sender=owner)
        deposits = project.InboxDeposits.deploy(token, COOLDOWN, owner, sender=owner)
        for holder in holders:
            token.mint(holder, funds, sender=owner)
            token.approve(deposits, MAX_UINT256, sender=holder)
        return token, deposits

    return _deploy
