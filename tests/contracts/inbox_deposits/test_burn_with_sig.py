"""InboxDeposits.burn_with_sig: a relayer carries the recipient's EIP-712 burn order."""

from __future__ import annotations

import ape

from .deposits_helpers import UNIT, only_event

AMOUNT = 10 * UNIT
BURN = 3 * UNIT


def _order(sign_burn, key, sender, recipient, deadline, *, nonce=0, amount=BURN, **extra):
    return sign_burn(
        key, sender=sender, recipient=recipient, amount=amount, nonce=nonce, deadline=deadline, **extra
    )


def test_burn_with_sig__valid__burns_and_uses_the_nonce(
    deposits, token, sender, recipient, relayer, sign_burn, deadline
):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    supply = token.totalSupply()
    sig = _order(sign_burn, recipient.private_key, sender, recipient, deadline)
    tx = deposits.burn_with_sig(sender, recipient, BURN, deadline, sig, sender=relayer)
    assert deposits.bond(sender, recipient) == AMOUNT - BURN
    assert token.totalSupply() == supply - BURN
    assert deposits.nonces(recipient) == 1
    log = only_event(tx, deposits.Burned)
    assert (log.sender, log.recipient, log.amount, log.bond) == (
        sender.address,
        recipient.address,
        BURN,
        AMOUNT - BURN,
    )


def test_burn_with_sig__second_order_uses_the_next_nonce(
    deposits, sender, recipient, relayer, sign_burn, deadline
):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    for nonce in range(2):
        sig = _order(sign_burn, recipient.private_key, sender, recipient, deadline, nonce=nonce)
        deposits.burn_with_sig(sender, recipient, BURN, deadline, sig, sender=relayer)
    assert deposits.bond(sender, recipient) == AMOUNT - 2 * BURN


def test_burn_with_sig__replayed__reverts(deposits, sender, recipient, relayer, sign_burn, deadline):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    sig = _order(sign_burn, recipient.private_key, sender, recipient, deadline)
    deposits.burn_with_sig(sender, recipient, BURN, deadline, sig, sender=relayer)
    with ape.reverts("deposits: invalid signature"):
        deposits.burn_with_sig(sender, recipient, BURN, deadline, sig, sender=relayer)


def test_burn_with_sig__expired__reverts(deposits, sender, recipient, relayer, sign_burn, chain):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    deadline = chain.pending_timestamp + 60
    sig = _order(sign_burn, recipient.private_key, sender, recipient, deadline)
    chain.pending_timestamp = deadline + 1
    with ape.reverts("deposits: signature expired"):
        deposits.burn_with_sig(sender, recipient, BURN, deadline, sig, sender=relayer, gas_limit=300_000)


def test_burn_with_sig__at_the_deadline__works(deposits, sender, recipient, relayer, sign_burn, chain):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    deadline = chain.pending_timestamp + 60
    sig = _order(sign_burn, recipient.private_key, sender, recipient, deadline)
    chain.pending_timestamp = deadline
    deposits.burn_with_sig(sender, recipient, BURN, deadline, sig, sender=relayer)
    assert deposits.bond(sender, recipient) == AMOUNT - BURN


def test_burn_with_sig__signed_by_someone_else__reverts(
    deposits, sender, recipient, stranger, relayer, sign_burn, deadline
):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    sig = _order(sign_burn, stranger.private_key, sender, recipient, deadline)
    with ape.reverts("deposits: invalid signature"):
        deposits.burn_with_sig(sender, recipient, BURN, deadline, sig, sender=relayer)


def test_burn_with_sig__tampered_amount__reverts(deposits, sender, recipient, relayer, sign_burn, deadline):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    sig = _order(sign_burn, recipient.private_key, sender, recipient, deadline)
    with ape.reverts("deposits: invalid signature"):
        deposits.burn_with_sig(sender, recipient, BURN + 1, deadline, sig, sender=relayer)


def test_burn_with_sig__other_chain__reverts(
    deposits, sender, recipient, relayer, sign_burn, deadline, domain
):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    other = {**domain, "chainId": domain["chainId"] + 1}
    sig = _order(sign_burn, recipient.private_key, sender, recipient, deadline, domain_override=other)
    with ape.reverts("deposits: invalid signature"):
        deposits.burn_with_sig(sender, recipient, BURN, deadline, sig, sender=relayer)


def test_burn_with_sig__other_contract__reverts(
    deposits, token, sender, recipient, relayer, sign_burn, deadline, domain
):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    other = {**domain, "verifyingContract": token.address}
    sig = _order(sign_burn, recipient.private_key, sender, recipient, deadline, domain_override=other)
    with ape.reverts("deposits: invalid signature"):
        deposits.burn_with_sig(sender, recipient, BURN, deadline, sig, sender=relayer)


def test_burn_with_sig__release_order_cannot_burn(
    deposits, sender, recipient, relayer, sign_release, deadline
):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    sig = sign_release(recipient.private_key, sender=sender, recipient=recipient, nonce=0, deadline=deadline)
    with ape.reverts("deposits: invalid signature"):
        deposits.burn_with_sig(sender, recipient, BURN, deadline, sig, sender=relayer)


def test_burn_with_sig__erc1271_wallet__valid_key_burns(
    project, deposits, owner, sender, stranger, relayer, sign_burn, deadline
):
    wallet = project.DepositsTestWallet.deploy(stranger, sender=owner)
    deposits.deposit(wallet, AMOUNT, sender=sender)
    sig = _order(sign_burn, stranger.private_key, sender, wallet, deadline)
    deposits.burn_with_sig(sender, wallet, BURN, deadline, sig, sender=relayer)
    assert deposits.bond(sender, wallet) == AMOUNT - BURN
    assert deposits.nonces(wallet) == 1


def test_burn_with_sig__erc1271_wallet__wrong_key_reverts(
    project, deposits, owner, sender, recipient, stranger, relayer, sign_burn, deadline
):
    wallet = project.DepositsTestWallet.deploy(stranger, sender=owner)
    deposits.deposit(wallet, AMOUNT, sender=sender)
    sig = _order(sign_burn, recipient.private_key, sender, wallet, deadline)
    with ape.reverts("deposits: invalid signature"):
        deposits.burn_with_sig(sender, wallet, BURN, deadline, sig, sender=relayer)


def test_burn_with_sig__accepted_pair__reverts(deposits, sender, recipient, relayer, sign_burn, deadline):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    deposits.release(sender, sender=recipient)
    sig = _order(sign_burn, recipient.private_key, sender, recipient, deadline)
    with ape.reverts("deposits: pair accepted"):
        deposits.burn_with_sig(sender, recipient, BURN, deadline, sig, sender=relayer)


def test_burn_with_sig__exposes_its_type_hash(deposits):
    from eth_utils import keccak

    expected = keccak(
        text="Burn(address sender,address recipient,uint256 amount,uint256 nonce,uint256 deadline)"
    )
    assert deposits.BURN_TYPEHASH() == expected
