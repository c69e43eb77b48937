"""InboxDeposits as an attacker sees it: signed burns and releases with the zero address as signer and empty,
short, over-long and all-zero signatures, a bond burned after its unlock time (front-running `withdraw`), a
withdrawal into the contract itself, and every owner-only function called by someone else. Nothing may change:
no bond, no nonce, no event.
"""

from __future__ import annotations

import ape
import pytest

from .deposits_helpers import COOLDOWN, UNIT, block_timestamp, bond_of

ZERO = "0x0000000000000000000000000000000000000000"
AMOUNT = 10 * UNIT
FORGED = {
    "empty": b"",
    "one byte": b"\x01",
    "63 bytes": b"\x01" * 63,
    "64 zero bytes": b"\x00" * 64,
    "65 zero bytes": b"\x00" * 65,
}


@pytest.mark.parametrize("signature", list(FORGED.values()), ids=list(FORGED))
def test_release_with_sig__zero_signer__reverts(deposits, sender, relayer, deadline, signature):
    # Before the fix: Released(sender, recipient=0x0) and the zero address's nonce consumed.
    with ape.reverts("deposits: zero signer"):
        deposits.release_with_sig(sender, ZERO, deadline, signature, sender=relayer)
    assert deposits.nonces(ZERO) == 0
    assert bond_of(deposits, sender, ZERO) == (0, 0, False)


@pytest.mark.parametrize("signature", list(FORGED.values()), ids=list(FORGED))
def test_burn_with_sig__zero_signer__reverts(deposits, sender, relayer, deadline, signature):
    with ape.reverts("deposits: zero signer"):
        deposits.burn_with_sig(sender, ZERO, UNIT, deadline, signature, sender=relayer)
    assert deposits.nonces(ZERO) == 0


@pytest.mark.parametrize("signature", [b"", b"\x01", b"\x01" * 63], ids=["empty", "one byte", "63 bytes"])
def test_signed__wrong_length__reverts(deposits, sender, recipient, relayer, deadline, signature):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    with ape.reverts("deposits: invalid signature length"):
        deposits.burn_with_sig(sender, recipient, UNIT, deadline, signature, sender=relayer)
    with ape.reverts("deposits: invalid signature length"):
        deposits.release_with_sig(sender, recipient, deadline, signature, sender=relayer)
    assert bond_of(deposits, sender, recipient) == (AMOUNT, 0, False)
    assert deposits.nonces(recipient) == 0


def test_signed__66_bytes__refused_by_the_abi(deposits, sender, recipient, relayer, deadline):
    with ape.reverts():
        deposits.release_with_sig(sender, recipient, deadline, b"\x01" * 66, sender=relayer)
    assert not deposits.bonds(sender, recipient).accepted


@pytest.mark.parametrize("signature", [b"\x00" * 64, b"\x00" * 65], ids=["64 zero bytes", "65 zero bytes"])
def test_signed__all_zero_signature__reverts(deposits, sender, recipient, relayer, deadline, signature):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    with ape.reverts():
        deposits.burn_with_sig(sender, recipient, UNIT, deadline, signature, sender=relayer)
    assert deposits.bond(sender, recipient) == AMOUNT
    assert deposits.nonces(recipient) == 0


def test_signed__sender_signs_for_the_recipient__reverts(
    deposits, sender, recipient, relayer, deadline, sign_burn, sign_release
):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    sig = sign_release(sender.private_key, sender=sender, recipient=recipient, nonce=0, deadline=deadline)
    with ape.reverts("deposits: invalid signature"):
        deposits.release_with_sig(sender, recipient, deadline, sig, sender=relayer)
    sig = sign_burn(
        sender.private_key, sender=sender, recipient=recipient, amount=UNIT, nonce=0, deadline=deadline
    )
    with ape.reverts("deposits: invalid signature"):
        deposits.burn_with_sig(sender, recipient, UNIT, deadline, sig, sender=relayer)


def test_signed__release_signature_replayed_as_burn__reverts(
    deposits, sender, recipient, relayer, deadline, sign_release
):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    sig = sign_release(recipient.private_key, sender=sender, recipient=recipient, nonce=0, deadline=deadline)
    with ape.reverts("deposits: invalid signature"):
        deposits.burn_with_sig(sender, recipient, AMOUNT, deadline, sig, sender=relayer)
    deposits.release_with_sig(sender, recipient, deadline, sig, sender=relayer)
    with ape.reverts("deposits: invalid signature"):
        deposits.release_with_sig(sender, recipient, deadline, sig, sender=relayer)


def _request(deposits, sender, recipient, chain) -> int:
    deposits.deposit(recipient, AMOUNT, sender=sender)
    tx = deposits.request_withdrawal(recipient, sender=sender)
    return block_timestamp(chain, tx) + COOLDOWN


def test_burn__one_second_before_unlock__allowed(deposits, sender, recipient, chain):
    unlock = _request(deposits, sender, recipient, chain)
    chain.pending_timestamp = unlock - 1
    deposits.burn(sender, UNIT, sender=recipient)
    assert deposits.bond(sender, recipient) == AMOUNT - UNIT


@pytest.mark.parametrize("after", [0, 1, 30 * 86_400], ids=["at unlock", "a second later", "a month later"])
def test_burn__from_unlock_time__reverts(deposits, sender, recipient, chain, after):
    # From its unlock time the bond is the sender's: the recipient cannot front-run `withdraw` with a burn.
    unlock = _request(deposits, sender, recipient, chain)
    chain.pending_timestamp = unlock + after
    with ape.reverts("deposits: withdrawal unlocked"):
        deposits.burn(sender, UNIT, sender=recipient)
    deposits.withdraw(recipient, sender, sender=sender)
    assert bond_of(deposits, sender, recipient) == (0, 0, False)


def test_burn_with_sig__signed_before_unlock_sent_after__reverts(
    deposits, sender, recipient, relayer, chain, sign_burn
):
    unlock = _request(deposits, sender, recipient, chain)
    deadline = unlock + 3_600
    sig = sign_burn(
        recipient.private_key, sender=sender, recipient=recipient, amount=AMOUNT, nonce=0, deadline=deadline
    )
    chain.pending_timestamp = unlock
    with ape.reverts("deposits: withdrawal unlocked"):
        deposits.burn_with_sig(sender, recipient, AMOUNT, deadline, sig, sender=relayer)
    assert deposits.nonces(recipient) == 0
    assert deposits.bond(sender, recipient) == AMOUNT


def test_withdraw__to_the_contract_itself__reverts(deposits, token, sender, recipient, chain):
    unlock = _request(deposits, sender, recipient, chain)
    chain.pending_timestamp = unlock
    with ape.reverts("deposits: receiver is this contract"):
        deposits.withdraw(recipient, deposits, sender=sender)
    assert deposits.bond(sender, recipient) == AMOUNT
    assert token.balanceOf(deposits) == AMOUNT


def test_withdraw__someone_elses_bond__reverts(deposits, sender, recipient, stranger, chain):
    unlock = _request(deposits, sender, recipient, chain)
    chain.pending_timestamp = unlock
    # `withdraw` only ever reads the caller's own pair: the stranger has none, the recipient has none.
    for who in (stranger, recipient):
        with ape.reverts("deposits: no withdrawal requested"):
            deposits.withdraw(recipient, who, sender=who)
    assert deposits.bond(sender, recipient) == AMOUNT


def test_release_then_burn__reverts(deposits, sender, recipient):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    deposits.release(sender, sender=recipient)
    with ape.reverts("deposits: pair accepted"):
        deposits.burn(sender, UNIT, sender=recipient)


OWNER_ONLY = {
    "pause": (),
    "unpause": (),
    "renounce_ownership": (),
    "transfer_ownership": ("stranger",),
    "sweep_excess": ("stranger",),
}


@pytest.mark.parametrize("method", list(OWNER_ONLY), ids=list(OWNER_ONLY))
def test_owner_only__anyone_else__reverts(deposits, owner, stranger, sender, recipient, method):
    args = [stranger if arg == "stranger" else arg for arg in OWNER_ONLY[method]]
    for who in (stranger, sender, recipient):
        with ape.reverts("ownable: caller is not the owner"):
            getattr(deposits, method)(*args, sender=who)
    assert deposits.owner() == owner


def test_accept_ownership__not_the_pending_owner__reverts(deposits, owner, stranger, sender):
    deposits.transfer_ownership(sender, sender=owner)
    with ape.reverts("ownable_2step: caller is not the new owner"):
        deposits.accept_ownership(sender=stranger)
    assert deposits.owner() == owner
