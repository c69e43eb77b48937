"""Fixtures for Dm3Token: one deployment per session (ape isolates each test) and an EIP-2612 signer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data


@pytest.fixture(scope="session")
def owner(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def alice(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def bob(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def token(project, owner):
    return project.Dm3Token.deploy(owner, sender=owner)


@pytest.fixture(scope="session")
def sign_permit(chain, token) -> Callable[..., tuple[int, bytes, bytes]]:
    """Signs an EIP-2612 permit for `token` (domain "dm3", "1"); returns (v, r, s)."""

    def _sign(
        private_key: str,
        *,
        owner: str,
        spender: str,
        value: int,
        deadline: int,
        nonce: int | None = None,
        chain_id: int | None = None,
    ) -> tuple[int, bytes, bytes]:
        data: dict[str, Any] = {
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                "Permit": [
                    {"name": "owner", "type": "address"},
                    {"name": "spender", "type": "address"},
                    {"name": "value", "type": "uint256"},
                    {"name": "nonce", "type": "uint256"},
                    {"name": "deadline", "type": "uint256"},
                ],
            },
            "primaryType": "Permit",
            "domain": {
                "name": "dm3",
                "version": "1",
                "chainId": chain.chain_id if chain_id is None else chain_id,
                "verifyingContract": token.address,
            },
            "message": {
                "owner": str(owner),
                "spender": str(spender),
                "value": value,
                "nonce": token.nonces(owner) if nonce is None else nonce,
                "deadline": deadline,
            },
        }
        signature = bytes(Account.sign_message(encode_typed_data(full_message=data), private_key).signature)
        return signature[64], signature[:32], signature[32:64]

    return _sign
