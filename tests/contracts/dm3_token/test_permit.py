"""Dm3Token EIP-2612 permit: domain, nonces, deadline, signer checks."""

from __future__ import annotations

import ape
from eth_abi import encode
from eth_utils import keccak

UNIT = 10**18


def test_domain_separator__matches_eip712(token, chain):
    expected = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                keccak(
                    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
                ),
                keccak(text="dm3"),
                keccak(text="1"),
                chain.chain_id,
                token.address,
            ],
        )
    )
    assert token.DOMAIN_SEPARATOR() == expected
    assert token.eip712Domain()[1:5] == ("dm3", "1", chain.chain_id, token.address)


def test_permit__sets_the_allowance_and_uses_the_nonce(token, alice, bob, chain, sign_permit):
    deadline = chain.pending_timestamp + 600
    v, r, s = sign_permit(alice.private_key, owner=alice, spender=bob, value=5 * UNIT, deadline=deadline)
    token.permit(alice, bob, 5 * UNIT, deadline, v, r, s, sender=bob)
    assert token.allowance(alice, bob) == 5 * UNIT
    assert token.nonces(alice) == 1


def test_permit__replayed__reverts(token, alice, bob, chain, sign_permit):
    deadline = chain.pending_timestamp + 600
    v, r, s = sign_permit(alice.private_key, owner=alice, spender=bob, value=UNIT, deadline=deadline)
    token.permit(alice, bob, UNIT, deadline, v, r, s, sender=bob)
    with ape.reverts("erc20: invalid signature"):
        token.permit(alice, bob, UNIT, deadline, v, r, s, sender=bob)


def test_permit__expired__reverts(token, alice, bob, chain, sign_permit):
    deadline = chain.pending_timestamp - 1
    v, r, s = sign_permit(alice.private_key, owner=alice, spender=bob, value=UNIT, deadline=deadline)
    with ape.reverts("erc20: expired deadline"):
        token.permit(alice, bob, UNIT, deadline, v, r, s, sender=bob)


def test_permit__wrong_signer__reverts(token, alice, bob, chain, sign_permit):
    deadline = chain.pending_timestamp + 600
    v, r, s = sign_permit(bob.private_key, owner=alice, spender=bob, value=UNIT, deadline=deadline)
    with ape.reverts("erc20: invalid signature"):
        token.permit(alice, bob, UNIT, deadline, v, r, s, sender=bob)


def test_permit__other_chain__reverts(token, alice, bob, chain, sign_permit):
    deadline = chain.pending_timestamp + 600
    v, r, s = sign_permit(
        alice.private_key,
        owner=alice,
        spender=bob,
        value=UNIT,
        deadline=deadline,
        chain_id=chain.chain_id + 1,
    )
    with ape.reverts("erc20: invalid signature"):
        token.permit(alice, bob, UNIT, deadline, v, r, s, sender=bob)


def test_permit__tampered_value__reverts(token, alice, bob, chain, sign_permit):
    deadline = chain.pending_timestamp + 600
    v, r, s = sign_permit(alice.private_key, owner=alice, spender=bob, value=UNIT, deadline=deadline)
    with ape.reverts("erc20: invalid signature"):
        token.permit(alice, bob, 2 * UNIT, deadline, v, r, s, sender=bob)
