"""InboxDeposits with awkward tokens: no return value, fee on transfer, a `burn` that lies."""

from __future__ import annotations

import ape

from .deposits_helpers import COOLDOWN, UNIT, block_timestamp

AMOUNT = 10 * UNIT
DEAD = "0x000000000000000000000000000000000000dEaD"


def test_no_return_token__full_lifecycle(project, deploy_with, owner, senders, recipient, stranger, chain):
    token, deposits = deploy_with(project.NoReturnToken, senders[:2])
    deposits.deposit(recipient, AMOUNT, sender=senders[0])
    deposits.deposit(recipient, AMOUNT, sender=senders[1])
    assert token.balanceOf(deposits) == 2 * AMOUNT

    # No `burn` on the token: burned tokens go to 0x...dEaD, out of everyone's reach.
    deposits.burn(senders[0], 4 * UNIT, sender=recipient)
    assert token.balanceOf(DEAD) == 4 * UNIT

    tx = deposits.request_withdrawal(recipient, sender=senders[1])
    chain.pending_timestamp = block_timestamp(chain, tx) + COOLDOWN
    deposits.withdraw(recipient, stranger, sender=senders[1])
    assert token.balanceOf(stranger) == AMOUNT

    token.mint(deposits, UNIT, sender=owner)
    deposits.sweep_excess(owner, sender=owner)
    assert token.balanceOf(owner) == UNIT
    assert token.balanceOf(deposits) == 6 * UNIT == deposits.total_active()


def test_fee_on_transfer_token__deposit__reverts(project, deploy_with, sender, recipient):
    _, deposits = deploy_with(project.FeeOnTransferToken, [sender])
    with ape.reverts("deposits: fee-on-transfer token"):
        deposits.deposit(recipient, AMOUNT, sender=sender)


def test_lying_burn_token__burn_that_burns_nothing__falls_back_to_dead(
    project, deploy_with, sender, recipient
):
    token, deposits = deploy_with(project.LyingBurnToken, [sender])
    deposits.deposit(recipient, AMOUNT, sender=sender)
    deposits.burn(sender, 3 * UNIT, sender=recipient)
    assert token.balanceOf(DEAD) == 3 * UNIT
    assert token.balanceOf(deposits) == 7 * UNIT


def test_lying_burn_token__burn_that_burns_half__reverts(project, deploy_with, sender, recipient):
    token, deposits = deploy_with(project.LyingBurnToken, [sender])
    deposits.deposit(recipient, AMOUNT, sender=sender)
    token.set_short_burn(True, sender=sender)
    with ape.reverts("deposits: burn failed"):
        deposits.burn(sender, 4 * UNIT, sender=recipient)


def test_plain_snekmate_token__burns_for_real(project, deploy_with, sender, recipient):
    token, deposits = deploy_with(project.PlainERC20, [sender])
    deposits.deposit(recipient, AMOUNT, sender=sender)
    supply = token.totalSupply()
    deposits.burn(sender, AMOUNT, sender=recipient)
    assert token.totalSupply() == supply - AMOUNT
    assert token.balanceOf(DEAD) == 0
