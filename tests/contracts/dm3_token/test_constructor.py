"""Dm3Token constructor: the owner is an argument; whoever deploys it (an account, the deployment proxy) gets nothing."""

from __future__ import annotations

import ape
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector

from indexer.deploy.create2 import PROXY

UNIT = 10**18
ZERO = "0x0000000000000000000000000000000000000000"


def _no_owner_rights(token, account, victim):
    """`account` can neither mint nor move or end the ownership."""
    with ape.reverts("ownable: caller is not the owner"):
        token.mint(account, UNIT, sender=account)
    with ape.reverts("ownable: caller is not the owner"):
        token.transfer_ownership(account, sender=account)
    with ape.reverts("ownable: caller is not the owner"):
        token.renounce_ownership(sender=account)
    # snekmate's erc20 minter functions are not exported: their selectors do not exist in the contract.
    for signature, args in (
        ("set_minter(address,bool)", (account.address, True)),
        ("is_minter(address)", (victim,)),
    ):
        _, _, types = signature.partition("(")
        data = function_signature_to_4byte_selector(signature) + encode(
            types.rstrip(")").split(","), list(args)
        )
        with ape.reverts():
            account.transfer(token, 0, data=data)


def test_constructor__zero_owner__reverts(project, owner):
    with ape.reverts("token: zero owner"):
        project.Dm3Token.deploy(ZERO, sender=owner)


def test_constructor__owner_other_than_the_deployer__owner_has_every_right(project, owner, alice, bob, chain):
    token = project.Dm3Token.deploy(alice, sender=owner)

    assert token.owner() == alice.address
    assert token.pending_owner() == ZERO
    token.mint(bob, UNIT, sender=alice)
    assert token.balanceOf(bob) == UNIT
    _no_owner_rights(token, owner, bob.address)
    receipt = chain.get_receipt(token.txn_hash)
    moves = [(log.previous_owner, log.new_owner) for log in receipt.decode_logs(token.OwnershipTransferred)]
    assert moves == [(ZERO, owner.address), (owner.address, alice.address)]
    minters = [(log.minter, log.status) for log in receipt.decode_logs(token.RoleMinterChanged)]
    assert minters == [(owner.address, True), (owner.address, False)]


def test_constructor__through_the_deployment_proxy__proxy_has_no_rights(
    project, owner, alice, bob, deploy_through_proxy, proxy_account
):
    token, receipt = deploy_through_proxy(project.Dm3Token, alice, sender=owner)

    assert token.owner() == alice.address
    moves = [(log.previous_owner, log.new_owner) for log in receipt.decode_logs(token.OwnershipTransferred)]
    assert moves == [(ZERO, PROXY), (PROXY, alice.address)]
    minters = [(log.minter, log.status) for log in receipt.decode_logs(token.RoleMinterChanged)]
    assert minters == [(PROXY, True), (PROXY, False)]
    _no_owner_rights(token, proxy_account, bob.address)
    # Nor the account that sent the deployment.
    _no_owner_rights(token, owner, bob.address)
    token.mint(bob, UNIT, sender=alice)
    assert token.totalSupply() == UNIT
