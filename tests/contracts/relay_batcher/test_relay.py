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
def batch_owner(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def batch_relayer(accounts):
    return accounts[6]


@pytest.fixture(scope="module")
def batch_users(accounts):
    return accounts[1:6]


@pytest.fixture(scope="module")
def batch_registry(project, batch_owner):
    return project.ProfileRegistry.deploy(PARENT, sender=batch_owner)


@pytest.fixture(scope="module")
def batcher(project, batch_owner):
    return project.RelayBatcher.deploy(sender=batch_owner)


@pytest.fixture(scope="module")
def batch_deposits(project, batch_owner, batch_users):
    token = project.Dm3Token.deploy(batch_owner, sender=batch_owner)
    batch_deposits = project.InboxDeposits.deploy(token, 7 * 86_400, batch_owner, sender=batch_owner)
    for user in batch_users:
        token.mint(user, 1_000 * UNIT, sender=batch_owner)
        token.approve(batch_deposits, 2**256 - 1, sender=user)
    return batch_deposits


def _set_text(chain, batch_registry, user, value: str, nonce: int, deadline: int) -> bytes:
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
        verifying_contract=batch_registry.address,
    )
    return batch_registry.setTextWithSig.encode_input(node, KEY, value, user, deadline, signature)


def _burn(chain, batch_deposits, recipient, sender, amount: int, nonce: int, deadline: int) -> bytes:
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
        verifying_contract=batch_deposits.address,
    )
    return batch_deposits.burn_with_sig.encode_input(sender, recipient, amount, deadline, signature)


def test_relay__mixed_batch__every_write_lands(
    chain, batch_registry, batch_deposits, batcher, batch_users, batch_relayer
):
    deadline = chain.pending_timestamp + 3_600
    alice, bob, carol = batch_users[:3]
    batch_deposits.deposit(alice, 5 * UNIT, sender=bob)
    calls = [
        (batch_registry.address, _set_text(chain, batch_registry, alice, "alice's profile", 0, deadline)),
        (batch_registry.address, _set_text(chain, batch_registry, carol, "carol's profile", 0, deadline)),
        (batch_deposits.address, _burn(chain, batch_deposits, alice, bob, 2 * UNIT, 0, deadline)),
    ]
    tx = batcher.relay(calls, sender=batch_relayer)
    assert batch_registry.text(_address_node(alice.address), KEY) == "alice's profile"
    assert batch_registry.text(_address_node(carol.address), KEY) == "carol's profile"
    assert batch_deposits.bond(bob, alice) == 3 * UNIT
    [log] = tx.decode_logs(batcher.BatchRelayed)
    assert (log.relayer, log.calls, log.failed) == (batch_relayer.address, 3, 0)


def test_relay__one_bad_write__does_not_sink_the_others(
    chain, batch_registry, batcher, batch_users, batch_relayer
):
    deadline = chain.pending_timestamp + 3_600
    alice, bob = batch_users[:2]
    good = _set_text(chain, batch_registry, alice, "ok", 0, deadline)
    forged = batch_registry.setTextWithSig.encode_input(
        _address_node(bob.address), KEY, "evil", ZERO, deadline, b""
    )
    calls = [
        (batch_registry.address, good),
        (batch_registry.address, forged),
        (batch_registry.address, good),
    ]  # the last: a replay
    tx = batcher.relay(calls, sender=batch_relayer)
    [log] = tx.decode_logs(batcher.BatchRelayed)
    assert log.failed == 0b110
    assert batch_registry.text(_address_node(alice.address), KEY) == "ok"
    assert batch_registry.text(_address_node(bob.address), KEY) == ""
    assert batch_registry.owner(_address_node(bob.address)) == ZERO
    assert batch_registry.nonces(alice) == 1


def test_relay__gives_no_authority_of_its_own(batch_registry, batcher, batch_users, batch_relayer):
    # An unsigned write through the batcher acts as the batcher, which owns nothing.
    alice = batch_users[0]
    call = batch_registry.setText.encode_input(_address_node(alice.address), KEY, "evil")
    tx = batcher.relay([(batch_registry.address, call)], sender=batch_relayer)
    assert [log.failed for log in tx.decode_logs(batcher.BatchRelayed)] == [1]
    assert batch_registry.owner(_address_node(alice.address)) == ZERO


def test_relay__empty_batch__reverts(batcher, batch_relayer):
    with ape.reverts("batcher: no calls"):
        batcher.relay([], sender=batch_relayer)


def test_relay__target_without_code__reverts(batcher, batch_relayer, batch_users):
    with ape.reverts("batcher: target is not a contract"):
        batcher.relay([(batch_users[0].address, b"\x12\x34")], sender=batch_relayer)


def test_relay__batched_gas_per_write__at_most_0_7_of_a_single_write(
    chain, batch_deposits, batcher, batch_users, batch_relayer
):
    # The writes a delivery node relays most: its recipient's burns of spammers' bonds.
    deadline = chain.pending_timestamp + 3_600
    recipient, spammers = batch_users[0], batch_users[1:]
    for spammer in spammers:
        batch_deposits.deposit(recipient, 10 * UNIT, sender=spammer)
    # The recipient's first signature writes its nonce slot from zero: compare with a later one.
    for nonce in (0, 1):
        data = _burn(chain, batch_deposits, recipient, spammers[0], UNIT, nonce, deadline)
        single = batch_relayer.transfer(batch_deposits.address, 0, data=data)
    calls = [
        (batch_deposits.address, _burn(chain, batch_deposits, recipient, spammer, UNIT, nonce, deadline))
        for nonce, spammer in enumerate(spammers, start=2)
    ]
    tx = batcher.relay(calls, sender=batch_relayer)
    assert [log.failed for log in tx.decode_logs(batcher.BatchRelayed)] == [0]
    per_write = tx.gas_used / len(calls)
    print(f"burn_with_sig: single {single.gas_used}, batched per write {per_write:.0f}")
    assert per_write <= 0.7 * single.gas_used, (per_write, single.gas_used)


def test_relay__call_longer_than_the_bound__refused_by_the_abi(batcher, batch_registry, batch_relayer):
    with ape.reverts():
        batcher.relay([(batch_registry.address, b"\x01" * 1_537)], sender=batch_relayer)
