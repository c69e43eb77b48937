"""InboxDeposits constructor: token, cooldown bounds, owner, EIP-712 domain."""

from __future__ import annotations

import ape
from eth_abi import encode
from eth_utils import keccak

from .deposits_helpers import COOLDOWN

DAY = 86_400


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
        project.InboxDeposits.deploy(token, 0, sender=owner)


def test_constructor__cooldown_over_a_year__reverts(project, token, owner):
    with ape.reverts("deposits: cooldown too long"):
        project.InboxDeposits.deploy(token, 365 * DAY + 1, sender=owner)


def test_constructor__bounds_are_inclusive(project, token, owner):
    assert project.InboxDeposits.deploy(token, 1, sender=owner).COOLDOWN() == 1
    assert project.InboxDeposits.deploy(token, 365 * DAY, sender=owner).COOLDOWN() == 365 * DAY


def test_constructor__token_not_a_contract__reverts(project, owner, stranger):
    with ape.reverts("deposits: token is not a contract"):
        project.InboxDeposits.deploy(stranger, COOLDOWN, sender=owner)
