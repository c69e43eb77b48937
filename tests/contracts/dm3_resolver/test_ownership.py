"""Two-step ownership (snekmate ownable_2step); renouncing is not exposed."""

from __future__ import annotations

from typing import Any

import ape
from eth_utils import keccak

ZERO = "0x" + "00" * 20


def test_owner__after_deploy__deployer(resolver: Any, owner: Any) -> None:
    assert resolver.owner() == owner.address
    assert resolver.pending_owner() == ZERO


def test_transfer_ownership__starts_transfer_only(resolver: Any, owner: Any, stranger: Any) -> None:
    tx = resolver.transfer_ownership(stranger, sender=owner)

    logs = list(tx.decode_logs(resolver.OwnershipTransferStarted))
    assert len(logs) == 1
    assert (logs[0].previous_owner, logs[0].new_owner) == (owner.address, stranger.address)
    assert resolver.owner() == owner.address
    assert resolver.pending_owner() == stranger.address
    # Until accepted, the old owner still rules and the new one does not.
    resolver.set_urls(["https://still-owner.example/"], sender=owner)
    with ape.reverts("ownable: caller is not the owner"):
        resolver.set_urls(["https://not-yet.example/"], sender=stranger)


def test_accept_ownership__by_pending_owner__completes(resolver: Any, owner: Any, stranger: Any) -> None:
    resolver.transfer_ownership(stranger, sender=owner)

    tx = resolver.accept_ownership(sender=stranger)

    logs = list(tx.decode_logs(resolver.OwnershipTransferred))
    assert len(logs) == 1
    assert (logs[0].previous_owner, logs[0].new_owner) == (owner.address, stranger.address)
    assert resolver.owner() == stranger.address
    assert resolver.pending_owner() == ZERO
    resolver.set_urls(["https://new-owner.example/"], sender=stranger)
    with ape.reverts("ownable: caller is not the owner"):
        resolver.set_urls(["https://old-owner.example/"], sender=owner)


def test_accept_ownership__not_pending_owner__reverts(
    resolver: Any, owner: Any, stranger: Any, accounts: Any
) -> None:
    resolver.transfer_ownership(stranger, sender=owner)

    with ape.reverts("ownable_2step: caller is not the new owner"):
        resolver.accept_ownership(sender=accounts[2])


def test_accept_ownership__nothing_pending__reverts(resolver: Any, stranger: Any) -> None:
    with ape.reverts("ownable_2step: caller is not the new owner"):
        resolver.accept_ownership(sender=stranger)


def test_transfer_ownership__not_owner__reverts(resolver: Any, stranger: Any) -> None:
    with ape.reverts("ownable: caller is not the owner"):
        resolver.transfer_ownership(stranger, sender=stranger)


def test_transfer_ownership__to_zero__cancels_pending(resolver: Any, owner: Any, stranger: Any) -> None:
    resolver.transfer_ownership(stranger, sender=owner)

    resolver.transfer_ownership(ZERO, sender=owner)

    assert resolver.pending_owner() == ZERO
    with ape.reverts("ownable_2step: caller is not the new owner"):
        resolver.accept_ownership(sender=stranger)


def test_renounce_ownership__not_exposed(resolver: Any, owner: Any, eth_call: Any) -> None:
    """An ownerless resolver could never rotate a leaked gateway key, so renouncing is not offered."""
    assert not hasattr(resolver, "renounce_ownership")
    ok, _ = eth_call(resolver.address, keccak(text="renounce_ownership()")[:4])
    assert not ok
    assert resolver.owner() == owner.address
