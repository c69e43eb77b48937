"""Dm3Token metadata, owner-only mint and the 100,000,000-token cap."""

from __future__ import annotations

import ape

UNIT = 10**18
CAP = 100_000_000 * UNIT
ZERO = "0x0000000000000000000000000000000000000000"


def test_metadata(token):
    assert (token.name(), token.symbol(), token.decimals()) == ("dm3", "DM3", 18)
    assert token.CAP() == CAP
    assert token.totalSupply() == 0


def test_mint__owner__credits_and_logs(token, owner, alice):
    tx = token.mint(alice, 5 * UNIT, sender=owner)
    assert token.balanceOf(alice) == 5 * UNIT
    assert token.totalSupply() == 5 * UNIT
    logs = list(tx.decode_logs(token.Transfer))
    assert [(log.sender, log.receiver, log.value) for log in logs] == [(ZERO, alice.address, 5 * UNIT)]


def test_mint__not_owner__reverts(token, alice):
    with ape.reverts("ownable: caller is not the owner"):
        token.mint(alice, UNIT, sender=alice)


def test_mint__up_to_the_cap__works(token, owner, alice):
    token.mint(alice, CAP, sender=owner)
    assert token.totalSupply() == CAP


def test_mint__one_past_the_cap__reverts(token, owner, alice):
    token.mint(alice, CAP - UNIT, sender=owner)
    with ape.reverts("token: cap exceeded"):
        token.mint(alice, UNIT + 1, sender=owner)


def test_mint__huge_amount__reverts_with_the_cap_reason(token, owner, alice):
    token.mint(alice, 1, sender=owner)
    with ape.reverts("token: cap exceeded"):
        token.mint(alice, 2**256 - 1, sender=owner)


def test_mint__burned_supply_frees_room(token, owner, alice):
    token.mint(alice, CAP, sender=owner)
    token.burn(UNIT, sender=alice)
    token.mint(alice, UNIT, sender=owner)
    assert token.totalSupply() == CAP


def test_mint__to_zero__reverts(token, owner):
    with ape.reverts("erc20: mint to the zero address"):
        token.mint(ZERO, UNIT, sender=owner)


def test_minter_role__is_not_exposed(token):
    # snekmate's erc20 carries its own minter role; Dm3Token does not export it: the owner is the only minter.
    names = {abi.name for abi in token.contract_type.abi if abi.type == "function"}
    assert not names & {"set_minter", "is_minter"}
    assert names == {
        "transfer",
        "approve",
        "transferFrom",
        "balanceOf",
        "allowance",
        "totalSupply",
        "name",
        "symbol",
        "decimals",
        "burn",
        "burn_from",
        "permit",
        "nonces",
        "DOMAIN_SEPARATOR",
        "eip712Domain",
        "owner",
        "pending_owner",
        "transfer_ownership",
        "accept_ownership",
        "renounce_ownership",
        "mint",
        "CAP",
    }
