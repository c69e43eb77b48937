"""End to end: deploy the registry and deposits on anvil, transact, run the real indexer, query the API.

Covers every eligibility reason, the envelope (block number and hash equal the chain's), finality tiers, a signed
dm3 profile published with one transaction on an address name, and the CCIP gateway reading indexed records.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from eth_abi import decode, encode
from eth_account import Account
from eth_account.messages import encode_defunct
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from harness.api import GATEWAY_ACCOUNT
from harness.devnet import PARENT, Anvil, Devnet, contract_types, cs
from harness.indexer import fresh_engine, sync_ok
from indexer.api.main import create_app
from indexer.dm3.profile import canonical_json, profile_creation_message
from indexer.gateway.codec import RESOLVE_SELECTOR, TEXT_SELECTOR, encode_dns_name, namehash
from indexer.gateway.signer import GatewaySigner, signature_digest
from indexer.settings.api import ApiSettings

MNEMONIC = "test test test test test test test test test test test junk"
CHAIN_ID = 31_010
ETHER = 10**18
RESOLVER = "0x" + "11" * 20


def anvil_key(index: int) -> Any:
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


@pytest.fixture(scope="module")
def compiled(project: Any) -> dict[str, dict[str, Any]]:
    return contract_types(project)


@pytest.fixture(scope="module")
def world(
    compiled: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """One devnet, one scenario, indexed once; the tests only read."""
    anvil = Anvil(chain_id=CHAIN_ID)
    try:
        devnet = Devnet(anvil, compiled)
        devnet.fund()
        reg, dep = devnet.registry, devnet.deposits
        a, b, c, d, e, f = devnet.accounts[1:7]
        steps = [
            (dep, c, "set_min_deposit", ETHER),
            (dep, a, "deposit", cs(c), 2 * ETHER),  # a -> c: deposit
            (dep, b, "deposit", cs(c), ETHER // 2),  # b -> c: insufficient_deposit
            (dep, e, "deposit", cs(c), ETHER),
            (dep, e, "request_withdrawal", cs(c)),  # e -> c: withdrawal_pending
            (dep, f, "deposit", cs(c), ETHER),
            (dep, c, "release", cs(f)),  # f -> c: accepted
            (dep, c, "burn", cs(a), ETHER // 4),
            (reg, c, "register", "carol", cs(c)),
        ]
        for contract, sender, fn, *args in steps:
            assert devnet.send(contract, sender, fn, *args), fn
        # a publishes a signed dm3 profile on its address name: one transaction, nothing registered.
        signer = anvil_key(1)
        assert signer.address.lower() == a
        profile = {
            "publicEncryptionKey": "ZW5j",
            "publicSigningKey": "c2ln",
            "deliveryServices": ["ds.op.dm3.eth"],
        }
        message = profile_creation_message(address=a, canonical_profile=canonical_json(profile))
        signature = "0x" + bytes(signer.sign_message(encode_defunct(text=message)).signature).hex()
        record = "data:application/json," + canonical_json({"profile": profile, "signature": signature})
        address_name = f"{a[2:]}.addr.{PARENT}"
        assert devnet.send(reg, a, "setText", namehash(address_name), "network.dm3.profile", record)

        url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'dm3.db'}"
        engine: Engine = fresh_engine(url)
        sync_ok(engine, [devnet.spec()])
        yield {
            "devnet": devnet,
            "engine": engine,
            "url": url,
            "accounts": dict(zip("abcdef", (a, b, c, d, e, f), strict=True)),
            "record": record,
            "address_name": address_name,
        }
        engine.dispose()
    finally:
        anvil.stop()


@pytest.fixture
def api(world: dict[str, Any]) -> Iterator[TestClient]:
    app = create_app(
        ApiSettings(database_url=world["url"]), signer=GatewaySigner(GATEWAY_ACCOUNT, ttl_seconds=120)
    )
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


@pytest.mark.parametrize(
    ("sender", "recipient", "eligible", "reason"),
    [
        ("a", "c", True, "deposit"),
        ("b", "c", False, "insufficient_deposit"),
        ("d", "c", False, "no_deposit"),
        ("e", "c", False, "withdrawal_pending"),
        ("f", "c", True, "accepted"),
        ("c", "a", True, "open_inbox"),
        ("a", "carol.op.dm3.eth", True, "deposit"),
        ("b", "carol.op.dm3.eth", False, "insufficient_deposit"),
        ("a", "nobody.op.dm3.eth", False, "unknown_recipient"),
    ],
)
def test_eligibility__each_reason_from_indexed_events(world, api, sender, recipient, eligible, reason):
    people = world["accounts"]
    response = api.get(
        "/v1/eligibility",
        params={"sender": people.get(sender, sender), "recipient": people.get(recipient, recipient)},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["eligible"], body["reason"]) == (eligible, reason)
    if reason == "unknown_recipient":
        return
    (chain,) = body["chains"]
    envelope = chain["envelope"]
    anvil = world["devnet"].anvil
    head = anvil.block_number()
    assert envelope["chain_id"] == CHAIN_ID
    assert envelope["block_number"] == head
    assert envelope["block_hash"] == anvil.rpc("eth_getBlockByNumber", [hex(head), False])["hash"]
    assert envelope["finality"] in ("latest", "safe", "finalized")
    if reason == "deposit":
        assert chain["bond"] == str(2 * ETHER - ETHER // 4)
        assert chain["min_deposit"] == str(ETHER)


def test_eligibility__batch_matches_single_answers(world, api):
    p = world["accounts"]
    pairs = [{"sender": p[s], "recipient": p["c"]} for s in "abdef"]
    body = api.post("/v1/eligibility", json={"pairs": pairs}).json()
    assert [d["reason"] for d in body["data"]] == [
        "deposit",
        "insufficient_deposit",
        "no_deposit",
        "withdrawal_pending",
        "accepted",
    ]


def test_finality__recent_facts_are_latest_until_the_chain_moves_on(world, api):
    p = world["accounts"]
    params = {"sender": p["a"], "recipient": p["c"], "min_finality": "finalized"}
    chain = api.get("/v1/eligibility", params=params).json()["chains"][0]
    # anvil reports safe = head - 32 and finalized = head - 64: the scenario's blocks are all still `latest`.
    assert (chain["eligible"], chain["reason"], chain["envelope"]["finality"]) == (
        False,
        "below_min_finality",
        "latest",
    )
    assert api.get("/v1/eligibility", params={**params, "min_finality": "latest"}).json()["eligible"] is True

    world["devnet"].anvil.mine(100)
    sync_ok(world["engine"], [world["devnet"].spec()])
    head = world["devnet"].anvil.block_number()
    deadline = time.monotonic() + 10
    while True:  # the in-memory state answering this question reads the change feed every 20 ms
        chain = api.get("/v1/eligibility", params=params).json()["chains"][0]
        if chain["envelope"]["block_number"] == head or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert (chain["eligible"], chain["reason"], chain["envelope"]["finality"]) == (
        True,
        "deposit",
        "finalized",
    )
    assert chain["envelope"]["block_number"] == world["devnet"].anvil.block_number()


def test_profile_by_address__signed_profile_on_the_address_name(world, api):
    a = world["accounts"]["a"]
    body = api.get(f"/v1/addresses/{a}/profile").json()
    assert body["name"] == world["address_name"]
    assert body["address"] == a
    assert body["dm3_profile"]["signature_valid"] is True
    assert body["dm3_profile"]["delivery_services"] == ["ds.op.dm3.eth"]
    same = api.get(f"/v1/profiles/{world['address_name']}").json()
    assert same["texts"]["network.dm3.profile"] == world["record"]


def test_profile_by_name__registered_name(world, api):
    body = api.get("/v1/profiles/carol.op.dm3.eth").json()
    assert body["owner"] == world["accounts"]["c"]
    assert body["address"] == world["accounts"]["c"]
    assert body["dm3_profile"] is None


def test_deposits_and_recipient_stats(world, api):
    p = world["accounts"]
    page = api.get("/v1/deposits", params={"recipient": p["c"], "limit": 2}).json()
    assert page["count"] == 4
    rest = api.get("/v1/deposits", params={"recipient": p["c"], "cursor": page["next_cursor"]}).json()
    assert {row["sender"] for row in page["data"] + rest["data"]} == {p["a"], p["b"], p["e"], p["f"]}
    stats = api.get(f"/v1/recipients/{p['c']}").json()["chains"][0]
    assert (stats["min_deposit"], stats["deposits"], stats["burns"], stats["releases"]) == (
        str(ETHER),
        4,
        1,
        1,
    )
    assert stats["burn_rate"] == 0.5
    assert stats["open_bonds"] == 2  # a and b; e is withdrawing, f is accepted


def test_status_and_ready(world, api):
    (chain,) = api.get("/v1/status").json()["data"]
    assert chain["chain_id"] == CHAIN_ID
    assert chain["parent_name"] == PARENT
    assert chain["lag"] == 0
    assert api.get("/ready").status_code == 200


def test_gateway__serves_the_indexed_profile_record(world, api):
    name = world["address_name"]
    node = namehash(name)
    call = RESOLVE_SELECTOR + encode(
        ["bytes", "bytes"],
        [encode_dns_name(name), TEXT_SELECTOR + encode(["bytes32", "string"], [node, "network.dm3.profile"])],
    )
    response = api.post("/ccip", json={"sender": RESOLVER, "data": "0x" + call.hex()})
    assert response.status_code == 200, response.text
    result, expires, sig = decode(["bytes", "uint64", "bytes"], bytes.fromhex(response.json()["data"][2:]))
    assert decode(["string"], result) == (world["record"],)
    assert expires <= int(time.time()) + 120
    digest = signature_digest(
        sender=bytes.fromhex(RESOLVER[2:]), expires=expires, request=call, result=result
    )
    from eth_keys import keys

    recovered = keys.Signature(sig[:64] + bytes([sig[64] - 27])).recover_public_key_from_msg_hash(digest)
    assert recovered.to_checksum_address() == GATEWAY_ACCOUNT.address
