"""Names as the API, the gateway and the client take them: ENSIP-15 normalisation (one rule, `indexer.ens`), the
namehash (checked against web3's), and the ENSIP-19 default-address fallback (one rule, the registry's)."""

from __future__ import annotations

import json

import pytest
from ens.utils import normal_name_to_hash
from hypothesis import given
from hypothesis import strategies as st

from harness.api import OP_CHAIN_ID
from indexer.api import names as names_module
from indexer.ens import (
    DEFAULT_EVM_COIN_TYPE,
    ETH_COIN_TYPE,
    MAX_NAME_INPUT_CHARS,
    InvalidEnsName,
    address_for_coin,
    evm_chain,
    is_normalized,
    namehash,
    normalize_name,
)
from indexer.store.models import AddrRecord, Name, PrimaryName

pytestmark = pytest.mark.usefixtures("chains")

OWNER = "0x" + "0a" * 20
ETH = "0x" + "e7" * 20
DEFAULT = "0x" + "de" * 20
PARENT = "op.dm3.eth"


# --- the rules themselves --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "",
        "eth",
        "alice.op.dm3.eth",
        "70997970c51812dc3a010c7d01b50e0d17dc79c8.addr.op.dm3.eth",
        "älice.op.dm3.eth",
        "💩.op.dm3.eth",
        "👨\u200d👩\u200d👧.eth",
        "日本.eth",
        "a" * 255 + ".op.dm3.eth",
    ],
)
def test_namehash__equals_web3s(name):
    assert namehash(name) == bytes(normal_name_to_hash(name))


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("Alice.OP.dm3.eth", "alice.op.dm3.eth"),
        ("ÄLICE.op.dm3.eth", "älice.op.dm3.eth"),
        ("\uff21\uff2c\uff29\uff23\uff25.op.dm3.eth", "alice.op.dm3.eth"),  # fullwidth letters map to ASCII
        ("❤\ufe0f.op.dm3.eth", "❤.op.dm3.eth"),  # emoji presentation selector dropped
        ("a\u200b.op.dm3.eth", "a.op.dm3.eth"),  # ENSIP-15 ignores zero-width space
        ("💩.op.dm3.eth", "💩.op.dm3.eth"),
    ],
)
def test_normalize_name__normal_form(given, normal):
    assert normalize_name(given) == normal
    assert is_normalized(normal)
    assert is_normalized(given) is (given == normal)


@given(st.text(alphabet="ab0-._", max_size=12))
def test_is_normalized__plain_ascii_shortcut__agrees_with_the_normaliser(name):
    """`is_normalized` settles lowercase ASCII names without the normaliser; it must say what the normaliser says."""
    try:
        expected = normalize_name(name) == name
    except InvalidEnsName:
        expected = False
    assert is_normalized(name) is expected


@given(st.text(alphabet="ab0-._", max_size=12) | st.sampled_from(["alice.op.dm3.eth", "ab--c.eth", "a.eth."]))
def test_parse_name__plain_shortcut__same_outcome_as_the_normaliser(name):
    """`parse_name` takes a plain name as its own normal form without running the normaliser: the outcome (the
    name, or why there is none) is the normaliser's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(names_module, "is_plain", lambda _name: False)
        expected = names_module._outcome(name)
    assert names_module._outcome(name) == expected


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("a_b.op.dm3.eth", "underscore"),
        ("a..b.op.dm3.eth", "empty label"),
        (".op.dm3.eth", "empty label"),
        ("a b.op.dm3.eth", "disallowed character"),
        ("a\ud800.op.dm3.eth", "disallowed character"),  # lone surrogate
        ("a\x00.op.dm3.eth", "disallowed character"),
        ("a/b.op.dm3.eth", "disallowed character"),
        ("xn--ls8h.op.dm3.eth", "'--'"),
        ("\u0300a.op.dm3.eth", "combining mark"),
        ("\u0430pple.op.dm3.eth", "confusing"),  # a Cyrillic a
        ("a" * (MAX_NAME_INPUT_CHARS + 1), "longer than"),
    ],
)
def test_normalize_name__refused_with_the_reason(name, reason):
    with pytest.raises(InvalidEnsName) as refused:
        normalize_name(name)
    assert reason in refused.value.reason.lower()
    refused.value.reason.encode()  # never echoes a lone surrogate: the reason is always valid UTF-8


@pytest.mark.parametrize(
    ("coin_type", "chain"),
    [
        (ETH_COIN_TYPE, 1),
        (DEFAULT_EVM_COIN_TYPE, 0),  # the default itself
        (DEFAULT_EVM_COIN_TYPE | 10, 10),
        (DEFAULT_EVM_COIN_TYPE | (2**31 - 1), 2**31 - 1),
        (0, 0),  # BTC
        (2, 0),
        (DEFAULT_EVM_COIN_TYPE - 1, 0),
        (2**32, 0),
        (2**32 | DEFAULT_EVM_COIN_TYPE | 10, 0),
        (2**256 - 1, 0),
    ],
)
def test_evm_chain__ensip19(coin_type, chain):
    assert evm_chain(coin_type) == chain


def test_address_for_coin__default_only_for_evm_chains_without_a_record():
    records = {DEFAULT_EVM_COIN_TYPE: "default", 0: "btc", DEFAULT_EVM_COIN_TYPE | 10: "op"}
    assert address_for_coin(ETH_COIN_TYPE, records.get) == "default"
    assert address_for_coin(DEFAULT_EVM_COIN_TYPE | 8453, records.get) == "default"
    assert address_for_coin(DEFAULT_EVM_COIN_TYPE | 10, records.get) == "op"
    assert address_for_coin(DEFAULT_EVM_COIN_TYPE, records.get) == "default"
    assert address_for_coin(0, records.get) == "btc"
    assert address_for_coin(2, records.get) is None
    assert address_for_coin(2**32 | DEFAULT_EVM_COIN_TYPE | 10, records.get) is None
    assert address_for_coin(ETH_COIN_TYPE, {ETH_COIN_TYPE: "eth", **records}.get) == "eth"
    assert address_for_coin(ETH_COIN_TYPE, {}.get) is None


# --- the API -----------------------------------------------------------------------------------------------------


def _name(label: str, *, owner: str = OWNER) -> Name:
    name = f"{label}.{PARENT}"
    return Name(
        chain_id=OP_CHAIN_ID,
        node="0x" + namehash(name).hex(),
        label=label,
        parent_node="0x" + namehash(PARENT).hex(),
        name=name,
        owner=owner,
        block_number=1,
    )


def _addr(label: str, coin_type: int, address: str) -> AddrRecord:
    node = "0x" + namehash(f"{label}.{PARENT}").hex()
    return AddrRecord(chain_id=OP_CHAIN_ID, node=node, coin_type=coin_type, address=address, block_number=1)


@pytest.fixture
def names(seed):
    """`carol` has only a default EVM address, `dave` a coin-60 one and a default one, `erin` neither."""
    seed(
        _name("carol"),
        _addr("carol", DEFAULT_EVM_COIN_TYPE, DEFAULT),
        _name("dave"),
        _addr("dave", ETH_COIN_TYPE, ETH),
        _addr("dave", DEFAULT_EVM_COIN_TYPE, DEFAULT),
        _name("erin"),
        _name("alice"),
    )


@pytest.mark.usefixtures("names")
@pytest.mark.parametrize(("label", "address"), [("carol", DEFAULT), ("dave", ETH), ("erin", OWNER)])
def test_profile__address_is_what_addr_node_answers_else_the_owner(client, label, address):
    body = client.get(f"/v1/profiles/{label}.{PARENT}").json()
    assert body["address"] == address
    assert body["owner"] == OWNER


@pytest.mark.usefixtures("names")
def test_profile__addresses_are_the_records_as_set(client):
    body = client.get(f"/v1/profiles/carol.{PARENT}").json()
    assert body["addresses"] == {str(DEFAULT_EVM_COIN_TYPE): DEFAULT}


@pytest.mark.usefixtures("names")
@pytest.mark.parametrize("count", [1, 6])  # one query per name, and the VALUES-list query beyond four names
def test_eligibility__names_resolve_with_the_default_address(client, count):
    labels = ["carol", "dave", "erin", "alice", "nobody", "carol"][:count] if count > 1 else ["carol"]
    pairs = [{"sender": OWNER, "recipient": f"{label}.{PARENT}"} for label in labels]
    answers = client.post("/v1/eligibility", json={"pairs": pairs}).json()["data"]
    expected = {"carol": DEFAULT, "dave": ETH, "erin": OWNER, "alice": OWNER, "nobody": None}
    assert [a["recipient_address"] for a in answers] == [expected[label] for label in labels]
    single = client.get("/v1/eligibility", params={"sender": OWNER, "recipient": f"carol.{PARENT}"}).json()
    assert single["recipient_address"] == DEFAULT


@pytest.mark.usefixtures("names")
@pytest.mark.parametrize(
    "given",
    [
        "Alice.OP.dm3.eth",
        "ALICE.op.dm3.eth",
        "\uff21\uff2c\uff29\uff23\uff25.op.dm3.eth",
        "al\u200bice.op.dm3.eth",
        "alice.op.dm3.eth",
    ],
)
def test_profile__any_form_ens_normalises__same_answer_as_the_normal_form(client, given):
    expected = client.get("/v1/profiles/alice.op.dm3.eth").json()
    response = client.get(f"/v1/profiles/{given}")
    assert response.status_code == 200, response.text
    assert response.json() == expected
    assert expected["name"] == "alice.op.dm3.eth"


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("💩.op.dm3.eth", "💩.op.dm3.eth"),
        ("❤\ufe0f.op.dm3.eth", "❤.op.dm3.eth"),
        ("Ñu.op.dm3.eth", "ñu.op.dm3.eth"),
    ],
)
def test_profile__unicode_and_emoji_names__normalised_then_looked_up(client, given, normal):
    """Such labels cannot be registered (the registry takes a-z, 0-9, -), so the answer is a 404 naming the
    normal form, never a 422 or a 500."""
    response = client.get(f"/v1/profiles/{given}")
    assert response.status_code == 404, response.text
    assert normal in response.json()["message"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("a_b.op.dm3.eth", "underscore"),
        ("a..b.op.dm3.eth", "empty label"),
        ("a%20b.op.dm3.eth", "disallowed character"),
        ("a%ED%A0%80.op.dm3.eth", "disallowed character"),  # the UTF-8 form of a lone surrogate
        ("a%00.op.dm3.eth", "disallowed character"),
        ("eth", "top-level"),
        ("x" * 250 + ".op.dm3.eth", "longer than 255 bytes"),
    ],
)
def test_profile__bad_names__422_with_the_reason(client, path, reason):
    response = client.get(f"/v1/profiles/{path}")
    assert response.status_code == 422, response.text
    message = response.json()["message"]
    assert "not a valid ENS name" in message
    assert reason in message.lower()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        # A lone surrogate, as JSON can carry it: refused at the JSON boundary, before name rules.
        ("a\ud800.op.dm3.eth", "unable to parse raw data as a unicode string"),
        ("a\udfff", "unable to parse raw data as a unicode string"),
        ("a..b", "empty label"),
        ("A_B.op.dm3.eth", "underscore"),
        ("x" * 5000 + ".eth", "at most 300 characters"),
    ],
)
def test_eligibility__bad_names_in_a_batch__422_never_500(client, name, reason):
    body = json.dumps({"pairs": [{"sender": OWNER, "recipient": name}]})  # ASCII, lone surrogates as \ud800
    response = client.post("/v1/eligibility", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    message = response.json()["message"]
    assert message.startswith("pairs.0.recipient")
    assert reason in message.lower()


def test_address_profile__a_primary_name_not_in_normal_form_is_ignored(client, seed):
    """ENS clients ignore a primary name that is not normalised; so does the API (the address name answers)."""
    seed(
        _name("alice"),
        PrimaryName(chain_id=OP_CHAIN_ID, account=OWNER, name="Alice.op.dm3.eth", block_number=1),
        _addr_name_record(OWNER),
    )
    body = client.get(f"/v1/addresses/{OWNER}/profile").json()
    assert body["name"] == f"{OWNER[2:]}.addr.{PARENT}"
    seed(PrimaryName(chain_id=OP_CHAIN_ID, account=OWNER, name="alice.op.dm3.eth", block_number=2))
    assert client.get(f"/v1/addresses/{OWNER}/profile").json()["name"] == f"alice.{PARENT}"


def _addr_name_record(account: str) -> AddrRecord:
    node = "0x" + namehash(f"{account[2:]}.addr.{PARENT}").hex()
    return AddrRecord(
        chain_id=OP_CHAIN_ID, node=node, coin_type=ETH_COIN_TYPE, address=account, block_number=1
    )
