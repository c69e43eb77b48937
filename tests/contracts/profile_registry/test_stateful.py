"""A hypothesis state machine over names, owners, operators, records, primary names and nonces.

The Python model restates every rule of the registry; after each step every view of the contract over a
small universe (three accounts, two labels, their address names, a few keys and coin types) must equal
the model, and so must the state rebuilt from the contract's events. An attacker (the relayer, which owns
nothing) tries random writes at every step: directly, signed with its own key for someone else, and signed
by the zero address with forged signatures, on every node including the ones nobody owns (an address name
never written, the parent node, `ADDR_NODE`); the model says they all fail and the views prove nothing moved. Each example starts from the same chain state (ape snapshot/restore), so examples are
independent. The number of examples and steps comes from the loaded hypothesis profile.

Speed: a step must cost milliseconds for the default profile (25 examples x 20 steps) to fit the suite's
budget, so the machine talks JSON-RPC directly: writes are sent from anvil's unlocked accounts with a fixed
gas limit, expected reverts are checked by `eth_call` (same state, same reason), and all the views are
read in one JSON-RPC batch of pre-encoded calls. Through ape each step cost ~0.75 s here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode
from eth_utils import keccak
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from web3.exceptions import ContractLogicError

from .registry_helpers import COIN_TYPE_DEFAULT, COIN_TYPE_ETH, address_label, address_node, name_node

ZERO = "0x0000000000000000000000000000000000000000"
LABELS = ["alpha", "beta"]
KEYS = ["network.dm3.profile", "url"]
TEXTS = ["", "v", "data:application/json," + "x" * 40]
OP = COIN_TYPE_DEFAULT | 10
BTC = 0
COINS = [COIN_TYPE_ETH, COIN_TYPE_DEFAULT, OP, BTC]
ADDRESS_BYTES = [b"", b"\x11" * 20, b"\x22" * 20, b"\x05" * 5, b"\x40" * 40]
CONTENTHASHES = [b"", b"\xe3\x01\x01", b"\xe5" * 40]
# Short (one packed slot), 31/32 bytes (the packing's edge) and long names, so that a long name replaced by a
# short one and back is covered.
PRIMARY_NAMES = ["", "alpha.op.dm3.eth", "n" * 27 + ".eth", "n" * 28 + ".eth", "ü" * 40 + ".eth"]
NAME_REGISTERED = keccak(text="NameRegistered(bytes32,bytes32,address,string)")
TRANSFER = keccak(text="Transfer(bytes32,address)")
GAS = 3_000_000


def _evm_chain(coin_type: int) -> int:
    """ENSIP-19 chainFromCoinType."""
    if coin_type == COIN_TYPE_ETH:
        return 1
    chain_id = coin_type ^ COIN_TYPE_DEFAULT
    return chain_id if chain_id < COIN_TYPE_DEFAULT else 0


@dataclass
class Model:
    """What the registry should hold."""

    owners: dict[bytes, str] = field(default_factory=dict)
    operators: set[tuple[str, str]] = field(default_factory=set)
    texts: dict[tuple[bytes, str], str] = field(default_factory=dict)
    addresses: dict[tuple[bytes, int], bytes] = field(default_factory=dict)
    contenthashes: dict[bytes, bytes] = field(default_factory=dict)
    primary_names: dict[str, str] = field(default_factory=dict)
    nonces: dict[str, int] = field(default_factory=dict)

    def authorise(self, node: bytes, account: str) -> tuple[str | None, bool]:
        """(revert reason or None, whether the write claims an address name)."""
        owner = self.owners.get(node)
        if owner == account:
            return None, False
        if owner is not None:
            return (None if (owner, account) in self.operators else "registry: not authorised"), False
        if node == address_node(account):
            return None, True
        return "registry: not authorised", False

    def address(self, node: bytes, coin_type: int) -> bytes:
        found = self.addresses.get((node, coin_type), b"")
        if not found and _evm_chain(coin_type):
            found = self.addresses.get((node, COIN_TYPE_DEFAULT), b"")
        return found


def test_stateful__registry_matches_the_model(chain, registry, sign, alice, bob, carol, relayer):
    accounts = [alice.address, bob.address, carol.address]
    # Besides the names and address names of the three accounts, nodes nobody can own: the parent, ADDR_NODE,
    # and the address name of an address nobody holds a key for.
    unowned = [
        registry.PARENT_NODE(),
        registry.ADDR_NODE(),
        address_node("0x000000000000000000000000000000000000dEaD"),
    ]
    nodes = [name_node(label) for label in LABELS] + [address_node(account) for account in accounts] + unowned
    web3 = chain.provider.web3
    contract = web3.eth.contract(
        address=registry.address,
        abi=[abi.model_dump(mode="json", by_alias=True) for abi in registry.contract_type.abi],
    )
    private_keys = {account.address: account.private_key for account in (alice, bob, carol)}

    def view(name: str, *args: Any) -> tuple[str, list[str]]:
        """Pre-encoded calldata of a view and its output types."""
        outputs = [output["type"] for output in contract.get_function_by_name(name).abi["outputs"]]
        return contract.encode_abi(name, args=list(args)), outputs

    def send(sender: str, name: str, *args: Any) -> Any:
        """Sends a write that must succeed; returns its receipt."""
        data = contract.encode_abi(name, args=list(args))
        tx_hash = web3.eth.send_transaction(
            {"from": sender, "to": registry.address, "data": data, "gas": GAS}
        )
        # anvil's automine can answer eth_sendTransaction before the block is stored: under load an immediate
        # eth_getTransactionReceipt finds nothing (seen in CI), so wait for it.
        receipt = web3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.01)
        assert receipt["status"] == 1, (name, args)
        return receipt

    def reverts(reason: str, sender: str, name: str, *args: Any) -> None:
        """Checks that a write reverts with exactly `reason`."""
        data = contract.encode_abi(name, args=list(args))
        try:
            web3.eth.call({"from": sender, "to": registry.address, "data": data, "gas": GAS})
        except ContractLogicError as error:
            assert error.message == f"execution reverted: {reason}", (error.message, name, args)
        else:
            raise AssertionError(f"{name}{args} did not revert with {reason!r}")

    class Registry(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.snapshot = chain.snapshot()
            self.model = Model()

            self.next_log_block = web3.eth.block_number + 1
            self.from_events = Model()

        def teardown(self) -> None:
            chain.restore(self.snapshot)

        def _write(
            self, node: bytes, sender: str, name: str, *args: Any, bad_input: str | None = None
        ) -> bool:
            """Sends a record write by `sender` (or signed by it); checks the outcome. True on success."""
            caller = relayer.address if name.endswith("WithSig") else sender
            reason, claims = self.model.authorise(node, sender)
            if reason or bad_input:
                reverts(reason or bad_input, caller, name, *args)
                return False
            receipt = send(caller, name, *args)
            if claims:
                self.model.owners[node] = sender
                logs = receipt["logs"]
                assert [bytes(log["topics"][0]) for log in logs[:2]] == [NAME_REGISTERED, TRANSFER]
                assert decode(["string"], logs[0]["data"])[0] == address_label(sender)
            return True

        @rule(
            label=st.sampled_from(LABELS), owner=st.sampled_from(range(3)), sender=st.sampled_from(range(3))
        )
        def register(self, label: str, owner: int, sender: int) -> None:
            node = name_node(label)
            if node in self.model.owners:
                reverts("registry: name taken", accounts[sender], "register", label, accounts[owner])
                return
            send(accounts[sender], "register", label, accounts[owner])
            self.model.owners[node] = accounts[owner]

        @rule(
            node=st.sampled_from(nodes), new_owner=st.sampled_from(range(3)), sender=st.sampled_from(range(3))
        )
        def set_owner(self, node: bytes, new_owner: int, sender: int) -> None:
            owner = self.model.owners.get(node)
            if owner != accounts[sender]:
                reverts("registry: not the owner", accounts[sender], "setOwner", node, accounts[new_owner])
            elif node == address_node(owner):
                reason = "registry: address names cannot be transferred"
                reverts(reason, accounts[sender], "setOwner", node, accounts[new_owner])
            else:
                send(accounts[sender], "setOwner", node, accounts[new_owner])
                self.model.owners[node] = accounts[new_owner]

        @rule(owner=st.sampled_from(range(3)), operator=st.sampled_from(range(3)), approved=st.booleans())
        def set_approval_for_all(self, owner: int, operator: int, approved: bool) -> None:
            send(accounts[owner], "setApprovalForAll", accounts[operator], approved)
            pair = (accounts[owner], accounts[operator])
            if approved:
                self.model.operators.add(pair)
            else:
                self.model.operators.discard(pair)

        @rule(
            node=st.sampled_from(nodes),
            key=st.sampled_from(KEYS),
            value=st.sampled_from(TEXTS),
            sender=st.sampled_from(range(3)),
        )
        def set_text(self, node: bytes, key: str, value: str, sender: int) -> None:
            if self._write(node, accounts[sender], "setText", node, key, value):
                self.model.texts[(node, key)] = value

        @rule(
            node=st.sampled_from(nodes),
            key=st.sampled_from(KEYS),
            value=st.sampled_from(TEXTS),
            signer=st.sampled_from(range(3)),
        )
        def set_text_with_sig(self, node: bytes, key: str, value: str, signer: int) -> None:
            account = accounts[signer]
            nonce = self.model.nonces.get(account, 0)
            deadline = chain.pending_timestamp + 3600
            message = {"signer": account, "node": node, "key": key, "value": value}
            signature = sign(
                private_keys[account], "SetText", {**message, "nonce": nonce, "deadline": deadline}
            )
            if self._write(node, account, "setTextWithSig", node, key, value, account, deadline, signature):
                self.model.texts[(node, key)] = value
                self.model.nonces[account] = nonce + 1

        @rule(
            node=st.sampled_from(nodes),
            to=st.sampled_from([*range(3), None]),
            sender=st.sampled_from(range(3)),
        )
        def set_addr(self, node: bytes, to: int | None, sender: int) -> None:
            a = ZERO if to is None else accounts[to]
            if self._write(node, accounts[sender], "setAddr", node, a):
                self.model.addresses[(node, COIN_TYPE_ETH)] = bytes.fromhex(a[2:])

        @rule(
            node=st.sampled_from(nodes),
            coin_type=st.sampled_from(COINS),
            a=st.sampled_from(ADDRESS_BYTES),
            sender=st.sampled_from(range(3)),
        )
        def set_addr_for_coin(self, node: bytes, coin_type: int, a: bytes, sender: int) -> None:
            evm = coin_type == COIN_TYPE_DEFAULT or _evm_chain(coin_type) > 0
            bad_input = "registry: evm address must be 20 bytes" if evm and len(a) not in (0, 20) else None
            if self._write(node, accounts[sender], "setAddrForCoin", node, coin_type, a, bad_input=bad_input):
                self.model.addresses[(node, coin_type)] = a

        @rule(
            node=st.sampled_from(nodes),
            content=st.sampled_from(CONTENTHASHES),
            sender=st.sampled_from(range(3)),
        )
        def set_contenthash(self, node: bytes, content: bytes, sender: int) -> None:
            if self._write(node, accounts[sender], "setContenthash", node, content):
                self.model.contenthashes[node] = content

        @rule(name=st.sampled_from(PRIMARY_NAMES), sender=st.sampled_from(range(3)))
        def set_primary_name(self, name: str, sender: int) -> None:
            send(accounts[sender], "setPrimaryName", name)
            self.model.primary_names[accounts[sender]] = name

        @rule(
            node=st.sampled_from(nodes),
            write=st.sampled_from(["setText", "setAddr", "setContenthash", "setAddrForCoin"]),
            signature=st.sampled_from([b"", b"\x01", b"\x00" * 64, b"\x00" * 65]),
        )
        def attacker_forges_a_zero_signer(self, node: bytes, write: str, signature: bytes) -> None:
            args = {
                "setText": (node, KEYS[0], "evil"),
                "setAddr": (node, relayer.address),
                "setContenthash": (node, CONTENTHASHES[1]),
                "setAddrForCoin": (node, OP, b"\x66" * 20),
            }[write]
            deadline = chain.pending_timestamp + 3600
            reverts(
                "registry: zero signer", relayer.address, write + "WithSig", *args, ZERO, deadline, signature
            )

        @rule(node=st.sampled_from(nodes), victim=st.sampled_from(range(3)))
        def attacker_signs_for_a_victim(self, node: bytes, victim: int) -> None:
            account = accounts[victim]
            nonce = self.model.nonces.get(account, 0)
            deadline = chain.pending_timestamp + 3600
            message = {"signer": account, "node": node, "key": KEYS[0], "value": "evil"}
            signature = sign(
                relayer.private_key, "SetText", {**message, "nonce": nonce, "deadline": deadline}
            )
            args = (node, KEYS[0], "evil", account, deadline, signature)
            reverts("registry: invalid signature", relayer.address, "setTextWithSig", *args)

        @rule(node=st.sampled_from(nodes), write=st.sampled_from(["setText", "setAddr", "setOwner"]))
        def attacker_writes_directly(self, node: bytes, write: str) -> None:
            if write == "setOwner":
                reverts("registry: not the owner", relayer.address, "setOwner", node, relayer.address)
                return
            args = (node, KEYS[0], "evil") if write == "setText" else (node, relayer.address)
            assert self.model.authorise(node, relayer.address)[0] == "registry: not authorised"
            reverts("registry: not authorised", relayer.address, write, *args)

        @invariant()
        def events_rebuild_the_model(self) -> None:
            head = web3.eth.block_number
            if head < self.next_log_block:
                return
            logs = web3.eth.get_logs(
                {"address": registry.address, "fromBlock": self.next_log_block, "toBlock": head}
            )
            self.next_log_block = head + 1
            rebuilt = self.from_events
            for log in logs:
                event = EVENTS[bytes(log["topics"][0])]().process_log(log)
                name, data = event["event"], event["args"]
                if name == "Transfer":
                    rebuilt.owners[data["node"]] = data["owner"]
                elif name == "ApprovalForAll":
                    pair = (data["owner"], data["operator"])
                    (rebuilt.operators.add if data["approved"] else rebuilt.operators.discard)(pair)
                elif name == "TextChanged":
                    rebuilt.texts[(data["node"], data["key"])] = data["value"]
                elif name == "AddressChanged":
                    rebuilt.addresses[(data["node"], data["coinType"])] = data["newAddress"]
                elif name == "ContenthashChanged":
                    rebuilt.contenthashes[data["node"]] = data["hash"]
                elif name == "PrimaryNameChanged":
                    rebuilt.primary_names[data["account"]] = data["name"]
            model = self.model
            assert rebuilt.owners == model.owners
            assert rebuilt.operators == model.operators
            assert {k: v for k, v in rebuilt.texts.items() if v} == {
                k: v for k, v in model.texts.items() if v
            }
            assert {k: v for k, v in rebuilt.addresses.items() if v} == {
                k: v for k, v in model.addresses.items() if v
            }
            assert {k: v for k, v in rebuilt.contenthashes.items() if v} == {
                k: v for k, v in model.contenthashes.items() if v
            }
            assert {k: v for k, v in rebuilt.primary_names.items() if v} == {
                k: v for k, v in model.primary_names.items() if v
            }

        @invariant()
        def views_match_the_model(self) -> None:
            model = self.model
            checks = [(VIEWS[("owner", node)], model.owners.get(node, ZERO).lower()) for node in nodes]
            checks += [(VIEWS[("contenthash", node)], model.contenthashes.get(node, b"")) for node in nodes]
            checks += [
                (VIEWS[("addr", node)], "0x" + (model.address(node, COIN_TYPE_ETH) or bytes(20)).hex())
                for node in nodes
            ]
            checks += [
                (VIEWS[("text", node, key)], model.texts.get((node, key), ""))
                for node in nodes
                for key in KEYS
            ]
            checks += [
                (VIEWS[("addrForCoin", node, coin)], model.address(node, coin))
                for node in nodes
                for coin in COINS
            ]
            checks += [
                (VIEWS[("primaryName", account)], model.primary_names.get(account, ""))
                for account in accounts
            ]
            checks += [(VIEWS[("nonces", account)], model.nonces.get(account, 0)) for account in accounts]
            checks += [
                (VIEWS[("isApprovedForAll", owner, operator)], (owner, operator) in model.operators)
                for owner in accounts
                for operator in accounts
            ]
            responses = web3.provider.make_batch_request(
                [("eth_call", [{"to": registry.address, "data": data}, "latest"]) for (data, _), _ in checks]
            )
            for ((data, outputs), expected), response in zip(checks, responses, strict=True):
                [actual] = decode(outputs, bytes.fromhex(response["result"][2:]))
                assert actual == expected, (data[:10], actual, expected)

    EVENTS = {
        bytes(keccak(text=f"{abi['name']}({','.join(i['type'] for i in abi['inputs'])})")): getattr(
            contract.events, abi["name"]
        )
        for abi in contract.abi
        if abi["type"] == "event"
    }
    VIEWS = {("owner", node): view("owner", node) for node in nodes}
    VIEWS |= {("contenthash", node): view("contenthash", node) for node in nodes}
    VIEWS |= {("addr", node): view("addr", node) for node in nodes}
    VIEWS |= {("text", node, key): view("text", node, key) for node in nodes for key in KEYS}
    VIEWS |= {
        ("addrForCoin", node, coin): view("addrForCoin", node, coin) for node in nodes for coin in COINS
    }
    VIEWS |= {("primaryName", account): view("primaryName", account) for account in accounts}
    VIEWS |= {("nonces", account): view("nonces", account) for account in accounts}
    VIEWS |= {
        ("isApprovedForAll", owner, operator): view("isApprovedForAll", owner, operator)
        for owner in accounts
        for operator in accounts
    }

    run_state_machine_as_test(Registry, settings=settings())
