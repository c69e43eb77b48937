"""RelayBatcher: several signed writes to ProfileRegistry and InboxDeposits in one transaction, each authorised by its
own signature; a bad write fails alone; batched gas per write against the same write sent alone."""

from __future__ import annotations

import ape
import pytest
from ens.utils import normal_name_to_hash

from indexer.signing import sign

ZERO = "0x0000000000000000000000000000000000000000"
UNIT = 10**18
PARENT = "op.dm3.eth"
KEY = "network.dm3.profile"


def _address_node(address: str) -> bytes:
    return normal_name_to_hash(f"{address[2:].lower()}.addr.{PARENT}")


@pytest.fixture(scope="module")
def owner(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def relayer(accounts):
    return accounts[6]


@pytest.fixture(scope="module")
def users(accounts):
    return accounts[1:6]


@pytest.fixture(scope="module")
def registry(project, owner):
    return project.ProfileRegistry.deploy(PARENT, sender=owner)


@pytest.fixture(scope="module")
def batcher(project, owner):
    return project.RelayBatcher.deploy(sender=owner)


@pytest.fixture(scope="module")
def deposits(project, owner, users):
    token = project.Dm3Token.deploy(owner, sender=owner)
    deposits = project.InboxDeposits.deploy(token, 7 * 86_400, owner, sender=owner)
    for user in users:
        token.mint(user, 1_000 * UNIT, sender=owner)
        token.approve(deposits, 2**256 - 1, sender=user)
    return deposits


def _set_text(chain, registry, user, value: str, nonce: int, deadline: int) -> bytes:
    node = _address_node(user.address)
    message = {
        "signer": user.address,
        "node": node,
        "key": KEY,
        "value": value,
        "nonce": nonce,
        "deadline": deadline,
    }
    signature = sign(
        "setTextWithSig",
        message,
        user.private_key,
        chain_id=chain.chain_id,
        verifying_contract=registry.address,
    )
    return registry.setTextWithSig.encode_input(node, KEY, value, user, deadline, signature)


def _burn(chain, deposits, recipient, sender, amount: int, nonce: int, deadline: int) -> bytes:
    message = {
        "sender": sender.address,
        "recipient": recipient.address,
        "amount": amount,
        "nonce": nonce,
        "deadline": deadline,
    }
    signature = sign(
        "burn_with_sig",
        message,
        recipient.private_key,
        chain_id=chain.chain_id,
        verifying_contract=deposits.address,
    )
    return deposits.burn_with_sig.encode_input(sender, recipient, amount, deadline, signature)


def test_relay__mixed_batch__every_write_lands(chain, registry, deposits, batcher, users, relayer):
    deadline = chain.pending_timestamp + 3_600
    alice, bob, carol = users[:3]
    deposits.deposit(alice, 5 * UNIT, sender=bob)
    calls = [
        (registry.address, _set_text(chain, registry, alice, "alice's profile", 0, deadline)),
        (registry.address, _set_text(chain, registry, carol, "carol's profile", 0, deadline)),
        (deposits.address, _burn(chain, deposits, alice, bob, 2 * UNIT, 0, deadline)),
    ]
    tx = batcher.relay(calls, sender=relayer)
    assert registry.text(_address_node(alice.address), KEY) == "alice's profile"
    assert registry.text(_address_node(carol.address), KEY) == "carol's profile"
    assert deposits.bond(bob, alice) == 3 * UNIT
    [log] = tx.decode_logs(batcher.BatchRelayed)
    assert (log.relayer, log.calls, log.failed) == (relayer.address, 3, 0)


def test_relay__one_bad_write__does_not_sink_the_others(chain, registry, batcher, users, relayer):
    deadline = chain.pending_timestamp + 3_600
    alice, bob = users[:2]
    good = _set_text(chain, registry, alice, "ok", 0, deadline)
    forged = registry.setTextWithSig.encode_input(
        _address_node(bob.address), KEY, "evil", ZERO, deadline, b""
    )
    calls = [
        (registry.address, good),
        (registry.address, forged),
        (registry.address, good),
    ]  # the last: a replay
    tx = batcher.relay(calls, sender=relayer)
    [log] = tx.decode_logs(batcher.BatchRelayed)
    assert log.failed == 0b110
    assert registry.text(_address_node(alice.address), KEY) == "ok"
    assert registry.text(_address_node(bob.address), KEY) == ""
    assert registry.owner(_address_node(bob.address)) == ZERO
    assert registry.nonces(alice) == 1


def test_relay__gives_no_authority_of_its_own(registry, batcher, users, relayer):
    # An unsigned write through the batcher acts as the batcher, which owns nothing.
    alice = users[0]
    call = registry.setText.encode_input(_address_node(alice.address), KEY, "evil")
    tx = batcher.relay([(registry.address, call)], sender=relayer)
    assert [log.failed for log in tx.decode_logs(batcher.BatchRelayed)] == [1]
    assert registry.owner(_address_node(alice.address)) == ZERO


def test_relay__empty_batch__reverts(batcher, relayer):
    with ape.reverts("batcher: no calls"):
        batcher.relay([], sender=relayer)


def test_relay__target_without_code__reverts(batcher, relayer, users):
    with ape.reverts("batcher: target is not a contract"):
        batcher.relay([(users[0].address, b"\x12\x34")], sender=relayer)


def test_relay__batched_gas_per_write__at_most_0_7_of_a_single_write(
    chain, deposits, batcher, users, relayer
):
    # The writes a delivery node relays most: its recipient's burns of spammers' bonds.
    deadline = chain.pending_timestamp + 3_600
    recipient, spammers = users[0], users[1:]
    for spammer in spammers:
        deposits.deposit(recipient, 10 * UNIT, sender=spammer)
    # The recipient's first signature writes its nonce slot from zero: compare with a later one.
    for nonce in (0, 1):
        data = _burn(chain, deposits, recipient, spammers[0], UNIT, nonce, deadline)
        single = relayer.transfer(deposits.address, 0, data=data)
    calls = [
        (deposits.address, _burn(chain, deposits, recipient, spammer, UNIT, nonce, deadline))
        for nonce, spammer in enumerate(spammers, start=2)
    ]
    tx = batcher.relay(calls, sender=relayer)
    assert [log.failed for log in tx.decode_logs(batcher.BatchRelayed)] == [0]
    per_write = tx.gas_used / len(calls)
    print(f"burn_with_sig: single {single.gas_used}, batched per write {per_write:.0f}")
    assert per_write <= 0.7 * single.gas_used, (per_write, single.gas_used)


def test_relay__call_longer_than_the_bound__refused_by_the_abi(batcher, registry, relayer):
    with ape.reverts():
        batcher.relay([(registry.address, b"\x01" * 1_537)], sender=relayer)
