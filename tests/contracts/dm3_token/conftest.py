"""Fixtures for Dm3Token: one deployment per session (ape isolates each test) and an EIP-2612 signer."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness import signing


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
        return signing.sign_permit(
            private_key,
            token=token,
            name="dm3",
            chain_id=chain.chain_id if chain_id is None else chain_id,
            owner=owner,
            spender=spender,
            value=value,
            nonce=token.nonces(owner) if nonce is None else nonce,
            deadline=deadline,
        )

    return _sign
