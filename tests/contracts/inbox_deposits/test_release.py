"""InboxDeposits.release and release_with_sig: the recipient accepts the sender for good."""

from __future__ import annotations

import ape

from .deposits_helpers import UNIT, bond_of, only_event

AMOUNT = 6 * UNIT
ZERO = "0x0000000000000000000000000000000000000000"


def test_release__marks_accepted_and_logs(deposits, sender, recipient):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    tx = deposits.release(sender, sender=recipient)
    assert bond_of(deposits, sender, recipient) == (AMOUNT, 0, True)
    log = only_event(tx, deposits.Released)
    assert (log.sender, log.recipient, log.bond) == (sender.address, recipient.address, AMOUNT)


def test_release__keeps_the_bond_active_until_withdrawn(deposits, sender, recipient):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    deposits.release(sender, sender=recipient)
    assert deposits.total_active() == AMOUNT
    assert deposits.total_pending() == 0


def test_release__zero_bond__is_pure_acceptance(deposits, sender, recipient):
    deposits.set_min_deposit(UNIT, sender=recipient)
    tx = deposits.release(sender, sender=recipient)
    assert bond_of(deposits, sender, recipient) == (0, 0, True)
    assert only_event(tx, deposits.Released).bond == 0
    assert deposits.is_eligible(sender, recipient)


def test_release__during_cooldown__keeps_the_request_and_allows_withdrawing_at_once(
    deposits, sender, recipient
):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    deposits.request_withdrawal(recipient, sender=sender)
    deposits.release(sender, sender=recipient)
    amount, unlock, accepted = bond_of(deposits, sender, recipient)
    assert (amount, accepted) == (AMOUNT, True)
    assert unlock != 0  # cleared only by Withdrawn, as the indexer rebuilds it
    assert deposits.total_pending() == AMOUNT
    deposits.withdraw(recipient, sender, sender=sender)
    assert deposits.total_pending() == 0


def test_release__twice__reverts(deposits, sender, recipient):
    deposits.release(sender, sender=recipient)
    with ape.reverts("deposits: already accepted"):
        deposits.release(sender, sender=recipient)


def test_release__zero_sender__reverts(deposits, recipient):
    with ape.reverts("deposits: zero sender"):
        deposits.release(ZERO, sender=recipient)


def test_release__only_touches_the_callers_inbox(deposits, sender, recipients, stranger):
    deposits.deposit(recipients[0], AMOUNT, sender=sender)
    deposits.release(sender, sender=stranger)
    assert bond_of(deposits, sender, recipients[0]) == (AMOUNT, 0, False)


def test_release_with_sig__valid__accepts(deposits, sender, recipient, relayer, sign_release, deadline):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    sig = sign_release(recipient.private_key, sender=sender, recipient=recipient, nonce=0, deadline=deadline)
    tx = deposits.release_with_sig(sender, recipient, deadline, sig, sender=relayer)
    assert bond_of(deposits, sender, recipient) == (AMOUNT, 0, True)
    assert deposits.nonces(recipient) == 1
    assert only_event(tx, deposits.Released).recipient == recipient.address


def test_release_with_sig__replayed__reverts(deposits, sender, recipient, relayer, sign_release, deadline):
    sig = sign_release(recipient.private_key, sender=sender, recipient=recipient, nonce=0, deadline=deadline)
    deposits.release_with_sig(sender, recipient, deadline, sig, sender=relayer)
    with ape.reverts("deposits: invalid signature"):
        deposits.release_with_sig(sender, recipient, deadline, sig, sender=relayer)


def test_release_with_sig__expired__reverts(deposits, sender, recipient, relayer, sign_release, chain):
    deadline = chain.pending_timestamp + 60
    sig = sign_release(recipient.private_key, sender=sender, recipient=recipient, nonce=0, deadline=deadline)
    chain.pending_timestamp = deadline + 1
    with ape.reverts("deposits: signature expired"):
        deposits.release_with_sig(sender, recipient, deadline, sig, sender=relayer, gas_limit=300_000)


def test_release_with_sig__signed_by_someone_else__reverts(
    deposits, sender, recipient, stranger, relayer, sign_release, deadline
):
    sig = sign_release(stranger.private_key, sender=sender, recipient=recipient, nonce=0, deadline=deadline)
    with ape.reverts("deposits: invalid signature"):
        deposits.release_with_sig(sender, recipient, deadline, sig, sender=relayer)


def test_release_with_sig__for_another_sender__reverts(
    deposits, senders, recipient, relayer, sign_release, deadline
):
    sig = sign_release(
        recipient.private_key, sender=senders[0], recipient=recipient, nonce=0, deadline=deadline
    )
    with ape.reverts("deposits: invalid signature"):
        deposits.release_with_sig(senders[1], recipient, deadline, sig, sender=relayer)


def test_release_with_sig__other_chain__reverts(
    deposits, sender, recipient, relayer, sign_release, deadline, domain
):
    other = {**domain, "chainId": 10}
    sig = sign_release(
        recipient.private_key,
        sender=sender,
        recipient=recipient,
        nonce=0,
        deadline=deadline,
        domain_override=other,
    )
    with ape.reverts("deposits: invalid signature"):
        deposits.release_with_sig(sender, recipient, deadline, sig, sender=relayer)


def test_release_with_sig__shares_the_nonce_with_burns(
    deposits, sender, recipient, relayer, sign_burn, sign_release, deadline
):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    burn = sign_burn(
        recipient.private_key, sender=sender, recipient=recipient, amount=UNIT, nonce=0, deadline=deadline
    )
    release = sign_release(
        recipient.private_key, sender=sender, recipient=recipient, nonce=0, deadline=deadline
    )
    deposits.burn_with_sig(sender, recipient, UNIT, deadline, burn, sender=relayer)
    with ape.reverts("deposits: invalid signature"):
        deposits.release_with_sig(sender, recipient, deadline, release, sender=relayer)


def test_release_with_sig__erc1271_wallet__accepts(
    project, deposits, owner, sender, stranger, relayer, sign_release, deadline
):
    wallet = project.DepositsTestWallet.deploy(stranger, sender=owner)
    sig = sign_release(stranger.private_key, sender=sender, recipient=wallet, nonce=0, deadline=deadline)
    deposits.release_with_sig(sender, wallet, deadline, sig, sender=relayer)
    assert deposits.bonds(sender, wallet).accepted


def test_release_with_sig__exposes_its_type_hash(deposits):
    from eth_utils import keccak

    expected = keccak(text="Release(address sender,address recipient,uint256 nonce,uint256 deadline)")
    assert deposits.RELEASE_TYPEHASH() == expected
