"""`GET /v1/eligibility?proof=true` end to end: contracts on anvil, the real indexer, the API on a real server
proving from the same node, the Python client verifying against the caller's node. Honest answers verify for every
reason; every tampering is refused with `EligibilityProofError`; a missing or failing node is a 503 JSON answer
that never shows the node's URL."""

from __future__ import annotations

import asyncio
import copy
import json
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr
from web3 import Web3

from harness.devnet import Devnet, cs
from harness.indexer import fresh_engine, sync_ok
from harness.proofs import serve
from indexer.client import (
    AsyncDm3Client,
    Dm3Client,
    EligibilityProofError,
    ProvenEligibilityResponse,
    verify_eligibility_proof,
)
from indexer.proofs.rpc import UrlRpc, fetch_proof
from indexer.settings.api import ApiSettings

ETHER = 10**18
SECRET_URL = "http://user:hunter2@127.0.0.1:9/v3/secret-api-key"


@pytest.fixture(scope="module")
def world(chain: Devnet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Every eligibility reason on one chain, indexed once, and the API proving from the chain's node."""
    a, b, c, d, e, f, g, h = chain.accounts[1:9]
    dep = chain.deposits
    steps = [
        (c, "set_min_deposit", ETHER),
        (a, "deposit", cs(c), 2 * ETHER),  # a -> c: deposit
        (b, "deposit", cs(c), ETHER // 2),  # b -> c: insufficient_deposit
        (e, "deposit", cs(c), ETHER),
        (e, "request_withdrawal", cs(c)),  # e -> c: withdrawal_pending
        (f, "deposit", cs(c), ETHER),
        (c, "release", cs(f)),  # f -> c: accepted; d -> c: no_deposit
        (f, "withdraw", cs(c), cs(f)),  # ... and withdrawn at once: still accepted, bond 0
        (c, "burn", cs(b), ETHER // 10),
        (h, "set_min_deposit", 0),  # g -> h: open inbox, configured with a 0 price; a -> g: never configured
        (g, "deposit", cs(c), ETHER),
        (g, "request_withdrawal", cs(c)),
    ]
    for sender, fn, *args in steps:
        assert chain.send(dep, sender, fn, *args), fn
    chain.anvil.rpc("evm_increaseTime", [chain.cooldown + 1])
    assert chain.send(dep, g, "withdraw", cs(c), cs(g))  # g -> c: withdrawn after the cooldown, no_deposit
    db_url = f"sqlite:///{Path(tmp_path_factory.mktemp('proofs')) / 'dm3.db'}"
    engine = fresh_engine(db_url)
    sync_ok(engine, [chain.spec()])
    engine.dispose()
    settings = ApiSettings(database_url=db_url, rpc_urls={chain.anvil.chain_id: SecretStr(chain.anvil.url)})
    pairs = {
        "deposit": (a, c),
        "insufficient_deposit": (b, c),
        "withdrawal_pending": (e, c),
        "accepted": (f, c),
        "no_deposit": (d, c),
        "open_inbox": (g, h),
        "open_inbox_unset": (a, g),
        "withdrawn": (g, c),
    }
    with serve(settings) as url:
        yield {"url": url, "db_url": db_url, "pairs": pairs}


def _answer(world: dict[str, Any], reason: str) -> ProvenEligibilityResponse:
    sender, recipient = world["pairs"][reason]
    with Dm3Client(world["url"]) as api:
        answer = api.eligibility(sender, recipient, proof=True)
    assert isinstance(answer, ProvenEligibilityResponse)
    return answer


@pytest.mark.parametrize(
    "reason",
    [
        "deposit",
        "insufficient_deposit",
        "withdrawal_pending",
        "accepted",
        "no_deposit",
        "open_inbox",
        "open_inbox_unset",
        "withdrawn",
    ],
)
def test_honest_answer__verifies(chain: Devnet, world: dict[str, Any], reason: str) -> None:
    answer = _answer(world, reason)
    assert answer.reason == {"open_inbox_unset": "open_inbox", "withdrawn": "no_deposit"}.get(reason, reason)
    verified = verify_eligibility_proof(answer, chain.anvil.url, deposits=chain.deposits.address)
    assert (verified.eligible, verified.reason) == (answer.eligible, answer.reason)
    [proven] = verified.chains
    assert proven.block_number == answer.chains[0].envelope.block_number
    # a 0 minimum is configured (or not) only in the indexer's word; a set price is proven
    assert verified.configured_unproven == ([chain.anvil.chain_id] if reason == "open_inbox" else [])


def test_honest_answer__verifies_through_web3_and_as_json(chain: Devnet, world: dict[str, Any]) -> None:
    answer = _answer(world, "deposit")
    w3 = Web3(Web3.HTTPProvider(chain.anvil.url))
    assert verify_eligibility_proof(answer, w3).eligible
    as_json = httpx.get(
        world["url"] + "/v1/eligibility",
        params={
            "sender": world["pairs"]["deposit"][0],
            "recipient": world["pairs"]["deposit"][1],
            "proof": "true",
        },
    ).json()
    assert verify_eligibility_proof(as_json, {chain.anvil.chain_id: chain.anvil.url}).reason == "deposit"
    node = UrlRpc(chain.anvil.url)  # the caller's own connection: reused, left open
    for _ in range(2):
        assert verify_eligibility_proof(answer, node).eligible
    node.close()


def test_client_batch__chunks_by_the_proof_limit(chain: Devnet, world: dict[str, Any]) -> None:
    pairs = list(world["pairs"].values()) * 20  # 140 pairs: two proven chunks
    with Dm3Client(world["url"]) as api:
        answers = api.eligibility_batch(pairs, proof=True)
    assert [(a.sender, a.recipient) for a in answers] == pairs
    node = UrlRpc(chain.anvil.url)
    for answer in answers[:: len(world["pairs"]) + 1]:  # one of each pair, across both chunks
        assert isinstance(answer, ProvenEligibilityResponse)
        assert verify_eligibility_proof(answer, node).reason == answer.reason
    node.close()


def test_batch__every_answer_verifies(chain: Devnet, world: dict[str, Any]) -> None:
    pairs = list(world["pairs"].values())
    body = {"pairs": [{"sender": s, "recipient": r} for s, r in pairs], "proof": True}
    response = httpx.post(world["url"] + "/v1/eligibility", json=body)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [item["sender_address"] for item in data] == [s for s, _ in pairs]
    for item in data:
        verified = verify_eligibility_proof(item, chain.anvil.url, deposits=chain.deposits.address)
        assert verified.reason == item["reason"]


def _tampered(answer: ProvenEligibilityResponse) -> dict[str, Any]:
    return copy.deepcopy(answer.model_dump())


def _storage(raw: dict[str, Any]) -> list[dict[str, Any]]:
    return list(raw["chains"][0]["proof"]["account"]["storageProof"])


def _refused(chain: Devnet, raw: dict[str, Any], match: str, **kwargs: Any) -> None:
    with pytest.raises(EligibilityProofError, match=match):
        verify_eligibility_proof(raw, chain.anvil.url, **kwargs)


def test_tampered__other_slot(chain: Devnet, world: dict[str, Any]) -> None:
    raw = _tampered(_answer(world, "insufficient_deposit"))
    bond_slot = raw["chains"][0]["proof"]["bond_slot"]
    items = _storage(raw)
    # the minimum's proof (1 ether: enough!) presented as the bond's, the answer claiming that bond
    minimum = next(i for i in items if i["key"] != bond_slot)
    raw["chains"][0]["proof"]["account"]["storageProof"] = [minimum, dict(minimum, key=bond_slot)]
    raw["chains"][0]["bond"] = str(ETHER)
    _refused(chain, raw, "does not verify|claimed")


def test_tampered__other_value(chain: Devnet, world: dict[str, Any]) -> None:
    raw = _tampered(_answer(world, "insufficient_deposit"))
    bond_slot = raw["chains"][0]["proof"]["bond_slot"]
    for item in raw["chains"][0]["proof"]["account"]["storageProof"]:
        if item["key"] == bond_slot:
            item["value"] = hex(2 * ETHER)
    raw["chains"][0].update(bond=str(2 * ETHER), eligible=True, reason="deposit")
    raw.update(eligible=True, reason="deposit", eligible_chain_ids=[chain.anvil.chain_id])
    _refused(chain, raw, "claimed")


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("bond", str(2 * ETHER), "bond"),
        ("min_deposit", "0", "min_deposit"),
        ("accepted", True, "accepted"),
        ("withdrawal_pending", True, "withdrawal_pending"),
        ("eligible", True, "eligible=True"),
        ("inbox_configured", False, "configured"),
    ],
)
def test_tampered__a_fact_or_the_verdict(
    chain: Devnet, world: dict[str, Any], field: str, value: Any, match: str
) -> None:
    raw = _tampered(_answer(world, "insufficient_deposit"))
    raw["chains"][0][field] = value
    _refused(chain, raw, match)


def test_tampered__overall_verdict(chain: Devnet, world: dict[str, Any]) -> None:
    raw = _tampered(_answer(world, "insufficient_deposit"))
    raw.update(eligible=True, eligible_chain_ids=[chain.anvil.chain_id])
    _refused(chain, raw, "across chains")


def test_tampered__other_account(chain: Devnet, world: dict[str, Any]) -> None:
    answer = _answer(world, "insufficient_deposit")
    env = answer.chains[0].envelope
    rpc = UrlRpc(chain.anvil.url)
    bond_slot, min_slot = (
        int(answer.chains[0].proof.bond_slot, 16),
        int(answer.chains[0].proof.min_deposit_slot, 16),
    )
    registry = fetch_proof(
        rpc, chain.registry.address, [bond_slot, min_slot], int(env.block_number or 0)
    ).to_json()
    rpc.close()
    # the registry's account proof under the deposits' address: does not verify
    raw = _tampered(answer)
    raw["chains"][0]["proof"]["account"]["accountProof"] = registry["accountProof"]
    _refused(chain, raw, "account")
    # a consistent proof of another contract (whose slots are empty: an open inbox, says the forger) verifies
    # only as that contract's storage: refused once the verifier names InboxDeposits
    raw = _tampered(answer)
    raw["chains"][0]["proof"].update(contract=registry["address"], account=registry)
    raw["chains"][0].update(
        bond="0", min_deposit="0", eligible=True, reason="open_inbox", inbox_configured=True
    )
    raw.update(eligible=True, reason="open_inbox", eligible_chain_ids=[chain.anvil.chain_id])
    _refused(chain, raw, "not InboxDeposits", deposits=chain.deposits.address)


def test_tampered__wrong_block(chain: Devnet, world: dict[str, Any]) -> None:
    answer = _answer(world, "deposit")
    raw = _tampered(answer)
    raw["chains"][0]["envelope"]["block_hash"] = "0x" + "ab" * 32
    _refused(chain, raw, "on your node")
    raw = _tampered(answer)  # the same proof, said to be of an earlier block
    raw["chains"][0]["envelope"]["block_number"] -= 3
    header = chain.anvil.rpc(
        "eth_getBlockByNumber", [hex(raw["chains"][0]["envelope"]["block_number"]), False]
    )
    raw["chains"][0]["envelope"]["block_hash"] = header["hash"]
    _refused(chain, raw, "does not verify|claimed")


def test_tampered__missing_proof(chain: Devnet, world: dict[str, Any]) -> None:
    answer = _answer(world, "deposit")
    raw = _tampered(answer)
    del raw["chains"][0]["proof"]
    _refused(chain, raw, "not a proven answer")
    raw = _tampered(answer)
    raw["chains"][0]["proof"]["account"]["storageProof"] = []
    _refused(chain, raw, "no storage proof")
    raw = _tampered(answer)
    raw["chains"][0]["proof"]["account"]["accountProof"] = []
    _refused(chain, raw, "does not verify")


def test_tampered__other_sender(chain: Devnet, world: dict[str, Any]) -> None:
    raw = _tampered(_answer(world, "deposit"))
    raw["sender"] = chain.accounts[9]
    _refused(chain, raw, "not the sender")


def test_api__without_a_node_is_503(chain: Devnet, world: dict[str, Any]) -> None:
    sender, recipient = world["pairs"]["deposit"]
    with serve(ApiSettings(database_url=world["db_url"])) as url:
        response = httpx.get(
            url + "/v1/eligibility", params={"sender": sender, "recipient": recipient, "proof": "1"}
        )
        assert response.status_code == 503
        assert "no node" in response.json()["message"]
        plain = httpx.get(url + "/v1/eligibility", params={"sender": sender, "recipient": recipient})
        assert plain.status_code == 200 and "proof" not in plain.json()["chains"][0]


def test_api__failing_node_is_503_without_its_url(chain: Devnet, world: dict[str, Any]) -> None:
    sender, recipient = world["pairs"]["deposit"]
    settings = ApiSettings(
        database_url=world["db_url"],
        rpc_urls={chain.anvil.chain_id: SecretStr(SECRET_URL)},
        proof_rpc_timeout=1,
    )
    with serve(settings) as url:
        response = httpx.get(
            url + "/v1/eligibility", params={"sender": sender, "recipient": recipient, "proof": "true"}
        )
        batch = httpx.post(
            url + "/v1/eligibility",
            json={"pairs": [{"sender": sender, "recipient": recipient}] * 101, "proof": True},
        )
    assert response.status_code == 503
    assert "unreachable" in response.json()["message"]
    for secret in ("hunter2", "secret-api-key", "127.0.0.1:9"):
        assert secret not in response.text
    assert batch.status_code == 413 and "proven" in batch.json()["message"]
    assert "hunter2" not in repr(settings)


def test_async_client__asks_for_proofs(chain: Devnet, world: dict[str, Any]) -> None:
    sender, recipient = world["pairs"]["accepted"]

    async def ask() -> Any:
        async with AsyncDm3Client(world["url"]) as api:
            return await api.eligibility(sender, recipient, chain_id=chain.anvil.chain_id, proof=True)

    answer = asyncio.run(ask())
    assert isinstance(answer, ProvenEligibilityResponse)
    assert (
        verify_eligibility_proof(answer, chain.anvil.url, deposits=chain.deposits.address).reason
        == "accepted"
    )


def test_api__reorged_envelope_block_is_503(chain: Devnet, world: dict[str, Any], tmp_path: Path) -> None:
    """The indexed block is no longer the node's (a reorg the indexer has not seen yet): no proof of another."""
    copy_path = tmp_path / "reorged.db"
    shutil.copy(world["db_url"].removeprefix("sqlite:///"), copy_path)
    with sqlite3.connect(copy_path) as db:
        db.execute("UPDATE chains SET indexed_block_hash = ?", ("0x" + "ab" * 32,))
    sender, recipient = world["pairs"]["deposit"]
    settings = ApiSettings(
        database_url=f"sqlite:///{copy_path}", rpc_urls={chain.anvil.chain_id: SecretStr(chain.anvil.url)}
    )
    with serve(settings) as url:
        response = httpx.get(
            url + "/v1/eligibility", params={"sender": sender, "recipient": recipient, "proof": "true"}
        )
    assert response.status_code == 503, response.text
    assert "does not have that block" in response.json()["message"]
    assert chain.anvil.url not in response.text


def test_unknown_name__nothing_to_prove(chain: Devnet, world: dict[str, Any]) -> None:
    with Dm3Client(world["url"]) as api:
        answer = api.eligibility(world["pairs"]["deposit"][0], "nobody.op.dm3.eth", proof=True)
    assert answer.reason == "unknown_recipient" and answer.chains == []
    with pytest.raises(EligibilityProofError, match="nothing to verify"):
        verify_eligibility_proof(answer, chain.anvil.url)


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every string leaf holding hex or decimal digits."""
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _leaves(item, (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _leaves(item, (*path, index))]
    if isinstance(value, str) and (value.startswith("0x") or value.isdigit()) and len(value) > 2:
        return [path]
    return []


@given(data=st.data())
def test_tampered__any_changed_digit_is_refused_or_changes_nothing(
    chain: Devnet, world: dict[str, Any], data: st.DataObject
) -> None:
    """An attacker changes one digit anywhere in an honest answer: the check refuses it, or (a field the verifier
    does not rely on, such as the slots it computes itself) it accepts with the honest verdict. Never another error."""
    answer = _answer(world, "deposit")
    honest = verify_eligibility_proof(answer, chain.anvil.url, deposits=chain.deposits.address)
    raw = _tampered(answer)
    path = data.draw(st.sampled_from(_leaves(raw)))
    parent = raw
    for key in path[:-1]:
        parent = parent[key]
    text: str = parent[path[-1]]
    start = 2 if text.startswith("0x") else 0
    at = data.draw(st.integers(start, len(text) - 1))
    digits = "0123456789abcdef" if start else "0123456789"
    new = data.draw(st.sampled_from([d for d in digits if d != text[at].lower()]))
    parent[path[-1]] = text[:at] + new + text[at + 1 :]
    try:
        checked = verify_eligibility_proof(raw, chain.anvil.url, deposits=chain.deposits.address)
    except EligibilityProofError:
        return
    assert (checked.eligible, checked.reason, checked.chains) == (
        honest.eligible,
        honest.reason,
        honest.chains,
    ), path


class _LyingNode:
    """A JSON-RPC node in front of anvil whose answers the test rewrites: `edit(method, params, result)` returns
    the result to send (its URL carries made-up credentials that must never reach a client)."""

    def __init__(self, upstream: str) -> None:
        self.edit: Any = lambda method, params, result: result
        self.seen: list[str] = []
        lying = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                requests = request if isinstance(request, list) else [request]
                answers = []
                for item in requests:
                    lying.seen.append(item["method"])
                    answer = httpx.post(upstream, json=item, timeout=10).json()
                    if "result" in answer:
                        answer["result"] = lying.edit(item["method"], item["params"], answer["result"])
                    answers.append(answer)
                body = json.dumps(answers if isinstance(request, list) else answers[0]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://user:hunter2@127.0.0.1:{self.server.server_address[1]}/v3/secret-api-key"

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


def _flip(hex_node: str) -> str:
    raw = bytearray(bytes.fromhex(hex_node[2:]))
    raw[-1] ^= 1
    return "0x" + raw.hex()


def test_api__a_lying_node_gets_no_proof_attached(chain: Devnet, world: dict[str, Any]) -> None:
    """A node that proves another block, account or value, or hands over another header: the API checks the proof
    against the envelope block's header and answers a 502 JSON message (no URL, no proof) instead of passing it on;
    the honest node through the same proxy is answered as before."""
    sender, recipient = world["pairs"]["deposit"]
    node = _LyingNode(chain.anvil.url)
    other_block = chain.anvil.rpc("eth_getBlockByNumber", ["0x1", False])

    def at_block_1(method: str, params: list[Any], result: Any) -> Any:  # the proof of another block's state
        if method == "eth_getProof":
            return chain.anvil.rpc("eth_getProof", [params[0], params[1], "0x1"])
        return result

    def other_value(method: str, params: list[Any], result: Any) -> Any:
        if method == "eth_getProof":
            result["storageProof"][0]["value"] = hex(int(result["storageProof"][0]["value"], 16) + 1)
        return result

    def other_node(method: str, params: list[Any], result: Any) -> Any:
        if method == "eth_getProof":
            result["accountProof"][-1] = _flip(result["accountProof"][-1])
        return result

    def other_account(method: str, params: list[Any], result: Any) -> Any:
        if method == "eth_getProof":
            return chain.anvil.rpc("eth_getProof", [chain.registry.address, params[1], params[2]])
        return result

    def other_header(method: str, params: list[Any], result: Any) -> Any:
        return other_block if method == "eth_getBlockByHash" else result

    def forged_state_root(method: str, params: list[Any], result: Any) -> Any:
        if method == "eth_getBlockByHash" and result:
            return {**result, "stateRoot": "0x" + "11" * 32}
        return result

    cases = [
        (at_block_1, "does not verify against block"),
        (other_value, "does not verify against block"),
        (other_node, "does not verify against block"),
        (other_account, "another account"),
        (other_header, "another block"),
        (forged_state_root, "does not hash to its hash"),
    ]
    settings = ApiSettings(database_url=world["db_url"], rpc_urls={chain.anvil.chain_id: SecretStr(node.url)})
    try:
        with serve(settings) as url:
            params = {"sender": sender, "recipient": recipient, "proof": "true"}
            node.edit = lambda method, params, result: result
            honest = httpx.get(url + "/v1/eligibility", params=params)
            assert honest.status_code == 200 and honest.json()["chains"][0]["proof"]
            for edit, reason in cases:
                node.edit = edit
                response = httpx.get(url + "/v1/eligibility", params=params)
                assert response.status_code == 502, (edit.__name__, response.text)
                assert reason in response.json()["message"], edit.__name__
                assert set(response.json()) <= {"message", "detail", "error", "status"}, response.text
                for secret in ("hunter2", "secret-api-key", node.url.split("@")[1].split("/")[0]):
                    assert secret not in response.text, edit.__name__
                every_pair = [{"sender": s, "recipient": r} for s, r in world["pairs"].values()]
                batch = httpx.post(url + "/v1/eligibility", json={"pairs": every_pair, "proof": True})
                assert batch.status_code == 502 and reason in batch.json()["message"], edit.__name__
    finally:
        node.close()
