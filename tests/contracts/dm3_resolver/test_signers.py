"""Signer set: owner-managed, every change logged, rotation takes effect at once."""

from __future__ import annotations

from typing import Any

import ape
from eth_account import Account

from .resolver_helpers import (
    MAX_SIGNERS_PER_CALL,
    Gateway,
    dns_encode,
    resolve_request,
    text_answer,
    text_call,
)

REQUEST = resolve_request(dns_encode("alice.op.dm3.eth"), text_call(b"\x11" * 32, "network.dm3.profile"))
RESULT = text_answer("data:application/json,{}")
ZERO = "0x" + "00" * 20


def _answer(gateway: Gateway, resolver: Any, now: int) -> bytes:
    return gateway.respond(resolver=resolver.address, request=REQUEST, result=RESULT, expires=now + 600)


def test_signers__deployed_signer__trusted(resolver: Any, gateway: Gateway, second_gateway: Gateway) -> None:
    assert resolver.signers(gateway.address) is True
    assert resolver.signers(second_gateway.address) is False
    assert resolver.signers(ZERO) is False


def test_add_signers__by_owner__trusts_and_logs(
    resolver: Any, owner: Any, second_gateway: Gateway, verify: Any, now: int
) -> None:
    extra = Account.create().address
    assert verify(resolver, _answer(second_gateway, resolver, now), REQUEST)[0] is False

    tx = resolver.add_signers([second_gateway.address, extra], sender=owner)

    logs = list(tx.decode_logs(resolver.SignersAdded))
    assert len(logs) == 1 and logs[0].signers == [second_gateway.address, extra]
    assert resolver.signers(second_gateway.address) and resolver.signers(extra)
    assert verify(resolver, _answer(second_gateway, resolver, now), REQUEST) == (True, RESULT)


def test_remove_signers__by_owner__old_answers_refused_at_once(
    resolver: Any, owner: Any, gateway: Gateway, second_gateway: Gateway, verify: Any, now: int
) -> None:
    """Key rotation: add the new key, remove the old one; an unexpired answer by the old key stops working."""
    old_answer = _answer(gateway, resolver, now)
    assert verify(resolver, old_answer, REQUEST) == (True, RESULT)

    resolver.add_signers([second_gateway.address], sender=owner)
    tx = resolver.remove_signers([gateway.address], sender=owner)

    logs = list(tx.decode_logs(resolver.SignersRemoved))
    assert len(logs) == 1 and logs[0].signers == [gateway.address]
    assert resolver.signers(gateway.address) is False
    assert verify(resolver, old_answer, REQUEST) == (False, "resolver: invalid signer")
    assert verify(resolver, _answer(second_gateway, resolver, now), REQUEST) == (True, RESULT)


def test_remove_signers__every_signer__nothing_verifies(
    resolver: Any, owner: Any, gateway: Gateway, verify: Any, now: int
) -> None:
    resolver.remove_signers([gateway.address], sender=owner)

    assert verify(resolver, _answer(gateway, resolver, now), REQUEST) == (False, "resolver: invalid signer")


def test_add_signers__not_owner__reverts(resolver: Any, stranger: Any, second_gateway: Gateway) -> None:
    with ape.reverts("ownable: caller is not the owner"):
        resolver.add_signers([second_gateway.address], sender=stranger)


def test_remove_signers__not_owner__reverts(resolver: Any, stranger: Any, gateway: Gateway) -> None:
    with ape.reverts("ownable: caller is not the owner"):
        resolver.remove_signers([gateway.address], sender=stranger)


def test_add_signers__zero_address__reverts(resolver: Any, owner: Any) -> None:
    """A failed recovery yields the zero address; trusting it would accept any garbage signature."""
    with ape.reverts("resolver: zero signer"):
        resolver.add_signers([ZERO], sender=owner)


def test_add_signers__already_trusted__reverts(resolver: Any, owner: Any, gateway: Gateway) -> None:
    with ape.reverts("resolver: already a signer"):
        resolver.add_signers([gateway.address], sender=owner)


def test_add_signers__duplicate_in_list__reverts(resolver: Any, owner: Any, second_gateway: Gateway) -> None:
    with ape.reverts("resolver: already a signer"):
        resolver.add_signers([second_gateway.address, second_gateway.address], sender=owner)


def test_add_signers__empty__reverts(resolver: Any, owner: Any) -> None:
    with ape.reverts("resolver: no signers"):
        resolver.add_signers([], sender=owner)


def test_remove_signers__not_a_signer__reverts(resolver: Any, owner: Any, second_gateway: Gateway) -> None:
    with ape.reverts("resolver: not a signer"):
        resolver.remove_signers([second_gateway.address], sender=owner)


def test_remove_signers__empty__reverts(resolver: Any, owner: Any) -> None:
    with ape.reverts("resolver: no signers"):
        resolver.remove_signers([], sender=owner)


def test_add_signers__at_cap__trusts_all(resolver: Any, owner: Any) -> None:
    batch = [Account.create().address for _ in range(MAX_SIGNERS_PER_CALL)]

    resolver.add_signers(batch, sender=owner)

    assert all(resolver.signers(a) for a in batch)


def test_add_signers__over_cap__reverts(resolver: Any, owner: Any) -> None:
    batch = [Account.create().address for _ in range(MAX_SIGNERS_PER_CALL + 1)]

    with ape.reverts():
        resolver.add_signers(batch, sender=owner, gas=1_000_000)
    assert not any(resolver.signers(a) for a in batch)
