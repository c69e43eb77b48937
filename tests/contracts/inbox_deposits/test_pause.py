"""InboxDeposits pause/unpause: blocks new deposits only; every exit keeps working."""

from __future__ import annotations

import ape

from .deposits_helpers import COOLDOWN, UNIT, block_timestamp, only_event

AMOUNT = 5 * UNIT


def test_pause__owner__pauses_and_logs(deposits, owner):
    tx = deposits.pause(sender=owner)
    assert deposits.paused()
    assert only_event(tx, deposits.Paused).account == owner.address


def test_unpause__owner__resumes_deposits(deposits, owner, sender, recipient):
    deposits.pause(sender=owner)
    tx = deposits.unpause(sender=owner)
    assert not deposits.paused()
    assert only_event(tx, deposits.Unpaused).account == owner.address
    deposits.deposit(recipient, AMOUNT, sender=sender)


def test_pause__not_owner__reverts(deposits, stranger):
    with ape.reverts("ownable: caller is not the owner"):
        deposits.pause(sender=stranger)


def test_unpause__not_owner__reverts(deposits, owner, stranger):
    deposits.pause(sender=owner)
    with ape.reverts("ownable: caller is not the owner"):
        deposits.unpause(sender=stranger)


def test_pause__twice__reverts(deposits, owner):
    deposits.pause(sender=owner)
    with ape.reverts("pausable: contract is paused"):
        deposits.pause(sender=owner)


def test_unpause__not_paused__reverts(deposits, owner):
    with ape.reverts("pausable: contract is not paused"):
        deposits.unpause(sender=owner)


def test_pause__blocks_deposits(deposits, owner, sender, recipient, deadline):
    deposits.pause(sender=owner)
    with ape.reverts("deposits: paused"):
        deposits.deposit(recipient, AMOUNT, sender=sender)
    with ape.reverts("deposits: paused"):
        deposits.deposit_with_permit(
            recipient, AMOUNT, deadline, 27, b"\x01" * 32, b"\x02" * 32, sender=sender
        )


def test_pause__never_blocks_an_exit(
    deposits, token, owner, senders, recipient, relayer, sign_burn, sign_release, deadline, chain
):
    burned, released, leaving = senders
    for account in senders:
        deposits.deposit(recipient, AMOUNT, sender=account)
    request = deposits.request_withdrawal(recipient, sender=leaving)
    deposits.pause(sender=owner)

    deposits.set_min_deposit(UNIT, sender=recipient)
    deposits.burn(burned, UNIT, sender=recipient)
    sig = sign_burn(
        recipient.private_key, sender=burned, recipient=recipient, amount=UNIT, nonce=0, deadline=deadline
    )
    deposits.burn_with_sig(burned, recipient, UNIT, deadline, sig, sender=relayer)
    sig = sign_release(
        recipient.private_key, sender=released, recipient=recipient, nonce=1, deadline=deadline
    )
    deposits.release_with_sig(released, recipient, deadline, sig, sender=relayer)
    deposits.withdraw(recipient, released, sender=released)
    deposits.request_withdrawal(recipient, sender=burned)
    chain.pending_timestamp = block_timestamp(chain, request) + COOLDOWN
    deposits.withdraw(recipient, leaving, sender=leaving)

    assert deposits.paused()
    assert deposits.bond(released, recipient) == 0
    assert deposits.bond(leaving, recipient) == 0
    # Only `burned`'s request is left: its bond, less the two burns, is pending.
    assert (deposits.total_active(), deposits.total_pending()) == (0, AMOUNT - 2 * UNIT)


def test_renounce_ownership__while_paused__reverts(deposits, owner):
    deposits.pause(sender=owner)
    with ape.reverts("deposits: unpause first"):
        deposits.renounce_ownership(sender=owner)


def test_renounce_ownership__unpaused__leaves_no_owner(deposits, owner):
    deposits.renounce_ownership(sender=owner)
    assert deposits.owner() == "0x0000000000000000000000000000000000000000"
    with ape.reverts("ownable: caller is not the owner"):
        deposits.pause(sender=owner)


def test_renounce_ownership__not_owner__reverts(deposits, stranger):
    with ape.reverts("ownable: caller is not the owner"):
        deposits.renounce_ownership(sender=stranger)


def test_transfer_ownership__two_steps(deposits, owner, stranger):
    deposits.transfer_ownership(stranger, sender=owner)
    assert deposits.owner() == owner.address
    assert deposits.pending_owner() == stranger.address
    with ape.reverts("ownable_2step: caller is not the new owner"):
        deposits.accept_ownership(sender=owner)
    deposits.accept_ownership(sender=stranger)
    assert deposits.owner() == stranger.address
    deposits.pause(sender=stranger)
    with ape.reverts("ownable: caller is not the owner"):
        deposits.unpause(sender=owner)


def test_transfer_ownership__not_owner__reverts(deposits, stranger):
    with ape.reverts("ownable: caller is not the owner"):
        deposits.transfer_ownership(stranger, sender=stranger)
