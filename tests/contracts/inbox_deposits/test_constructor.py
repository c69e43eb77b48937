"""InboxDeposits constructor: token, cooldown bounds, owner (an argument; the deployer gets nothing), EIP-712 domain."""

from __future__ import annotations

import ape
from eth_abi import encode
from eth_utils import keccak

from indexer.deploy.create2 import PROXY

from .deposits_helpers import COOLDOWN

DAY = 86_400
ZERO = "0x0000000000000000000000000000000000000000"


def test_constructor__sets_immutables_and_owner(deposits, token, owner):
    assert deposits.TOKEN() == token.address
    assert deposits.COOLDOWN() == COOLDOWN
    assert deposits.owner() == owner.address
    assert deposits.pending_owner() == "0x0000000000000000000000000000000000000000"
    assert not deposits.paused()
    assert deposits.DEFAULT_COOLDOWN() == 7 * DAY == 604_800
    assert deposits.MAX_COOLDOWN() == 365 * DAY
    assert deposits.DEAD() == "0x000000000000000000000000000000000000dEaD"


def test_constructor__starts_empty(deposits):
    assert deposits.total_active() == 0
    assert deposits.total_pending() == 0


def test_constructor__eip712_domain(deposits, chain_id):
    fields, name, version, chain, contract, salt, extensions = deposits.eip712Domain()
    assert (bytes(fields), name, version, chain, contract) == (
        b"\x0f",
        "dm3 InboxDeposits",
        "1",
        chain_id,
        deposits.address,
    )
    assert (bytes(salt), extensions) == (b"\x00" * 32, [])
    expected = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                keccak(
                    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
                ),
                keccak(text="dm3 InboxDeposits"),
                keccak(text="1"),
                chain_id,
                deposits.address,
            ],
        )
    )
    assert deposits.DOMAIN_SEPARATOR() == expected


def test_constructor__zero_cooldown__reverts(project, token, owner):
    with ape.reverts("deposits: zero cooldown"):
        project.InboxDeposits.deploy(token, 0, owner, sender=owner)


def test_constructor__cooldown_over_a_year__reverts(project, token, owner):
    with ape.reverts("deposits: cooldown too long"):
        project.InboxDeposits.deploy(token, 365 * DAY + 1, owner, sender=owner)


def test_constructor__bounds_are_inclusive(project, token, owner):
    assert project.InboxDeposits.deploy(token, 1, owner, sender=owner).COOLDOWN() == 1
    assert project.InboxDeposits.deploy(token, 365 * DAY, owner, sender=owner).COOLDOWN() == 365 * DAY


def test_constructor__token_not_a_contract__reverts(project, owner, stranger):
    with ape.reverts("deposits: token is not a contract"):
        project.InboxDeposits.deploy(stranger, COOLDOWN, owner, sender=owner)


def test_constructor__zero_owner__reverts(project, token, owner):
    with ape.reverts("deposits: zero owner"):
        project.InboxDeposits.deploy(token, COOLDOWN, ZERO, sender=owner)


def _no_owner_rights(deposits, account):
    """`account` can neither pause, nor sweep, nor move or end the ownership."""
    for call in (
        lambda: deposits.pause(sender=account),
        lambda: deposits.sweep_excess(account, sender=account),
        lambda: deposits.transfer_ownership(account, sender=account),
        lambda: deposits.renounce_ownership(sender=account),
    ):
        with ape.reverts("ownable: caller is not the owner"):
            call()


def test_constructor__owner_other_than_the_deployer__owner_has_every_right(
    project, token, owner, stranger, chain
):
    deposits = project.InboxDeposits.deploy(token, COOLDOWN, stranger, sender=owner)

    assert deposits.owner() == stranger.address
    assert deposits.pending_owner() == ZERO
    _no_owner_rights(deposits, owner)
    deposits.pause(sender=stranger)
    assert deposits.paused()
    receipt = chain.get_receipt(deposits.txn_hash)
    moves = [
        (log.previous_owner, log.new_owner) for log in receipt.decode_logs(deposits.OwnershipTransferred)
    ]
    assert moves == [(ZERO, owner.address), (owner.address, stranger.address)]


def test_constructor__through_the_deployment_proxy__proxy_has_no_rights(
    project, token, owner, stranger, deploy_through_proxy, proxy_account
):
    deposits, receipt = deploy_through_proxy(project.InboxDeposits, token, COOLDOWN, stranger, sender=owner)

    assert deposits.owner() == stranger.address
    moves = [
        (log.previous_owner, log.new_owner) for log in receipt.decode_logs(deposits.OwnershipTransferred)
    ]
    assert moves == [(ZERO, PROXY), (PROXY, stranger.address)]
    _no_owner_rights(deposits, proxy_account)
    _no_owner_rights(deposits, owner)
