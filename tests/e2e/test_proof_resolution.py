"""Proof mode end to end: ethers v6 and web3.py resolve names of a proven parent through the real gateway.

The session's devnet (conftest) has a second Dm3Resolver whose `op.dm3.eth` is in mode 1 (proven, OP stack)
against the L1 harness factory; the gateway (`python -m indexer.api`, with `DM3_GATEWAY_L1_RPC_URL`) asks it for
its proof settings, finds the newest acceptable game and answers with storage proofs, which the resolver verifies
(`Dm3ProofVerifier`). Each test proposes its own games and undoes its L1 changes (`l1_snapshot`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from eth_abi import decode, encode
from eth_utils import keccak
from web3 import Web3
from web3.exceptions import ContractLogicError

from harness.devnet import PARENT
from harness.ens import EnsDevnet, Published, decode_one, resolve_with_web3, run_ethers
from harness.proposer import assertion_inputs, parent_assertion
from indexer.dm3.profile import PROFILE_KEY
from indexer.gateway.codec import (
    ADDR_COIN_SELECTOR,
    ADDR_SELECTOR,
    CONTENTHASH_SELECTOR,
    MULTICALL_SELECTOR,
    RESOLVE_SELECTOR,
    TEXT_SELECTOR,
    encode_dns_name,
    namehash,
)
from indexer.proofs.rpc import Web3Rpc
from indexer.proofs.witness import assertion_hash, encode_assertion_state

PROOF_KEY = "org.dm3.e2e-proof"  # written only by this module


def _text(name: str, key: str) -> bytes:
    return TEXT_SELECTOR + encode(["bytes32", "string"], [namehash(name), key])


def _addr(name: str) -> bytes:
    return ADDR_SELECTOR + encode(["bytes32"], [namehash(name)])


def _addr_coin(name: str, coin: int) -> bytes:
    return ADDR_COIN_SELECTOR + encode(["bytes32", "uint256"], [namehash(name), coin])


def _contenthash(name: str) -> bytes:
    return CONTENTHASH_SELECTOR + encode(["bytes32"], [namehash(name)])


def _gateway_get(devnet: EnsDevnet, resolver: str, name: str, data: bytes) -> httpx.Response:
    call = RESOLVE_SELECTOR + encode(["bytes", "bytes"], [encode_dns_name(name), data])
    return httpx.get(f"{devnet.gateway_url}/ccip/{resolver}/0x{call.hex()}.json", timeout=30)


def test_web3__proven_answers_equal_the_signed_ones(
    published: Published, devnet: EnsDevnet, l1_web3: Web3, loopback_gateways: None, l1_snapshot: None
):
    assert devnet.proof is not None
    game = devnet.proof.prove_head()
    alice, bob = published.alice_name, published.bob_name
    calls = [
        (alice, _text(alice, PROFILE_KEY)),
        (alice, _addr(alice)),
        (alice, _addr_coin(alice, 60)),
        (alice, _addr_coin(alice, 0x80000000 | 10)),  # ENSIP-19: the default EVM address
        (alice, _text(alice, "com.twitter")),  # missing: an exclusion proof
        (alice, _contenthash(alice)),  # missing
        (bob, _addr(bob)),
        (bob, _text(bob, "email")),
        ("nobody.op.dm3.eth", _addr("nobody.op.dm3.eth")),
    ]
    for name, data in calls:
        proven = resolve_with_web3(l1_web3, devnet.proof.resolver.address, name, data)
        signed = resolve_with_web3(l1_web3, devnet.dm3_resolver.address, name, data)
        assert proven == signed, (name, data[:4].hex())
    assert decode_one(
        "string", resolve_with_web3(l1_web3, devnet.proof.resolver.address, alice, calls[0][1])
    ) == (published.alice_profile)
    # A multicall (one proof group per inner call, one account proof) equals the signed path's multicall answer.
    inner = [data for name, data in calls if name == alice]
    for batch in (inner, inner[:1], []):
        multicall = MULTICALL_SELECTOR + encode(["bytes[]"], [batch])
        proven = resolve_with_web3(l1_web3, devnet.proof.resolver.address, alice, multicall)
        assert proven == resolve_with_web3(l1_web3, devnet.dm3_resolver.address, alice, multicall), len(batch)
        assert list(decode(["bytes[]"], proven)[0]) == [
            resolve_with_web3(l1_web3, devnet.proof.resolver.address, alice, data) for data in batch
        ]
    # The answer says what it rests on.
    answer = _gateway_get(devnet, devnet.proof.resolver.address, alice, _addr(alice))
    assert answer.status_code == 200
    assert answer.headers["x-dm3-proof-kind"] == "op-stack"
    assert int(answer.headers["x-dm3-proof-l2-block"]) == game.l2_block
    assert int(answer.headers["x-dm3-proof-game-index"]) == game.index
    assert answer.headers["x-dm3-proof-commitment"].lower() == game.address.lower()
    # The signed resolver's lookups are still signed (its parent is in signed mode).
    signed = _gateway_get(devnet, devnet.dm3_resolver.address, alice, _addr(alice))
    assert signed.status_code == 200 and "x-dm3-proof-l2-block" not in signed.headers


def test_ethers__resolves_a_proven_parent(published: Published, devnet: EnsDevnet, l1_snapshot: None):
    assert devnet.proof is not None
    devnet.proof.prove_head()
    devnet.set_resolver(PARENT, devnet.proof.resolver.address)
    answer = run_ethers(
        devnet,
        {
            "queries": [
                {"name": published.alice_name, "text": PROFILE_KEY},
                {"name": published.alice_name, "address": True},
                {"name": published.alice_name, "text": "com.twitter"},
                {"name": published.bob_name, "text": "email"},
                {"name": "nobody.op.dm3.eth", "address": True},
            ]
        },
    )
    results = answer["results"]
    assert {r["resolver"] for r in results} == {devnet.proof.resolver.address}
    assert [r["value"] for r in results] == [
        published.alice_profile,
        published.alice.address,
        "",
        published.bob_email,
        None,
    ]


def test_record_updated_after_the_newest_game_is_served_at_the_proven_state(
    published: Published, devnet: EnsDevnet, l1_web3: Web3, loopback_gateways: None, l1_snapshot: None
):
    assert devnet.proof is not None
    alice, resolver = published.alice_name, devnet.proof.resolver.address
    node = namehash(alice)

    def proven_value() -> str:
        return str(decode_one("string", resolve_with_web3(l1_web3, resolver, alice, _text(alice, PROOF_KEY))))

    devnet.set_text(node, PROOF_KEY, "first", published.alice)
    first = devnet.proof.prove_head()
    devnet.set_text(node, PROOF_KEY, "second", published.alice)
    assert proven_value() == "first"  # the L2 says "second", but no game vouches for it yet
    assert int(
        _gateway_get(devnet, resolver, alice, _text(alice, PROOF_KEY)).headers["x-dm3-proof-l2-block"]
    ) == (first.l2_block)
    pending = devnet.proof.proposer.propose()  # a newer game, not resolved: too young for the policy
    assert proven_value() == "first"
    devnet.proof.proposer.resolve(pending)
    assert proven_value() == "second"


def test_status_names_the_newest_provable_block_and_a_gateway_that_cannot_prove_says_why(
    published: Published, devnet: EnsDevnet, l1_snapshot: None
):
    assert devnet.proof is not None
    resolver, alice = devnet.proof.resolver.address, published.alice_name
    # Only a game whose claim is not the L2's output root (resolved in its favour all the same): nothing to prove.
    liar = devnet.proof.proposer.propose(root_claim=b"\x01" * 32)
    devnet.proof.proposer.resolve(liar)
    answer = _gateway_get(devnet, resolver, alice, _addr(alice))
    assert answer.status_code == 503
    message = answer.json()["message"]
    assert "no acceptable dispute game" in message and "root claim is not the L2's output root" in message
    assert devnet.l1.url not in message and devnet.l2.url not in message and "127.0.0.1" not in message
    status = httpx.get(f"{devnet.gateway_url}/v1/status", timeout=30).json()["data"][0]["proof"]
    assert status["l2_block"] is None and "no acceptable dispute game" in status["error"]
    # Mode 2 (proven or signed): the gateway falls back to a signed answer, which the resolver accepts.
    contracts = devnet.proof.contracts
    devnet.l1.send(
        devnet.proof.resolver.functions.set_proof_config(
            namehash(PARENT), 2, 1, devnet.profiles.address, contracts.factory, contracts.anchor_state_registry,
            3600, contracts.verifier,
        )
    )  # fmt: skip
    fallback = _gateway_get(devnet, resolver, alice, _addr(alice))
    assert fallback.status_code == 200 and "x-dm3-proof-l2-block" not in fallback.headers
    assert decode(["bytes", "uint64", "bytes"], bytes.fromhex(fallback.json()["data"][2:]))[0] == encode(
        ["address"], [published.alice.address]
    )

    game = devnet.proof.prove_head()
    status = httpx.get(f"{devnet.gateway_url}/v1/status", timeout=30).json()["data"][0]["proof"]
    assert status["kind"] == "op-stack" and status["error"] is None
    assert (status["l2_block"], status["game_index"]) == (game.l2_block, game.index)
    assert status["commitment"].lower() == game.address.lower() and status["l2_block_age_seconds"] >= 0
    # A multicall is proven too (not a signed answer, which mode 1 would refuse).
    multicall = MULTICALL_SELECTOR + encode(["bytes[]"], [[_addr(alice)]])
    proven = _gateway_get(devnet, resolver, alice, multicall)
    assert proven.status_code == 200 and int(proven.headers["x-dm3-proof-l2-block"]) == game.l2_block


def test_web3__an_arbitrum_parent_is_proven_against_the_latest_confirmed_assertion(
    published: Published,
    devnet: EnsDevnet,
    compiled: dict,
    l1_web3: Web3,
    loopback_gateways: None,
    l1_snapshot: None,
):
    """The same resolver, switched to kind 2 (Arbitrum) against the harness BOLD rollup: the gateway reads
    `latestConfirmed`, the assertion's after-state from its creation event, and proves at its L2 block."""
    assert devnet.proof is not None
    l1, l2 = devnet.l1, devnet.l2
    rollup = l1.deploy(compiled["HarnessArbitrumRollup"])
    devnet.l1.send(
        devnet.proof.resolver.functions.set_proof_config(
            namehash(PARENT), 1, 2, devnet.profiles.address, rollup.address, "0x" + "00" * 20, 0,
            devnet.proof.contracts.verifier,
        )
    )  # fmt: skip
    head = l2.w3.eth.get_block("latest")
    state = encode_assertion_state(
        block_hash=bytes(head["hash"]), send_root=keccak(b"send root"), inbox_position=head["number"]
    )
    parent, inbox_acc = bytes(rollup.functions.latestConfirmed().call()), keccak(b"inbox")
    inputs = assertion_inputs(parent_assertion(Web3Rpc(l1.w3), rollup.address, parent), state)
    l1.send(rollup.functions.harnessAssert(inputs, parent, inbox_acc))
    assertion = assertion_hash(parent_assertion_hash=parent, encoded_state=state, inbox_acc=inbox_acc)
    alice, resolver = published.alice_name, devnet.proof.resolver.address
    pending = _gateway_get(devnet, resolver, alice, _addr(alice))  # genesis only: nothing to prove against
    assert pending.status_code == 503 and "genesis" in pending.json()["message"]
    l1.send(rollup.functions.harnessConfirm(assertion, bytes(head["hash"]), keccak(b"send root")))

    for data in (_addr(alice), _text(alice, PROFILE_KEY), _text(alice, "com.twitter")):
        proven = resolve_with_web3(l1_web3, resolver, alice, data)
        assert proven == resolve_with_web3(l1_web3, devnet.dm3_resolver.address, alice, data)
    answer = _gateway_get(devnet, resolver, alice, _addr(alice))
    assert answer.headers["x-dm3-proof-kind"] == "arbitrum"
    assert int(answer.headers["x-dm3-proof-l2-block"]) == head["number"]
    assert answer.headers["x-dm3-proof-commitment"] == "0x" + assertion.hex()


@pytest.fixture
def lying_gateway(devnet: EnsDevnet, l1_snapshot: None) -> Iterator[list[Callable[[bytes], bytes]]]:
    """A gateway in front of the real one that rewrites proof answers with the function the test puts in the
    list; the proof resolver's URL points at it for the test."""
    assert devnet.proof is not None
    tamper: list[Callable[[bytes], bytes]] = []
    upstream = devnet.gateway_url

    class Lying(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answer = httpx.get(upstream + self.path, timeout=30)
            body = answer.json()
            if answer.status_code == 200 and tamper:
                body["data"] = "0x" + tamper[0](bytes.fromhex(body["data"][2:])).hex()
            payload = httpx.Response(answer.status_code, json=body).content
            self.send_response(answer.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Lying)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/ccip/{{sender}}/{{data}}.json"
    devnet.l1.send(devnet.proof.resolver.functions.set_urls([url]))
    try:
        yield tamper
    finally:
        server.shutdown()
        thread.join(5)


_OP_WITNESS = ["uint256", "bytes32[4]", "bytes[]", "bytes[][]"]


def _rewrite(edit: Callable[[list], None]) -> Callable[[bytes], bytes]:
    def run(response: bytes) -> bytes:
        kind, witness = decode(["uint8", "bytes"], response)
        parts = [list(p) if isinstance(p, tuple) else p for p in decode(_OP_WITNESS, witness)]
        parts[2] = list(parts[2])
        parts[3] = [list(p) for p in parts[3]]
        edit(parts)
        return encode(["uint8", "bytes"], [kind, encode(_OP_WITNESS, parts)])

    return run


def _flip_last_byte(node: bytes) -> bytes:
    return node[:-1] + bytes([node[-1] ^ 1])


def test_a_lying_gateway_makes_the_lookup_fail(
    published: Published,
    devnet: EnsDevnet,
    l1_web3: Web3,
    loopback_gateways: None,
    lying_gateway: list[Callable[[bytes], bytes]],
):
    assert devnet.proof is not None
    devnet.proof.prove_head()
    alice, resolver = published.alice_name, devnet.proof.resolver.address
    data = _text(alice, PROFILE_KEY)
    assert decode_one("string", resolve_with_web3(l1_web3, resolver, alice, data)) == published.alice_profile

    def other_value(parts: list) -> None:  # a storage proof's leaf holding other bytes
        parts[3][1][-1] = _flip_last_byte(parts[3][1][-1])

    def other_state_root(parts: list) -> None:  # a preimage that is not the game's output root
        parts[1][1] = bytes(32)

    def other_game(parts: list) -> None:  # a game the factory does not have
        parts[0] += 1

    def no_data_slots(parts: list) -> None:  # the length only: a truncated record
        parts[3] = parts[3][:1]

    for edit, reason in (
        (other_value, "mpt: wrong node hash"),
        (other_state_root, "wrong output root preimage"),
        (other_game, "resolver: no such game"),
        (no_data_slots, "missing storage proof"),
    ):
        lying_gateway[:] = [_rewrite(edit)]
        with pytest.raises(ContractLogicError, match=reason):
            resolve_with_web3(l1_web3, resolver, alice, data)
