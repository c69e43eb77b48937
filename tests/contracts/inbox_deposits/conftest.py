"""Fixtures for InboxDeposits: a Dm3Token-backed deployment, funded senders and EIP-712 signing helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .deposits_helpers import (
    BURN_TYPES,
    COOLDOWN,
    FUNDS,
    MAX_UINT256,
    PERMIT_TYPES,
    RELEASE_TYPES,
    SIGNED_TYPES,
    sign,
    typed_data,
)


@pytest.fixture(scope="session")
def owner(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def senders(accounts):
    return accounts[1:4]


@pytest.fixture(scope="session")
def sender(senders):
    return senders[0]


@pytest.fixture(scope="session")
def recipients(accounts):
    return accounts[4:6]


@pytest.fixture(scope="session")
def recipient(recipients):
    return recipients[0]


@pytest.fixture(scope="session")
def relayer(accounts):
    return accounts[6]


@pytest.fixture(scope="session")
def stranger(accounts):
    return accounts[7]


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
    return {
        "name": "dm3 InboxDeposits",
        "version": "1",
        "chainId": chain_id,
        "verifyingContract": deposits.address,
    }


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
        data = typed_data(primary="Burn", types=BURN_TYPES, domain=domain_override or domain, message=message)
        return sign(private_key, data)

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
        data = typed_data(
            primary="Release", types=RELEASE_TYPES, domain=domain_override or domain, message=message
        )
        return sign(private_key, data)

    return _sign


@pytest.fixture(scope="session")
def sign_signed(domain) -> Callable[..., bytes]:
    """Signs any signed call of InboxDeposits: `sign_signed(key, "Withdraw", sender=..., ..., nonce=, deadline=)`."""

    def _sign(private_key: str, primary: str, **message: Any) -> bytes:
        message = {key: str(value) if hasattr(value, "address") else value for key, value in message.items()}
        data = typed_data(primary=primary, types=SIGNED_TYPES[primary], domain=domain, message=message)
        return sign(private_key, data)

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
        domain = {"name": name, "version": version, "chainId": chain_id, "verifyingContract": token.address}
        message = {
            "owner": str(owner),
            "spender": str(spender),
            "value": value,
            "nonce": token.nonces(owner),
            "deadline": deadline,
        }
        signature = sign(
            private_key, typed_data(primary="Permit", types=PERMIT_TYPES, domain=domain, message=message)
        )
        return signature[64], signature[:32], signature[32:64]

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
