"""Dm3Resolver's proof mode against the L1 harness contracts (ape's anvil) and a real L2 (a second anvil).

The L2 runs ProfileRegistry with records; `harness.proposer` posts its output roots as dispute games (OP) or its
block hashes in confirmed assertions (Arbitrum) on L1, and builds the gateway's answer from `eth_getProof`. Every
proven answer must equal, byte for byte, what the registry's own view returns at the proven block; every tampering
must revert with its own reason.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from typing import Any

import ape
import pytest
from ape import chain
from eth_abi import decode, encode
from eth_utils import keccak, to_checksum_address
from pydantic import SecretStr

from harness.devnet import ROOT, Anvil, Devnet, contract_types
from harness.mpt_proofs import AccountProof, get_proof, rehash
from harness.proposer import (
    ArbitrumProposer,
    OpOutput,
    OpProposer,
    arbitrum_response,
    assertion_inputs,
    node_rpc,
    op_response,
    parent_assertion,
    storage_witness,
)
from indexer.proofs.witness import Assertion, encode_arbitrum_response

from .resolver_helpers import URLS, Gateway, error_string, resolve_request

PARENT = "op.dm3.eth"
STATE_PROOF_SELECTOR = keccak(b"resolveWithStateProof(bytes,bytes)")[:4]
SIGNED, PROVEN, PROVEN_OR_SIGNED = 0, 1, 2
OP, ARBITRUM = 1, 2
MIN_AGE = 3600
LONG_TEXT = "p" * 500
LONG_COIN_ADDRESS = bytes(range(40))  # a 40-byte (non-EVM, coin type 0) address: stored apart


def namehash(name: str) -> bytes:
    node = bytes(32)
    for label in reversed(name.split(".") if name else []):
        node = keccak(node + keccak(label.encode()))
    return node


def dns(name: str) -> bytes:
    return b"".join(len(label).to_bytes(1, "big") + label.encode() for label in name.split(".")) + b"\0"


def call(selector: str, name: str, *args: Any) -> bytes:
    node = namehash(name)
    if selector == "text":
        return bytes.fromhex("59d1d43c") + encode(["bytes32", "string"], [node, *args])
    if selector == "addr":
        return bytes.fromhex("3b3b57de") + encode(["bytes32"], [node])
    if selector == "addr_coin":
        return bytes.fromhex("f1cb7e06") + encode(["bytes32", "uint256"], [node, *args])
    return bytes.fromhex("bc1c58d1") + encode(["bytes32"], [node])


@pytest.fixture(scope="module")
def l2(project: Any) -> Any:
    anvil = Anvil(chain_id=31_337_010)
    try:
        net = Devnet(anvil, contract_types(project))
        alice = net.accounts[1]
        node = namehash("alice." + PARENT)
        registry = net.registry
        assert net.send(registry, alice, "register", "alice", to_checksum_address(alice))
        assert net.send(registry, alice, "setText", node, "network.dm3.profile", LONG_TEXT)
        assert net.send(registry, alice, "setText", node, "short", "hi")
        assert net.send(registry, alice, "setAddr", node, to_checksum_address(alice))
        assert net.send(registry, alice, "setAddrForCoin", node, 0, LONG_COIN_ADDRESS)
        assert net.send(registry, alice, "setAddrForCoin", node, 2**31, bytes.fromhex(net.accounts[2][2:]))
        assert net.send(registry, alice, "setContenthash", node, b"\xe3\x01" + bytes(range(34)))
        yield net
    finally:
        anvil.stop()


def _deploy_blueprint(web3: Any, owner: Any, container: Any) -> str:
    """EIP-5202: the initcode behind 0xfe7100, deployed as code nobody can call."""
    code = b"\xfe\x71\x00" + bytes.fromhex(
        str(container.contract_type.deployment_bytecode.bytecode).removeprefix("0x")
    )
    stub = b"\x61" + len(code).to_bytes(2, "big") + b"\x3d\x81\x60\x0a\x3d\x39\xf3" + code
    tx = web3.eth.send_transaction({"from": owner.address, "data": "0x" + stub.hex()})
    return str(web3.eth.wait_for_transaction_receipt(tx)["contractAddress"])


@pytest.fixture(scope="module")
def l1(project: Any, owner: Any, gateway: Gateway, l2: Any) -> Any:
    web3 = chain.provider.web3
    factory = project.HarnessDisputeGameFactory.deploy(
        _deploy_blueprint(web3, owner, project.HarnessFaultDisputeGame), sender=owner
    )
    asr = project.HarnessAnchorStateRegistry.deploy(factory, 0, 0, sender=owner)
    factory.harnessSetAnchorStateRegistry(asr, sender=owner)
    rollup = project.HarnessArbitrumRollup.deploy(sender=owner)
    verifier = project.Dm3ProofVerifier.deploy(project.Dm3AnchorVerifier.deploy(sender=owner), sender=owner)
    resolver = project.Dm3Resolver.deploy(URLS, [gateway.address], owner, sender=owner)
    resolver.set_proof_config(
        namehash(PARENT), PROVEN, OP, l2.registry.address, factory, asr, MIN_AGE, verifier, sender=owner
    )
    return type(
        "L1",
        (),
        {"factory": factory, "asr": asr, "rollup": rollup, "verifier": verifier, "resolver": resolver},
    )


def prove(eth_call: Any, resolver: Any, response: bytes, name: str, data: bytes) -> tuple[bool, bytes | str]:
    """`resolveWithStateProof` raw: (True, the decoded `bytes` answer) or (False, the revert reason)."""
    calldata = STATE_PROOF_SELECTOR + encode(["bytes", "bytes"], [response, resolve_request(dns(name), data)])
    ok, out = eth_call(resolver.address, calldata)
    if ok:
        return True, decode(["bytes"], out)[0]
    return False, error_string(out) if out else ""


def registry_view(l2: Any, data: bytes, block: int) -> bytes:
    return bytes.fromhex(
        l2.anvil.rpc("eth_call", [{"to": l2.registry.address, "data": "0x" + data.hex()}, hex(block)])[2:]
    )


@pytest.fixture
def game(project: Any, l1: Any, l2: Any, owner: Any) -> OpOutput:
    """An output root of the L2's head, resolved for the defender."""
    output = OpProposer(l2.anvil, l1.factory).propose(owner)
    project.HarnessFaultDisputeGame.at(output.game).harnessResolve(2, sender=owner)
    return output


CALLS = [
    ("text", "alice", "network.dm3.profile"),
    ("text", "alice", "short"),
    ("text", "alice", "unset"),
    ("text", "nobody", "network.dm3.profile"),
    ("addr", "alice"),
    ("addr", "nobody"),
    ("addr_coin", "alice", 60),
    ("addr_coin", "alice", 0),
    ("addr_coin", "alice", 2**31 | 10),  # no record for chain 10: the ENSIP-19 default address
    ("addr_coin", "alice", 2),
    ("contenthash", "alice"),
    ("contenthash", "nobody"),
]


def test_proven_answers_equal_the_registry_views(
    eth_call: Any, lookup: Any, l1: Any, l2: Any, game: OpOutput
) -> None:
    for selector, label, *args in CALLS:
        name = f"{label}.{PARENT}"
        data = call(selector, name, *args)
        assert lookup(l1.resolver, dns(name), data).callback_function == STATE_PROOF_SELECTOR
        response = op_response(game, storage_witness(l2.anvil, l2.registry.address, data, game.block_number))
        ok, answer = prove(eth_call, l1.resolver, response, name, data)
        assert ok, (selector, label, args, answer)
        assert answer == registry_view(l2, data, game.block_number), (selector, label, args)


def test_arbitrum_assertion_answers(eth_call: Any, owner: Any, l1: Any, l2: Any) -> None:
    l1.resolver.set_proof_config(
        namehash(PARENT), PROVEN, ARBITRUM, l2.registry.address, l1.rollup, ZERO, 0, l1.verifier, sender=owner
    )
    assertion = ArbitrumProposer(l2.anvil, l1.rollup).propose(owner)
    for selector, label, *args in CALLS[:1] + CALLS[4:5] + CALLS[7:8]:
        name = f"{label}.{PARENT}"
        data = call(selector, name, *args)
        response = arbitrum_response(
            assertion, storage_witness(l2.anvil, l2.registry.address, data, assertion.block_number)
        )
        assert prove(eth_call, l1.resolver, response, name, data) == (
            True,
            registry_view(l2, data, assertion.block_number),
        )
    # A multicall against the assertion: the same groups as the OP stack's (the witnesses' last field).
    calls = [call("text", NAME, "short"), call("addr", NAME), call("contenthash", NAME)]
    groups = [
        [
            nodes
            for _, _, nodes in storage_witness(
                l2.anvil, l2.registry.address, c, assertion.block_number
            ).storage
        ]
        for c in calls
    ]
    response = encode_arbitrum_response(
        assertion.assertion,
        assertion.header,
        get_proof(l2.anvil.rpc, l2.registry.address, [], assertion.block_number).account_proof,
        groups,
        multicall=True,
    )
    expected = encode(["bytes[]"], [[registry_view(l2, c, assertion.block_number) for c in calls]])
    answer = prove(eth_call, l1.resolver, response, NAME, multicall(calls))
    assert answer == (True, expected)
    pending = ArbitrumProposer(l2.anvil, l1.rollup).propose(owner, confirm=False)
    data = call("text", "alice." + PARENT, "short")
    response = arbitrum_response(
        pending, storage_witness(l2.anvil, l2.registry.address, data, pending.block_number)
    )
    assert prove(eth_call, l1.resolver, response, "alice." + PARENT, data) == (
        False,
        "resolver: assertion not confirmed",
    )
    forged = replace(assertion, assertion=replace(assertion.assertion, inbox_acc=keccak(b"other inbox")))
    response = arbitrum_response(
        forged, storage_witness(l2.anvil, l2.registry.address, data, assertion.block_number)
    )
    assert prove(eth_call, l1.resolver, response, "alice." + PARENT, data) == (
        False,
        "resolver: wrong assertion preimage",
    )
    other_header = replace(assertion, header=assertion.header[:-1] + b"\x01")
    response = arbitrum_response(
        other_header, storage_witness(l2.anvil, l2.registry.address, data, assertion.block_number)
    )
    assert prove(eth_call, l1.resolver, response, "alice." + PARENT, data) == (
        False,
        "resolver: wrong block header",
    )


ZERO = "0x" + "00" * 20
NAME = "alice." + PARENT
TEXT_CALL = call("text", NAME, "network.dm3.profile")


def _witness(l2: Any, game: OpOutput, data: bytes = TEXT_CALL) -> AccountProof:
    return storage_witness(l2.anvil, l2.registry.address, data, game.block_number)


def test_tampered_storage_and_account_proofs(eth_call: Any, l1: Any, l2: Any, game: OpOutput) -> None:
    honest = _witness(l2, game)
    # Another record's slots (the `short` text) for the `network.dm3.profile` request.
    other = _witness(l2, game, call("text", NAME, "short"))
    ok, reason = prove(eth_call, l1.resolver, op_response(game, other), NAME, TEXT_CALL)
    assert not ok and str(reason).startswith("mpt: "), reason
    # Another value: the first data slot's leaf re-hashed with other bytes, up to its own (unproven) root.
    slot, _, nodes = honest.storage[1]
    leaf = nodes[-1]
    forged_leaf = leaf[:-2] + bytes([leaf[-2] ^ 1]) + leaf[-1:]
    _, forged_nodes = rehash(nodes, len(nodes) - 1, forged_leaf)
    forged = replace(honest, storage=[honest.storage[0], (slot, 0, forged_nodes), *honest.storage[2:]])
    assert prove(eth_call, l1.resolver, op_response(game, forged), NAME, TEXT_CALL) == (
        False,
        "mpt: wrong node hash",
    )
    # Another account: the token contract's proof stands in for the registry's.
    token = storage_witness(l2.anvil, l2.token.address, TEXT_CALL, game.block_number)
    swapped = replace(honest, account_proof=token.account_proof)
    ok, reason = prove(eth_call, l1.resolver, op_response(game, swapped), NAME, TEXT_CALL)
    assert not ok and str(reason).startswith("mpt: "), reason
    # One storage proof too many or too few.
    extra = replace(honest, storage=[*honest.storage, honest.storage[-1]])
    assert prove(eth_call, l1.resolver, op_response(game, extra), NAME, TEXT_CALL) == (
        False,
        "resolver: extra storage proofs",
    )
    short = replace(honest, storage=honest.storage[:-1])
    assert prove(eth_call, l1.resolver, op_response(game, short), NAME, TEXT_CALL) == (
        False,
        "resolver: missing storage proof",
    )


def test_tampered_output_roots_and_requests(eth_call: Any, l1: Any, l2: Any, game: OpOutput) -> None:
    honest = _witness(l2, game)
    for index in (1, 2):  # the state root, the message passer's storage root
        preimage = list(game.preimage)
        preimage[index] = keccak(preimage[index])
        response = op_response(replace(game, preimage=preimage), honest)
        assert prove(eth_call, l1.resolver, response, NAME, TEXT_CALL) == (
            False,
            "resolver: wrong output root preimage",
        )
    missing = replace(game, game_index=l1.factory.gameCount())
    assert prove(eth_call, l1.resolver, op_response(missing, honest), NAME, TEXT_CALL) == (
        False,
        "resolver: no such game",
    )
    wrong_kind = encode(["uint8", "bytes"], [2, decode(["uint8", "bytes"], op_response(game, honest))[1]])
    assert prove(eth_call, l1.resolver, wrong_kind, NAME, TEXT_CALL) == (False, "resolver: wrong proof kind")
    bob_data = call("text", "bob." + PARENT, "network.dm3.profile")
    assert prove(eth_call, l1.resolver, op_response(game, honest), NAME, bob_data) == (
        False,
        "resolver: node does not match name",
    )
    other_parent = "alice.base.dm3.eth"
    other_data = call("text", other_parent, "x")
    assert prove(eth_call, l1.resolver, op_response(game, honest), other_parent, other_data) == (
        False,
        "resolver: proof mode off",
    )


def test_game_policy(eth_call: Any, project: Any, owner: Any, l1: Any, l2: Any) -> None:
    proposer = OpProposer(l2.anvil, l1.factory)

    def answer(output: OpOutput) -> tuple[bool, bytes | str]:
        return prove(eth_call, l1.resolver, op_response(output, _witness(l2, output)), NAME, TEXT_CALL)

    young = proposer.propose(owner)
    assert answer(young) == (False, "resolver: game too young")
    challenged = proposer.propose(owner, root_claim=keccak(b"a wrong claim"))
    project.HarnessFaultDisputeGame.at(challenged.game).harnessResolve(1, sender=owner)
    assert answer(challenged) == (False, "resolver: challenger won")
    blacklisted = proposer.propose(owner, root_claim=keccak(b"blacklisted"))
    l1.asr.blacklistDisputeGame(blacklisted.game, sender=owner)
    assert answer(blacklisted) == (False, "resolver: game blacklisted")
    chain.pending_timestamp += MIN_AGE + 1
    chain.mine()
    ok, value = answer(young)  # unchallenged for MIN_AGE: accepted while still in progress
    assert ok and value == registry_view(l2, TEXT_CALL, young.block_number)
    l1.asr.setRespectedGameType(1, sender=owner)
    unrespected = proposer.propose(owner, root_claim=keccak(b"unrespected"))
    assert answer(unrespected) == (False, "resolver: game not respected")
    l1.asr.setRespectedGameType(0, sender=owner)
    chain.pending_timestamp += 1
    l1.asr.updateRetirementTimestamp(sender=owner)
    assert answer(young) == (False, "resolver: game retired")


def test_signed_answers_per_mode(
    eth_call: Any, owner: Any, gateway: Gateway, l1: Any, l2: Any, now: int
) -> None:
    request = resolve_request(dns(NAME), TEXT_CALL)
    result = encode(["string"], ["signed"])
    signed = gateway.respond(resolver=l1.resolver.address, expires=now + 600, request=request, result=result)
    assert prove(eth_call, l1.resolver, signed, NAME, TEXT_CALL) == (
        False,
        "resolver: signed answers disabled",
    )
    config = l1.resolver.proof_configs(namehash(PARENT))
    l1.resolver.set_proof_config(namehash(PARENT), PROVEN_OR_SIGNED, *list(config)[1:], sender=owner)
    assert prove(eth_call, l1.resolver, signed, NAME, TEXT_CALL) == (True, result)
    expired = gateway.respond(resolver=l1.resolver.address, expires=now - 1, request=request, result=result)
    assert prove(eth_call, l1.resolver, expired, NAME, TEXT_CALL) == (False, "resolver: signature expired")


def test_set_proof_config_owner_only_checked_and_logged(owner: Any, accounts: Any, l1: Any, l2: Any) -> None:
    import ape

    node = namehash("arb.dm3.eth")
    args = (node, PROVEN, ARBITRUM, l2.registry.address, l1.rollup, ZERO, 0, l1.verifier)
    with ape.reverts():
        l1.resolver.set_proof_config(*args, sender=accounts[7])
    receipt = l1.resolver.set_proof_config(*args, sender=owner)
    assert [log.parent for log in receipt.decode_logs(l1.resolver.ProofConfigChanged)] == [node]
    assert l1.resolver.proof_config_for(dns("x.arb.dm3.eth"))[0] == ARBITRUM
    for bad, reason in [
        ((node, 3, ARBITRUM, l2.registry.address, l1.rollup, ZERO, 0, l1.verifier), "resolver: invalid mode"),
        (
            (node, PROVEN, 3, l2.registry.address, l1.rollup, ZERO, 0, l1.verifier),
            "resolver: invalid proof kind",
        ),
        (
            (node, PROVEN, OP, l2.registry.address, l1.factory, ZERO, 0, l1.verifier),
            "resolver: zero proof address",
        ),
        (
            (node, PROVEN, ARBITRUM, l2.registry.address, l1.rollup, ZERO, 0, ZERO),
            "resolver: verifier is not a contract",
        ),
        (
            (node, SIGNED, ARBITRUM, ZERO, ZERO, ZERO, 0, ZERO),
            "resolver: signed mode takes no proof settings",
        ),
    ]:
        with ape.reverts(reason):
            l1.resolver.set_proof_config(*bad, sender=owner)
    l1.resolver.set_proof_config(node, SIGNED, 0, ZERO, ZERO, ZERO, 0, ZERO, sender=owner)
    with ape.reverts("resolver: proof mode off"):
        l1.resolver.proof_config_for(dns("x.arb.dm3.eth"))


def test_slot_constants_match_the_registry_layout() -> None:
    """The verifier's slot constants are ProfileRegistry's storage layout (a layout change must fail here)."""
    out = subprocess.run(
        [str(ROOT / ".venv/bin/vyper"), "-f", "layout", "ProfileRegistry.vy", "-p", "."],
        cwd=ROOT / "contracts",
        capture_output=True,
        text=True,
        check=True,
    )
    layout = json.loads(out.stdout)["storage_layout"]
    source = (ROOT / "contracts/Dm3ProofVerifier.vy").read_text()
    for name, constant in [
        ("_texts", "_TEXTS_SLOT"),
        ("_addresses", "_ADDRESSES_SLOT"),
        ("_long_addresses", "_LONG_ADDRESSES_SLOT"),
        ("_contenthashes", "_CONTENTHASHES_SLOT"),
    ]:
        assert f"{constant}: constant(uint256) = {layout[name]['slot']}\n" in source, name


def test_malformed_witnesses(eth_call: Any, l1: Any, l2: Any, game: OpOutput) -> None:
    honest = op_response(game, _witness(l2, game))
    _, witness = decode(["uint8", "bytes"], honest)

    def with_witness(raw: bytes) -> bytes:
        return encode(["uint8", "bytes"], [1, raw])

    # The storage-proofs offset pointing past the witness; a proof with 17 nodes; a node of 601 bytes.
    past_end = witness[: 6 * 32] + (len(witness) + 64).to_bytes(32, "big") + witness[7 * 32 :]
    assert prove(eth_call, l1.resolver, with_witness(past_end), NAME, TEXT_CALL) == (
        False,
        "resolver: malformed witness",
    )
    proof = _witness(l2, game)
    too_long = replace(proof, account_proof=proof.account_proof * 6)
    assert prove(eth_call, l1.resolver, op_response(game, too_long), NAME, TEXT_CALL) == (
        False,
        "resolver: proof too long",
    )
    big_node = replace(
        proof, account_proof=[proof.account_proof[0] + bytes(601 - len(proof.account_proof[0]))]
    )
    assert prove(eth_call, l1.resolver, op_response(game, big_node), NAME, TEXT_CALL) == (
        False,
        "resolver: proof node too long",
    )
    assert prove(eth_call, l1.resolver, with_witness(witness[:100]), NAME, TEXT_CALL) == (
        False,
        "resolver: malformed witness",
    )
    # Offsets so large that adding them would overflow: refused before any arithmetic.
    huge = witness[: 5 * 32] + (2**256 - 1).to_bytes(32, "big") + witness[6 * 32 :]
    assert prove(eth_call, l1.resolver, with_witness(huge), NAME, TEXT_CALL) == (
        False,
        "resolver: malformed witness",
    )
    calldata = STATE_PROOF_SELECTOR + (2**256 - 1).to_bytes(32, "big") + bytes(64)
    ok, out = eth_call(l1.resolver.address, calldata)
    assert (ok, error_string(out)) == (False, "resolver: malformed witness")
    ok, out = eth_call(l1.resolver.address, bytes.fromhex("deadbeef") + bytes(64))
    assert (ok, error_string(out)) == (False, "resolver: unknown function")
    unsupported = bytes.fromhex("691f3431") + encode(["bytes32"], [namehash(NAME)])  # name(bytes32)
    assert prove(eth_call, l1.resolver, honest, NAME, unsupported) == (False, "resolver: unsupported call")
    # An empty label ends the DNS name early: bytes after the root label.
    assert prove(eth_call, l1.resolver, honest, "alice..op.dm3.eth", TEXT_CALL) == (
        False,
        "resolver: malformed name",
    )


def test_text_lengths_at_word_boundaries_and_shrunk_values(
    eth_call: Any, project: Any, owner: Any, l1: Any, l2: Any
) -> None:
    """Lengths around 32-byte words, and a value shrunk over a longer one (stale bytes past its end in storage)."""
    alice = l2.accounts[1]
    node = namehash(NAME)
    lengths = [0, 1, 31, 32, 33, 63, 64, 65, 255]
    for length in lengths:
        assert l2.send(
            l2.registry, alice, "setText", node, f"len{length}", "abcdefghij"[length % 10] * length
        )
    assert l2.send(l2.registry, alice, "setText", node, "shrunk", "x" * 100)
    assert l2.send(l2.registry, alice, "setText", node, "shrunk", "y" * 33)
    output = OpProposer(l2.anvil, l1.factory).propose(owner)
    project.HarnessFaultDisputeGame.at(output.game).harnessResolve(2, sender=owner)
    for key in [f"len{length}" for length in lengths] + ["shrunk"]:
        data = call("text", NAME, key)
        response = op_response(
            output, storage_witness(l2.anvil, l2.registry.address, data, output.block_number)
        )
        assert prove(eth_call, l1.resolver, response, NAME, data) == (
            True,
            registry_view(l2, data, output.block_number),
        ), key


def test_a_record_updated_after_the_game_is_served_at_the_proven_state(
    eth_call: Any, project: Any, owner: Any, l1: Any, l2: Any
) -> None:
    alice = l2.accounts[1]
    data = call("text", NAME, "status")
    assert l2.send(l2.registry, alice, "setText", namehash(NAME), "status", "before")
    older = OpProposer(l2.anvil, l1.factory).propose(owner)
    project.HarnessFaultDisputeGame.at(older.game).harnessResolve(2, sender=owner)
    assert l2.send(l2.registry, alice, "setText", namehash(NAME), "status", "after")
    at_game = op_response(older, storage_witness(l2.anvil, l2.registry.address, data, older.block_number))
    assert prove(eth_call, l1.resolver, at_game, NAME, data) == (True, encode(["string"], ["before"]))
    # The newer state's proofs do not verify against the older game's state root.
    head = l2.anvil.block_number()
    newer_proofs = op_response(older, storage_witness(l2.anvil, l2.registry.address, data, head))
    ok, reason = prove(eth_call, l1.resolver, newer_proofs, NAME, data)
    assert not ok and str(reason).startswith("mpt: "), reason
    newer = OpProposer(l2.anvil, l1.factory).propose(owner)
    project.HarnessFaultDisputeGame.at(newer.game).harnessResolve(2, sender=owner)
    at_newer = op_response(newer, storage_witness(l2.anvil, l2.registry.address, data, newer.block_number))
    assert prove(eth_call, l1.resolver, at_newer, NAME, data) == (True, encode(["string"], ["after"]))


def test_the_off_chain_witness_builder_answers_verify_on_chain(
    eth_call: Any, project: Any, owner: Any, l1: Any, l2: Any
) -> None:
    """`indexer.proofs.witness` (the gateway side's builder) and the verifier agree on the format and the slots."""
    from indexer.proofs import witness as builder

    node = namehash(NAME)
    registry = to_checksum_address(l2.registry.address)
    records = [
        (builder.Text(node, "network.dm3.profile"), call("text", NAME, "network.dm3.profile")),
        (builder.Text(node, "unset"), call("text", NAME, "unset")),
        (builder.Addr(node), call("addr_coin", NAME, 60)),
        (builder.Addr(node, 0), call("addr_coin", NAME, 0)),
        (builder.Addr(node, 2**31 | 10), call("addr_coin", NAME, 2**31 | 10)),
        (builder.Contenthash(node), call("contenthash", NAME)),
    ]
    output = OpProposer(l2.anvil, l1.factory).propose(owner)
    project.HarnessFaultDisputeGame.at(output.game).harnessResolve(2, sender=owner)
    for record, data in records:
        built = builder.op_witness(
            l2.anvil.rpc,
            registry=registry,
            record=record,
            block=output.block_number,
            game_index=output.game_index,
        )
        assert built.commitment == keccak(b"".join(output.preimage))
        assert prove(eth_call, l1.resolver, built.response, NAME, data) == (
            True,
            registry_view(l2, data, output.block_number),
        ), record
    # A multicall of all of them (and an empty one): one group per record, verified call by call on chain.
    for batch in (records, records[:1], []):
        built = builder.op_witness(
            l2.anvil.rpc,
            registry=registry,
            record=builder.Multicall(tuple(record for record, _ in batch)),
            block=output.block_number,
            game_index=output.game_index,
        )
        calls = [data for _, data in batch]
        expected = encode(["bytes[]"], [[registry_view(l2, data, output.block_number) for data in calls]])
        assert prove(eth_call, l1.resolver, built.response, NAME, multicall(calls)) == (True, expected), len(
            batch
        )


# ---------------------------------------------------------------- multicall, a 4 KiB text, the entry point's ABI head

MULTICALL = bytes.fromhex("ac9650d8")
MAX_TEXT = 4096


def multicall(calls: list[bytes]) -> bytes:
    return MULTICALL + encode(["bytes[]"], [calls])


def multicall_response(l2: Any, game: OpOutput, calls: list[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """The kind-1 answer to `multicall(calls)`: one account proof, one storage-proof group per inner call (built
    with the harness's own slot walk, independent of the gateway's builder), and the groups."""
    registry = l2.registry.address
    account = get_proof(l2.anvil.rpc, registry, [], game.block_number).account_proof
    groups = [
        [nodes for _, _, nodes in storage_witness(l2.anvil, registry, data, game.block_number).storage]
        for data in calls
    ]
    return with_groups(game, account, groups), groups


def with_groups(game: OpOutput, account: list[bytes], groups: list[list[bytes]] | list[Any]) -> bytes:
    witness = encode(
        ["uint256", "bytes32[4]", "bytes[]", "bytes[][][]"], [game.game_index, game.preimage, account, groups]
    )
    return encode(["uint8", "bytes"], [OP, witness])


MULTICALL_CALLS = [
    call("text", NAME, "network.dm3.profile"),
    call("addr", NAME),
    call("contenthash", NAME),
    call("text", NAME, "missing"),
    call("addr_coin", NAME, 0),  # a long (40-byte) address: four slots
]


def test_multicall__each_inner_call_proven__equals_the_registry_views(
    eth_call: Any, lookup: Any, l1: Any, l2: Any, game: OpOutput
) -> None:
    data = multicall(MULTICALL_CALLS)
    assert lookup(l1.resolver, dns(NAME), data).callback_function == STATE_PROOF_SELECTOR
    response, _ = multicall_response(l2, game, MULTICALL_CALLS)
    expected = encode(["bytes[]"], [[registry_view(l2, c, game.block_number) for c in MULTICALL_CALLS]])
    assert prove(eth_call, l1.resolver, response, NAME, data) == (True, expected)
    assert decode(["bytes[]"], expected)[0][3] == encode(
        ["string"], [""]
    )  # the missing record: proven absent
    # The empty multicall: an empty list, with no storage proofs at all.
    empty, _ = multicall_response(l2, game, [])
    assert prove(eth_call, l1.resolver, empty, NAME, multicall([])) == (True, encode(["bytes[]"], [[]]))


def test_multicall__tampered_missing_extra_or_swapped_groups__revert(
    eth_call: Any, l1: Any, l2: Any, game: OpOutput
) -> None:
    data = multicall(MULTICALL_CALLS)
    honest, groups = multicall_response(l2, game, MULTICALL_CALLS)
    account = get_proof(l2.anvil.rpc, l2.registry.address, [], game.block_number).account_proof
    assert prove(eth_call, l1.resolver, honest, NAME, data)[0]
    # A forged value inside the second inner call's group (the addr word), re-hashed up to its own root.
    nodes = groups[1][0]
    leaf = nodes[-1]
    _, forged_nodes = rehash(nodes, len(nodes) - 1, leaf[:-2] + bytes([leaf[-2] ^ 1]) + leaf[-1:])
    forged = [groups[0], [forged_nodes], *groups[2:]]
    assert prove(eth_call, l1.resolver, with_groups(game, account, forged), NAME, data) == (
        False,
        "mpt: wrong node hash",
    )
    # The second group holding another record's proof (the first call's length slot).
    other = [groups[0], [groups[0][0]], *groups[2:]]
    ok, reason = prove(eth_call, l1.resolver, with_groups(game, account, other), NAME, data)
    assert not ok and str(reason).startswith("mpt: "), reason
    # Inside the second group, one proof too many; the first group one too few.
    extra_in_group = [groups[0], [*groups[1], groups[1][0]], *groups[2:]]
    assert prove(eth_call, l1.resolver, with_groups(game, account, extra_in_group), NAME, data) == (
        False,
        "resolver: extra storage proofs",
    )
    assert prove(
        eth_call, l1.resolver, with_groups(game, account, [groups[0][:-1], *groups[1:]]), NAME, data
    ) == (
        False,
        "resolver: missing storage proof",
    )
    # A whole group missing, or one more than the calls.
    assert prove(eth_call, l1.resolver, with_groups(game, account, groups[:-1]), NAME, data) == (
        False,
        "resolver: missing proof group",
    )
    assert prove(eth_call, l1.resolver, with_groups(game, account, [*groups, groups[0]]), NAME, data) == (
        False,
        "resolver: extra proof groups",
    )
    # Two groups swapped: each call's slots are computed from the call, so the proofs do not fit.
    swapped = [groups[1], groups[0], *groups[2:]]
    ok, reason = prove(eth_call, l1.resolver, with_groups(game, account, swapped), NAME, data)
    assert not ok and str(reason).startswith(("mpt: ", "resolver: ")), reason
    # A single call's proofs (bytes[][]) given for a multicall: read as groups, its 17 slot proofs are 17 groups
    # for 5 calls.
    single = op_response(game, _witness(l2, game))
    assert prove(eth_call, l1.resolver, single, NAME, data) == (False, "resolver: extra proof groups")


def test_multicall__nested_other_node_or_unsupported__revert(
    eth_call: Any, l1: Any, l2: Any, game: OpOutput
) -> None:
    nested_calls = [call("addr", NAME), multicall([call("addr", NAME)])]
    account = get_proof(l2.anvil.rpc, l2.registry.address, [], game.block_number).account_proof
    _, groups = multicall_response(l2, game, nested_calls[:1])
    nested = with_groups(game, account, [groups[0], []])
    assert prove(eth_call, l1.resolver, nested, NAME, multicall(nested_calls)) == (
        False,
        "resolver: nested multicall",
    )
    bob_calls = [call("addr", NAME), call("addr", "bob." + PARENT)]
    bob, _ = multicall_response(l2, game, bob_calls)
    assert prove(eth_call, l1.resolver, bob, NAME, multicall(bob_calls)) == (
        False,
        "resolver: node does not match name",
    )
    name_call = bytes.fromhex("691f3431") + encode(["bytes32"], [namehash(NAME)])  # name(bytes32)
    unsupported = with_groups(game, account, [groups[0], []])
    assert prove(eth_call, l1.resolver, unsupported, NAME, multicall([call("addr", NAME), name_call])) == (
        False,
        "resolver: unsupported call",
    )
    # 33 calls cannot fit the 4,096-byte `data` unless their offsets share one encoded call (legal ABI).
    one = encode(["bytes"], [call("addr", NAME)])[32:]
    shared = MULTICALL + encode(["uint256", "uint256"], [32, 33]) + (33 * 32).to_bytes(32, "big") * 33 + one
    too_many = with_groups(game, account, groups * 33)
    assert prove(eth_call, l1.resolver, too_many, NAME, shared) == (
        False,
        "resolver: multicall too long",
    )


def test_multicall__malformed_encodings__revert_with_reasons(
    eth_call: Any, l1: Any, l2: Any, game: OpOutput
) -> None:
    calls = [call("addr", NAME), call("contenthash", NAME)]
    response, _ = multicall_response(l2, game, calls)
    good = multicall(calls)
    body = good[4:]
    word = 32
    cases = {
        "array offset past the end": MULTICALL + (len(body) + 32).to_bytes(32, "big") + body[word:],
        "array offset overflowing": MULTICALL + (2**256 - 1).to_bytes(32, "big") + body[word:],
        "count past the end": MULTICALL + body[:word] + (30).to_bytes(32, "big") + body[2 * word :],
        "count overflowing": MULTICALL + body[:word] + (2**256 - 1).to_bytes(32, "big") + body[2 * word :],
        "call offset past the end": MULTICALL
        + body[: 2 * word]
        + (len(body)).to_bytes(32, "big")
        + body[3 * word :],
        "call offset overflowing": MULTICALL
        + body[: 2 * word]
        + (2**256 - 1).to_bytes(32, "big")
        + body[3 * word :],
        "call length overflowing": MULTICALL
        + body[: 4 * word]
        + (2**256 - 64).to_bytes(32, "big")
        + body[5 * word :],
        "truncated": good[: len(good) - 40],
        "only a selector": MULTICALL,
    }
    for what, data in cases.items():
        ok, reason = prove(eth_call, l1.resolver, response, NAME, data)
        assert not ok and reason in ("resolver: malformed multicall", "resolver: multicall too long"), (
            what,
            reason,
        )


def test_text_of_the_registry_maximum_length__proven(
    eth_call: Any, web3: Any, project: Any, owner: Any, l1: Any, l2: Any
) -> None:
    """A 4,096-byte text (ProfileRegistry's maximum): 129 storage proofs, no answer cap; alone and in a multicall."""
    alice = l2.accounts[1]
    value = "".join(chr(ord("a") + i % 26) for i in range(MAX_TEXT))
    request = {
        **l2.tx_request(l2.registry, alice, "setText", namehash(NAME), "long", value),
        "gas": hex(6_000_000),
    }
    assert l2.anvil.receipt(l2.anvil.rpc("eth_sendTransaction", [request]))["status"] == "0x1"
    output = OpProposer(l2.anvil, l1.factory).propose(owner)
    project.HarnessFaultDisputeGame.at(output.game).harnessResolve(2, sender=owner)
    data = call("text", NAME, "long")
    proof = storage_witness(l2.anvil, l2.registry.address, data, output.block_number)
    assert len(proof.storage) == 129
    response = op_response(output, proof)
    assert prove(eth_call, l1.resolver, response, NAME, data) == (True, encode(["string"], [value]))
    calldata = STATE_PROOF_SELECTOR + encode(["bytes", "bytes"], [response, resolve_request(dns(NAME), data)])
    gas = web3.eth.estimate_gas(
        {"to": to_checksum_address(l1.resolver.address), "data": "0x" + calldata.hex()}
    )
    print(f"\n4 KiB text: calldata {len(calldata)} bytes, resolveWithStateProof gas {gas}")
    calls = [data, call("addr", NAME)]
    both, _ = multicall_response(l2, output, calls)
    expected = encode(
        ["bytes[]"], [[encode(["string"], [value]), registry_view(l2, calls[1], output.block_number)]]
    )
    assert prove(eth_call, l1.resolver, both, NAME, multicall(calls)) == (True, expected)
    # Two of them: an answer over the signed path's 8 KiB result cap is refused, not truncated.
    twice, _ = multicall_response(l2, output, [data, data])
    assert prove(eth_call, l1.resolver, twice, NAME, multicall([data, data])) == (
        False,
        "resolver: answer too long",
    )


def test_entry_point__malformed_abi_heads__revert_with_reasons(
    eth_call: Any, l1: Any, l2: Any, game: OpOutput
) -> None:
    """`resolveWithStateProof`'s head parsed by hand in both contracts: offsets past the end, lengths overflowing,
    truncated calldata all revert with a reason, never succeed."""
    response = op_response(game, _witness(l2, game))
    request = resolve_request(dns(NAME), TEXT_CALL)
    good = STATE_PROOF_SELECTOR + encode(["bytes", "bytes"], [response, request])
    ok, _ = eth_call(l1.resolver.address, good)
    assert ok
    args = good[4:]
    response_length_at = 64
    request_offset = int.from_bytes(args[32:64], "big")

    def put(at: int, value: int) -> bytes:
        return STATE_PROOF_SELECTOR + args[:at] + value.to_bytes(32, "big") + args[at + 32 :]

    cases = {
        "response offset past the end": put(0, len(args)),
        "response offset overflowing": put(0, 2**256 - 1),
        "request offset past the end": put(32, len(args) - 16),
        "request offset overflowing": put(32, 2**256 - 32),
        "response length past the end": put(response_length_at, len(args)),
        "response length overflowing": put(response_length_at, 2**256 - 1),
        "request length past the end": put(request_offset, len(args)),
        "request length overflowing": put(request_offset, 2**256 - 1),
        "truncated in the request": good[:-40],
        "truncated in the response": good[: 4 + 64 + 200],
        "head only": good[:68],
    }
    for what, calldata in cases.items():
        for target in (l1.resolver.address, l1.verifier.address):
            ok, out = eth_call(target, calldata)
            assert not ok and out, (what, target)
            reason = error_string(out)
            assert reason.startswith("resolver: ") and reason != "", (what, reason)
    # The verifier alone: another selector, or calldata shorter than a head.
    ok, out = eth_call(l1.verifier.address, bytes.fromhex("deadbeef") + bytes(64))
    assert (ok, error_string(out)) == (False, "resolver: unknown function")
    ok, out = eth_call(l1.verifier.address, STATE_PROOF_SELECTOR + bytes(32))
    assert (ok, error_string(out)) == (False, "resolver: unknown function")


def test_verifier_contracts_fit_the_code_size_limit(web3: Any, l1: Any) -> None:
    """EIP-170: 24,576 bytes of runtime code each (the reason the anchor checks live in their own contract)."""
    for address in (l1.verifier.address, l1.verifier.ANCHOR_VERIFIER()):
        size = len(web3.eth.get_code(to_checksum_address(address)))
        assert 0 < size <= 24_576, (address, size)


def test_harness_rollup_has_bolds_shape(eth_call: Any, owner: Any, l1: Any, l2: Any) -> None:
    """The harness rollup hashes, emits and refuses as nitro-contracts' BOLD RollupCore does: the genesis hash of
    (0, the empty FINISHED state, 0), `AssertionCreated` in upstream's layout (the gateway's decoder reads it and
    the mainnet topic), a before-state that is not the parent's refused, and an ERRORED assertion not provable."""
    from indexer.gateway.proving import ASSERTION_CREATED_TOPIC
    from indexer.proofs.rpc import Web3Rpc
    from indexer.proofs.witness import assertion_hash, encode_assertion_state

    rollup = l1.rollup
    genesis = assertion_hash(
        parent_assertion_hash=bytes(32),
        encoded_state=encode_assertion_state(block_hash=bytes(32)),
        inbox_acc=bytes(32),
    )
    assert bytes(rollup.genesisAssertionHash()) == genesis
    # Upstream's topic, as mainnet's rollup logs it (nitro-contracts IRollupCore.AssertionCreated).
    assert ASSERTION_CREATED_TOPIC.hex() == "901c3aee23cf4478825462caaab375c606ab83516060388344f0650340753630"
    rpc = Web3Rpc(chain.provider.web3)
    assert parent_assertion(rpc, rollup.address, genesis).parent_assertion_hash == bytes(32)
    top = bytes(rollup.latestConfirmed())
    parent = parent_assertion(rpc, rollup.address, top)
    state = encode_assertion_state(block_hash=keccak(b"some block"), inbox_position=1)
    inputs = assertion_inputs(parent, state)
    wrong_before = (inputs[0], inputs[2], inputs[2])  # a before-state that is not the parent's after-state
    with ape.reverts("rollup: invalid before state"):
        rollup.harnessAssert(wrong_before, top, keccak(b"inbox"), sender=owner)
    running = encode_assertion_state(block_hash=keccak(b"some block"), machine_status=0)
    with ape.reverts("rollup: bad after status"):
        rollup.harnessAssert(assertion_inputs(parent, running), top, keccak(b"inbox"), sender=owner)
    assert rollup.getAssertionCreationBlockForLogLookup(top) > 0
    with ape.reverts("ASSERTION_NOT_EXIST"):
        rollup.getAssertionCreationBlockForLogLookup(keccak(b"nothing"))
    # An ERRORED after-state can be asserted and confirmed, but not proven against.
    l1.resolver.set_proof_config(
        namehash(PARENT), PROVEN, ARBITRUM, l2.registry.address, rollup, ZERO, 0, l1.verifier, sender=owner
    )
    honest = ArbitrumProposer(l2.anvil, rollup).propose(owner)
    errored_state = encode_assertion_state(block_hash=keccak(honest.header), machine_status=2)
    errored = replace(
        honest,
        assertion=Assertion(
            assertion_hash(
                parent_assertion_hash=top_of(rollup), encoded_state=errored_state, inbox_acc=bytes(32)
            ),
            top_of(rollup),
            bytes(32),
            errored_state,
        ),
    )
    rollup.harnessAssert(
        assertion_inputs(parent_assertion(rpc, rollup.address, top_of(rollup)), errored_state),
        top_of(rollup),
        bytes(32),
        sender=owner,
    )
    rollup.harnessConfirm(errored.assertion.assertion_hash, keccak(honest.header), bytes(32), sender=owner)
    data = call("addr", NAME)
    response = arbitrum_response(
        errored, storage_witness(l2.anvil, l2.registry.address, data, honest.block_number)
    )
    assert prove(eth_call, l1.resolver, response, NAME, data) == (False, "resolver: assertion not finished")
    # ... and the gateway does not build such an answer.
    from indexer.gateway.proving import L1, ProofConfig, ProofUnavailable, latest_arbitrum_assertion

    config = ProofConfig(ARBITRUM, l2.registry.address, rollup.address, ZERO, 0, namehash(PARENT))
    with pytest.raises(ProofUnavailable, match="did not finish"):
        latest_arbitrum_assertion(L1(rpc), node_rpc(l2.anvil), config)


def top_of(rollup: Any) -> bytes:
    return bytes(rollup.latestConfirmed())


def test_gateway_proves_against_the_harness_bold_rollup(eth_call: Any, owner: Any, l1: Any, l2: Any) -> None:
    """The gateway's Arbitrum path (`Prover`, `latest_arbitrum_assertion`) against the harness emitting BOLD's
    layout: it finds the latest confirmed assertion, decodes its event, proves at its L2 block, and the resolver
    accepts the answer; a pending newer assertion does not move it."""
    from indexer.gateway.codec import decode_resolve_call
    from indexer.gateway.proving import Prover
    from indexer.proofs.rpc import UrlRpc, Web3Rpc

    l1.resolver.set_proof_config(
        namehash(PARENT), PROVEN, ARBITRUM, l2.registry.address, l1.rollup, ZERO, 0, l1.verifier, sender=owner
    )
    confirmed = ArbitrumProposer(l2.anvil, l1.rollup).propose(owner)
    chain_id = 31_337_010
    l2_rpc = UrlRpc(l2.anvil.url)
    l1_calls: list[str] = []
    web3_rpc = Web3Rpc(chain.provider.web3)

    def l1_rpc(method: str, params: Any) -> Any:
        l1_calls.append(method)
        return web3_rpc(method, params)

    prover = Prover(l1_rpc, {chain_id: l2_rpc}, commitment_ttl=0)
    try:
        config = prover.config(l1.resolver.address, PARENT)
        assert config is not None and config.kind == ARBITRUM
        assert l1_calls == ["eth_call"]  # the settings in one call; the mode only when a proof fails
        assert prover.allows_signed(l1.resolver.address, config) is False and len(l1_calls) == 2
        # a contract without proof mode: the signed path, one call
        assert prover.config(l1.asr.address, PARENT) is None and len(l1_calls) == 3
        assert prover.config("0x" + "de" * 20, PARENT) is None  # no code there: signed too, no error
        ArbitrumProposer(l2.anvil, l1.rollup).propose(owner, confirm=False)  # newer, pending: not used
        for selector, label, *args in CALLS:
            name = f"{label}.{PARENT}"
            data = call(selector, name, *args)
            request = decode_resolve_call(resolve_request(dns(name), data))
            answer = prover.prove(request, config, chain_id)
            assert answer.commitment.claim == confirmed.assertion.assertion_hash
            assert answer.commitment.l2_block == confirmed.block_number
            assert prove(eth_call, l1.resolver, answer.response, name, data) == (
                True,
                registry_view(l2, data, confirmed.block_number),
            ), (selector, label, args)
    finally:
        l2_rpc.close()


@pytest.fixture
def gateway_api(tmp_path: Any, l2: Any) -> Any:
    """The API (real server) as a proving gateway: the L1 is ape's anvil, the L2 the module's anvil, and a
    commitment cache of an hour, so only the gateway's check on L1 keeps a reorged-away commitment from use."""
    from sqlmodel import Session

    from harness.api import chain_row
    from harness.indexer import fresh_engine
    from harness.proofs import serve
    from indexer.settings.api import ApiSettings
    from indexer.settings.gateway import GatewaySettings

    db_url = f"sqlite:///{tmp_path / 'gateway.db'}"
    engine = fresh_engine(db_url)
    with Session(engine) as session:
        session.add(chain_row(L2_CHAIN_ID, PARENT))
        session.commit()
    engine.dispose()
    l1_url = str(chain.provider.web3.provider.endpoint_uri)  # type: ignore[attr-defined]
    settings = ApiSettings(
        database_url=db_url,
        rpc_urls={L2_CHAIN_ID: SecretStr(l2.anvil.url)},
        gateway=GatewaySettings(l1_rpc_url=SecretStr(l1_url), proof_cache_seconds=3600, proof_config_ttl=0),
    )
    with serve(settings) as url:
        yield type("GatewayApi", (), {"url": url, "l1_url": l1_url})


L2_CHAIN_ID = 31_337_010


def _ask(gateway_api: Any, resolver: Any, data: bytes) -> Any:
    import httpx

    call_data = resolve_request(dns(NAME), data)
    return httpx.get(f"{gateway_api.url}/ccip/{resolver.address}/0x{call_data.hex()}.json", timeout=30)


def test_gateway_after_an_l1_reorg_drops_its_game_finds_another_or_says_why(
    eth_call: Any, project: Any, owner: Any, l1: Any, l2: Any, gateway_api: Any
) -> None:
    """The newest game is cached for an hour; an L1 reorg drops it. The gateway must not answer against it (the
    resolver would revert "no such game"): it finds the older game, and with none left answers 503 JSON with the
    reason and no node URL. The same for a confirmed assertion the reorg un-confirms."""
    web3 = chain.provider.web3
    factory = project.HarnessDisputeGameFactory.deploy(
        _deploy_blueprint(web3, owner, project.HarnessFaultDisputeGame), sender=owner
    )
    asr = project.HarnessAnchorStateRegistry.deploy(factory, 0, 0, sender=owner)
    factory.harnessSetAnchorStateRegistry(asr, sender=owner)
    l1.resolver.set_proof_config(
        namehash(PARENT), PROVEN, OP, l2.registry.address, factory, asr, MIN_AGE, l1.verifier, sender=owner
    )
    data = call("addr", NAME)
    head = l2.anvil.block_number()
    no_games = chain.snapshot()
    proposer = OpProposer(l2.anvil, factory)
    older = proposer.propose(owner, block_number=head - 1)
    project.HarnessFaultDisputeGame.at(older.game).harnessResolve(2, sender=owner)
    one_game = chain.snapshot()
    newer = proposer.propose(owner, block_number=head)
    project.HarnessFaultDisputeGame.at(newer.game).harnessResolve(2, sender=owner)

    answer = _ask(gateway_api, l1.resolver, data)
    assert answer.status_code == 200, answer.text
    assert int(answer.headers["x-dm3-proof-game-index"]) == newer.game_index
    chain.restore(one_game)  # the reorg: the newer game is gone (its address now holds no game)
    assert factory.gameCount() == newer.game_index
    answer = _ask(gateway_api, l1.resolver, data)
    assert answer.status_code == 200, answer.text
    assert int(answer.headers["x-dm3-proof-game-index"]) == older.game_index
    response = bytes.fromhex(answer.json()["data"][2:])
    assert prove(eth_call, l1.resolver, response, NAME, data) == (True, registry_view(l2, data, head - 1))
    chain.restore(no_games)
    answer = _ask(gateway_api, l1.resolver, data)
    assert answer.status_code == 503, answer.text
    assert "no acceptable dispute game" in answer.json()["message"]
    assert gateway_api.l1_url not in answer.text and l2.anvil.url not in answer.text
    assert "127.0.0.1" not in answer.text

    # Arbitrum: an assertion confirmed, served, then un-confirmed by the reorg (the rollup back at genesis).
    rollup = project.HarnessArbitrumRollup.deploy(sender=owner)
    l1.resolver.set_proof_config(
        namehash(PARENT), PROVEN, ARBITRUM, l2.registry.address, rollup, ZERO, 0, l1.verifier, sender=owner
    )
    genesis_only = chain.snapshot()
    confirmed = ArbitrumProposer(l2.anvil, rollup).propose(owner)
    answer = _ask(gateway_api, l1.resolver, data)
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-dm3-proof-commitment"] == "0x" + confirmed.assertion.assertion_hash.hex()
    chain.restore(genesis_only)
    answer = _ask(gateway_api, l1.resolver, data)
    assert answer.status_code == 503, answer.text
    assert "genesis" in answer.json()["message"] and "127.0.0.1" not in answer.text
