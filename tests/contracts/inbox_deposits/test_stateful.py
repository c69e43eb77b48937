"""A stateful model of InboxDeposits: random deposits, burns (direct and signed), releases, requests, withdrawals,
pauses, donations, sweeps and time jumps over 3 senders and 2 recipients, checked against a Python model of every
bond after each step. An attacker (an account that is neither sender, recipient nor owner) tries random unauthorised
calls at every step: signed burns and releases with the zero address as signer, empty, short, over-long, all-zero or
its own signatures, replays, and every owner-only function. The invariants then show that no bond, nonce or total
moved except through its authorised party, and that the state rebuilt from the contract's events equals its views.

Each example starts from a chain snapshot of the session deployment and restores it at teardown. Every transaction,
including the ones expected to fail, is sent with a fixed gas limit so it is mined at the block time the model set
(gas estimation would judge it at another time). The loaded hypothesis profile (tests/conftest.py) sets the number
of examples and steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ape
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from .deposits_helpers import COOLDOWN, UNIT

GAS = 500_000
SENDER = st.integers(min_value=0, max_value=2)
RECIPIENT = st.integers(min_value=0, max_value=1)
AMOUNT = st.integers(min_value=0, max_value=12).map(lambda quarters: quarters * UNIT // 4)


TOTALS = ("total_active", "total_pending")
ZERO = "0x0000000000000000000000000000000000000000"
# Signatures an attacker can send without any key: empty, short, all-zero, EIP-2098 garbage, over-long.
FORGED = st.sampled_from([b"", b"\x01", b"\x00" * 64, b"\x00" * 65, b"\x1b" * 65, b"\x07" * 64])


def _abi(contract: Any) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json", by_alias=True) for item in contract.contract_type.abi]


@dataclass
class PairModel:
    amount: int = 0
    unlock_time: int = 0
    accepted: bool = False
    burned: int = 0
    burned_when_accepted: int = 0


def test_stateful__model_matches_contract(
    deposits, token, owner, senders, recipients, relayer, stranger, chain, sign_burn, sign_release
):
    # Invariant reads go through web3 in one JSON-RPC batch: ~20 views per step would otherwise dominate the run.
    web3 = chain.provider.web3
    lens = web3.eth.contract(address=deposits.address, abi=_abi(deposits))
    token_lens = web3.eth.contract(address=token.address, abi=_abi(token))
    addresses = [account.address for account in senders]
    inboxes = [account.address for account in recipients]

    class InboxDepositsMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.snapshot = chain.snapshot()
            self.pairs = {(s, r): PairModel() for s in range(3) for r in range(2)}
            self.min_deposit = [0, 0]
            self.nonces = [0, 0]
            self.paused = False
            self.donations = 0
            self.deposited = self.burned = self.withdrawn = 0
            self.now = chain.blocks.head.timestamp
            self.used_signatures: list[tuple[str, tuple]] = []
            # The bonds as the events tell them, rebuilt block by block (see `events_rebuild_the_views`).
            self.from_events: dict[tuple[str, str], list[Any]] = {}
            self.next_log_block = chain.blocks.head.number + 1

        def teardown(self) -> None:
            chain.restore(self.snapshot)

        # --- helpers -------------------------------------------------------------------------------------------

        def _tick(self) -> None:
            """The next transaction is mined one second after the model's clock. Every rule mines exactly the
            blocks it stamps (failing transactions too, thanks to the fixed gas limit), so the head's timestamp
            always equals `self.now` and needs no round trip."""
            self.now += 1
            chain.pending_timestamp = self.now

        def _active(self) -> int:
            return sum(p.amount for p in self.pairs.values() if not p.unlock_time)

        def _pending(self) -> int:
            return sum(p.amount for p in self.pairs.values() if p.unlock_time)

        def _burn_error(self, pair: PairModel, amount: int) -> str | None:
            if amount == 0:
                return "deposits: zero amount"
            if pair.accepted:
                return "deposits: pair accepted"
            if pair.unlock_time and self.now >= pair.unlock_time:
                return "deposits: withdrawal unlocked"
            if amount > pair.amount:
                return "deposits: amount exceeds bond"
            return None

        def _apply_burn(self, pair: PairModel, amount: int) -> None:
            pair.amount -= amount
            pair.burned += amount
            self.burned += amount

        def _apply_release(self, pair: PairModel) -> None:
            pair.accepted = True
            pair.burned_when_accepted = pair.burned

        # --- rules ---------------------------------------------------------------------------------------------

        @initialize()
        def start(self) -> None:
            assert deposits.total_active() == deposits.total_pending() == 0

        @rule(s=SENDER, r=RECIPIENT, amount=AMOUNT)
        def deposit(self, s: int, r: int, amount: int) -> None:
            pair = self.pairs[(s, r)]
            self._tick()
            error = (
                "deposits: paused"
                if self.paused
                else "deposits: zero amount"
                if amount == 0
                else "deposits: pair accepted"
                if pair.accepted
                else "deposits: withdrawal pending"
                if pair.unlock_time
                else None
            )
            if error:
                with ape.reverts(error):
                    deposits.deposit(recipients[r], amount, sender=senders[s], gas_limit=GAS)
                return
            deposits.deposit(recipients[r], amount, sender=senders[s], gas_limit=GAS)
            pair.amount += amount
            self.deposited += amount

        @rule(r=RECIPIENT, amount=AMOUNT)
        def set_min_deposit(self, r: int, amount: int) -> None:
            self._tick()
            deposits.set_min_deposit(amount, sender=recipients[r], gas_limit=GAS)
            self.min_deposit[r] = amount

        @rule(s=SENDER, r=RECIPIENT, amount=AMOUNT)
        def burn(self, s: int, r: int, amount: int) -> None:
            pair = self.pairs[(s, r)]
            self._tick()
            error = self._burn_error(pair, amount)
            if error:
                with ape.reverts(error):
                    deposits.burn(senders[s], amount, sender=recipients[r], gas_limit=GAS)
                return
            deposits.burn(senders[s], amount, sender=recipients[r], gas_limit=GAS)
            self._apply_burn(pair, amount)

        @rule(s=SENDER, r=RECIPIENT, amount=AMOUNT)
        def burn_with_sig(self, s: int, r: int, amount: int) -> None:
            pair = self.pairs[(s, r)]
            self._tick()
            deadline = self.now + 600
            sig = sign_burn(
                recipients[r].private_key,
                sender=senders[s],
                recipient=recipients[r],
                amount=amount,
                nonce=self.nonces[r],
                deadline=deadline,
            )
            args = (senders[s], recipients[r], amount, deadline, sig)
            error = self._burn_error(pair, amount)
            if error:
                with ape.reverts(error):
                    deposits.burn_with_sig(*args, sender=relayer, gas_limit=GAS)
                return
            deposits.burn_with_sig(*args, sender=relayer, gas_limit=GAS)
            self.nonces[r] += 1
            self.used_signatures.append(("burn_with_sig", args))
            self._apply_burn(pair, amount)

        @rule(s=SENDER, r=RECIPIENT, signed=st.booleans())
        def release(self, s: int, r: int, signed: bool) -> None:
            pair = self.pairs[(s, r)]
            self._tick()
            if signed:
                deadline = self.now + 600
                sig = sign_release(
                    recipients[r].private_key,
                    sender=senders[s],
                    recipient=recipients[r],
                    nonce=self.nonces[r],
                    deadline=deadline,
                )
                args = (senders[s], recipients[r], deadline, sig)
                call, kwargs = deposits.release_with_sig, {"sender": relayer}
            else:
                args = (senders[s],)
                call, kwargs = deposits.release, {"sender": recipients[r]}
            if pair.accepted:
                with ape.reverts("deposits: already accepted"):
                    call(*args, **kwargs, gas_limit=GAS)
                return
            call(*args, **kwargs, gas_limit=GAS)
            if signed:
                self.nonces[r] += 1
                self.used_signatures.append(("release_with_sig", args))
            self._apply_release(pair)

        @rule(s=SENDER, r=RECIPIENT)
        def request_withdrawal(self, s: int, r: int) -> None:
            pair = self.pairs[(s, r)]
            self._tick()
            error = (
                "deposits: no bond"
                if pair.amount == 0
                else "deposits: pair accepted"
                if pair.accepted
                else "deposits: withdrawal pending"
                if pair.unlock_time
                else None
            )
            if error:
                with ape.reverts(error):
                    deposits.request_withdrawal(recipients[r], sender=senders[s], gas_limit=GAS)
                return
            deposits.request_withdrawal(recipients[r], sender=senders[s], gas_limit=GAS)
            pair.unlock_time = self.now + COOLDOWN

        @rule(s=SENDER, r=RECIPIENT)
        def withdraw(self, s: int, r: int) -> None:
            pair = self.pairs[(s, r)]
            self._tick()
            if pair.accepted:
                error = None if pair.amount or pair.unlock_time else "deposits: nothing to withdraw"
            elif not pair.unlock_time:
                error = "deposits: no withdrawal requested"
            else:
                error = None if self.now >= pair.unlock_time else "deposits: cooldown not over"
            if error:
                with ape.reverts(error):
                    deposits.withdraw(recipients[r], senders[s], sender=senders[s], gas_limit=GAS)
                return
            balance = token_lens.functions.balanceOf(addresses[s]).call()
            tx = deposits.withdraw(recipients[r], senders[s], sender=senders[s], gas_limit=GAS)
            # Nothing leaves before its unlock time unless the recipient accepted the sender.
            assert pair.accepted or chain.blocks[tx.block_number].timestamp >= pair.unlock_time
            assert token_lens.functions.balanceOf(addresses[s]).call() == balance + pair.amount
            self.withdrawn += pair.amount
            pair.amount = 0
            pair.unlock_time = 0

        @rule(seconds=st.sampled_from([1, 3_600, COOLDOWN - 1, COOLDOWN, 2 * COOLDOWN]))
        def time_passes(self, seconds: int) -> None:
            self.now += seconds
            chain.pending_timestamp = self.now
            chain.mine()

        @rule()
        def toggle_pause(self) -> None:
            self._tick()
            if self.paused:
                deposits.unpause(sender=owner, gas_limit=GAS)
            else:
                deposits.pause(sender=owner, gas_limit=GAS)
            self.paused = not self.paused

        @rule(s=SENDER, amount=AMOUNT)
        def donate(self, s: int, amount: int) -> None:
            self._tick()
            token.transfer(deposits, amount, sender=senders[s], gas_limit=GAS)
            self.donations += amount

        @rule()
        def sweep_excess(self) -> None:
            self._tick()
            if not self.donations:
                with ape.reverts("deposits: no excess"):
                    deposits.sweep_excess(owner, sender=owner, gas_limit=GAS)
                return
            deposits.sweep_excess(owner, sender=owner, gas_limit=GAS)
            self.donations = 0

        @rule()
        def replay_a_used_signature(self) -> None:
            if not self.used_signatures:
                return
            self._tick()
            method, args = self.used_signatures[-1]
            deadline = args[-2]
            error = "deposits: signature expired" if self.now > deadline else "deposits: invalid signature"
            with ape.reverts(error):
                getattr(deposits, method)(*args, sender=relayer, gas_limit=GAS)

        # --- the attacker -------------------------------------------------------------------------------------

        @rule(s=SENDER, r=RECIPIENT, amount=AMOUNT, signature=FORGED, zero_signer=st.booleans())
        def attacker_forges_a_signed_burn(
            self, s: int, r: int, amount: int, signature: bytes, zero_signer: bool
        ) -> None:
            self._tick()
            victim = ZERO if zero_signer else inboxes[r]
            expected = (
                "deposits: zero signer"
                if zero_signer
                else "deposits: invalid signature length"
                if len(signature) not in (64, 65)
                else None  # snekmate's ECDSA reasons or "deposits: invalid signature"
            )
            with ape.reverts(expected):
                deposits.burn_with_sig(
                    addresses[s],
                    victim,
                    max(amount, 1),
                    self.now + 600,
                    signature,
                    sender=stranger,
                    gas_limit=GAS,
                )

        @rule(s=SENDER, r=RECIPIENT, amount=AMOUNT, release=st.booleans())
        def attacker_signs_for_a_recipient(self, s: int, r: int, amount: int, release: bool) -> None:
            # A well-formed signature by the wrong key, with the recipient's own next nonce.
            self._tick()
            deadline = self.now + 600
            common = {
                "sender": senders[s],
                "recipient": recipients[r],
                "nonce": self.nonces[r],
                "deadline": deadline,
            }
            with ape.reverts("deposits: invalid signature"):
                if release:
                    sig = sign_release(stranger.private_key, **common)
                    deposits.release_with_sig(
                        addresses[s], inboxes[r], deadline, sig, sender=stranger, gas_limit=GAS
                    )
                else:
                    sig = sign_burn(stranger.private_key, amount=max(amount, 1), **common)
                    deposits.burn_with_sig(
                        addresses[s],
                        inboxes[r],
                        max(amount, 1),
                        deadline,
                        sig,
                        sender=stranger,
                        gas_limit=GAS,
                    )

        @rule(s=SENDER, r=RECIPIENT, other=st.booleans())
        def attacker_reuses_a_signature_elsewhere(self, s: int, r: int, other: bool) -> None:
            # A real recipient signature (of the next nonce), submitted for the other recipient or another sender.
            self._tick()
            deadline = self.now + 600
            sig = sign_release(
                recipients[r].private_key,
                sender=senders[s],
                recipient=recipients[r],
                nonce=self.nonces[r],
                deadline=deadline,
            )
            target = (addresses[s], inboxes[1 - r]) if other else (addresses[(s + 1) % 3], inboxes[r])
            with ape.reverts("deposits: invalid signature"):
                deposits.release_with_sig(*target, deadline, sig, sender=stranger, gas_limit=GAS)

        @rule(
            action=st.sampled_from(
                ["pause", "unpause", "sweep_excess", "renounce_ownership", "transfer_ownership"]
            )
        )
        def attacker_calls_owner_only(self, action: str) -> None:
            self._tick()
            args = {"sweep_excess": (stranger,), "transfer_ownership": (stranger,)}.get(action, ())
            with ape.reverts("ownable: caller is not the owner"):
                getattr(deposits, action)(*args, sender=stranger, gas_limit=GAS)

        @rule(s=SENDER, r=RECIPIENT, amount=AMOUNT)
        def attacker_acts_as_the_wrong_party(self, s: int, r: int, amount: int) -> None:
            # Direct calls only ever act on the caller's own pairs: the attacker has none.
            self._tick()
            with ape.reverts():
                deposits.burn(addresses[s], max(amount, 1), sender=stranger, gas_limit=GAS)
            self._tick()
            with ape.reverts("deposits: no withdrawal requested"):
                deposits.withdraw(inboxes[r], stranger, sender=stranger, gas_limit=GAS)
            self._tick()
            with ape.reverts("deposits: no bond"):
                deposits.request_withdrawal(inboxes[r], sender=stranger, gas_limit=GAS)

        # --- invariants ----------------------------------------------------------------------------------------

        @invariant()
        def events_rebuild_the_views(self) -> None:
            head = chain.blocks.head.number
            if head < self.next_log_block:
                return
            logs = sorted(
                (
                    log
                    for event in ("Deposited", "Burned", "Released", "WithdrawalRequested", "Withdrawn")
                    for log in getattr(deposits, event).range(self.next_log_block, head + 1)
                ),
                key=lambda log: (log.block_number, log.log_index),
            )
            self.next_log_block = head + 1
            for log in logs:
                bond = self.from_events.setdefault((log.sender, log.recipient), [0, 0, False])
                if log.event_name in ("Deposited", "Burned"):
                    bond[0] = log.bond
                elif log.event_name == "Released":
                    bond[2] = True
                elif log.event_name == "WithdrawalRequested":
                    bond[1] = log.unlock_time
                else:
                    bond[0], bond[1] = 0, 0
            for (s, r), pair in self.pairs.items():
                rebuilt = self.from_events.get((addresses[s], inboxes[r]), [0, 0, False])
                assert tuple(rebuilt) == (pair.amount, pair.unlock_time, pair.accepted), (s, r)

        @invariant()
        def contract_matches_model(self) -> None:
            keys = list(self.pairs)
            with web3.batch_requests() as batch:
                for s, r in keys:
                    batch.add(lens.functions.bonds(addresses[s], inboxes[r]))
                for s, r in keys:
                    batch.add(lens.functions.is_eligible(addresses[s], inboxes[r]))
                for name in TOTALS:
                    batch.add(getattr(lens.functions, name)())
                for inbox in inboxes:
                    batch.add(lens.functions.nonces(inbox))
                batch.add(lens.functions.paused())
                batch.add(token_lens.functions.balanceOf(deposits.address))
                results = batch.execute()
            bonds, eligible = results[: len(keys)], results[len(keys) : 2 * len(keys)]
            totals = tuple(results[2 * len(keys) : 2 * len(keys) + len(TOTALS)])
            nonces, paused, balance = results[-4:-2], results[-2], results[-1]

            for index, (s, r) in enumerate(keys):
                pair = self.pairs[(s, r)]
                assert tuple(bonds[index]) == (pair.amount, pair.unlock_time, pair.accepted), (s, r)
                minimum = self.min_deposit[r]
                expected = pair.accepted or minimum == 0 or (pair.amount >= minimum and not pair.unlock_time)
                assert eligible[index] == expected, (s, r)
                # An accepted pair is never burned.
                assert not pair.accepted or pair.burned == pair.burned_when_accepted
            active, pending = self._active(), self._pending()
            assert totals == (active, pending)
            assert self.deposited == active + pending + self.withdrawn + self.burned
            assert balance == active + pending + self.donations
            assert list(nonces) == self.nonces
            assert paused == self.paused

    run_state_machine_as_test(InboxDepositsMachine)
