"""The dm3 profile parser and signature check against vectors made with dm3's own library."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from hypothesis import given
from hypothesis import strategies as st

from indexer.dm3.profile import (
    DeliveryServiceProfile,
    ProfileError,
    ProfileRecord,
    SignedUserProfile,
    canonical_json,
    check_profile_signature,
    dm3_hash,
    parse_delivery_service_record,
    parse_profile_record,
    parse_signed_profile,
    profile_creation_message,
    recover_profile_signer,
)

OTHER_ADDRESS = "0x00000000000000000000000000000000DeaDBeef"


def _valid(vectors: dict) -> list[dict]:
    return [v for v in vectors["vectors"] if not v.get("tampered")]


def _signed(record: ProfileRecord | ProfileError) -> SignedUserProfile:
    assert isinstance(record, ProfileRecord), record
    assert record.signed_profile is not None
    return record.signed_profile


def test_canonical_profile__matches_vectors_byte_for_byte(dm3_vectors):
    for vector in _valid(dm3_vectors):
        assert canonical_json(vector["signedUserProfile"]["profile"]) == vector["canonicalProfile"]


def test_profile_creation_message__matches_vectors_byte_for_byte(dm3_vectors):
    for vector in _valid(dm3_vectors):
        message = profile_creation_message(
            address=vector["address"].lower(), canonical_profile=vector["canonicalProfile"]
        )
        assert message == vector["profileCreationMessage"]


@pytest.mark.parametrize("field", ["recordValue", "recordValueBase64"])
def test_parse_profile_record__valid_vectors(dm3_vectors, field):
    for vector in _valid(dm3_vectors):
        record = parse_profile_record(vector[field])
        signed = _signed(record)
        assert record.kind == "data"
        assert signed.signature == vector["signedUserProfile"]["signature"]
        assert list(signed.profile.delivery_services) == vector["deliveryServices"]
        assert signed.profile.public_signing_key == vector["signedUserProfile"]["profile"]["publicSigningKey"]
        assert check_profile_signature(signed, vector["address"]) is vector["validForAddress"]
        assert check_profile_signature(signed, vector["address"].lower()) is vector["validForAddress"]
        assert check_profile_signature(signed, OTHER_ADDRESS) is vector["validForOtherAddress"]


def test_dm3_hash__is_sha256_of_canonical_signed_profile(dm3_vectors):
    for vector in _valid(dm3_vectors):
        signed = _signed(parse_profile_record(vector["recordValue"]))
        assert dm3_hash(signed) == vector["dm3HashOfSignedProfile"]
        assert parse_profile_record(vector["recordValue"]).dm3_hash == vector["dm3HashOfSignedProfile"]  # type: ignore[union-attr]


def test_tampered_vector__fails_the_check(dm3_vectors):
    tampered = [v for v in dm3_vectors["vectors"] if v.get("tampered")]
    assert tampered
    for vector in tampered:
        signed = _signed(parse_profile_record(vector["recordValue"]))
        assert check_profile_signature(signed, vector["address"]) is vector["validForAddress"] is False


def test_recover_profile_signer__returns_the_vector_address(dm3_vectors):
    for vector in _valid(dm3_vectors):
        signed = _signed(parse_profile_record(vector["recordValue"]))
        assert recover_profile_signer(signed, address=vector["address"]) == vector["address"]


def test_parse_profile_record__percent_encoded_data_uri(dm3_vectors):
    vector = _valid(dm3_vectors)[0]
    body = vector["recordValue"].removeprefix("data:application/json,")
    record = parse_profile_record("data:application/json," + quote(body, safe=""))
    assert check_profile_signature(_signed(record), vector["address"])


def test_parse_profile_record__url_with_dm3_hash():
    url = "https://profiles.example/alice.json?dm3Hash=0x" + "AB" * 32
    record = parse_profile_record(url)
    assert record == ProfileRecord(kind="url", signed_profile=None, url=url, dm3_hash="0x" + "ab" * 32)


def test_signature__compact_eip2098_form_is_accepted():
    account = Account.from_key(b"\x01" * 32)
    profile = {"publicEncryptionKey": "e", "publicSigningKey": "s", "deliveryServices": ["ds.eth"]}
    message = profile_creation_message(address=account.address, canonical_profile=canonical_json(profile))
    signed = account.sign_message(encode_defunct(text=message))
    vs = signed.s | ((signed.v - 27) << 255)
    compact = "0x" + signed.r.to_bytes(32, "big").hex() + vs.to_bytes(32, "big").hex()
    parsed = parse_signed_profile({"profile": profile, "signature": compact})
    assert isinstance(parsed, SignedUserProfile)
    assert check_profile_signature(parsed, account.address)
    full = parse_signed_profile({"profile": profile, "signature": "0x" + bytes(signed.signature).hex()})
    assert isinstance(full, SignedUserProfile)
    assert check_profile_signature(full, account.address)


def test_canonical_json__sorts_nested_keys_and_keeps_unicode():
    value = {"b": [1, {"z": 1.0, "a": "é\n"}], "a": None, "B": True}
    assert canonical_json(value) == '{"B":true,"a":null,"b":[1,{"a":"é\\n","z":1}]}'


@pytest.mark.parametrize(
    "value",
    [
        "",
        "hello",
        "data:application/json,",
        "data:application/json,{not json",
        "data:application/json,[1,2]",
        "data:application/json,{}",
        'data:application/json,{"profile":{},"signature":"0x"}',
        'data:application/json,{"profile":{"publicEncryptionKey":"a","publicSigningKey":"b",'
        '"deliveryServices":"x"},"signature":"0x00"}',
        'data:application/json,{"profile":{"publicEncryptionKey":"a","publicSigningKey":"b",'
        '"deliveryServices":[]},"signature":12}',
        "data:application/json;base64,!!!",
        "data:application/json;base64," + base64.b64encode(b"\xff\xfe").decode(),
        "ipfs://whatever",
        "https://example.com/profile.json",
        "https://example.com/p.json?dm3Hash=0x1234",
        "https://example.com/p.json?dm3Hash=0x" + "zz" * 32,
        "data:application/json," + "[" * 100_000,
    ],
)
def test_parse_profile_record__bad_input__returns_error(value):
    result = parse_profile_record(value)
    assert isinstance(result, ProfileError)
    assert result.message


@pytest.mark.parametrize("signature", ["0x", "0xzz", "0x00", "0x" + "ff" * 65, "0x" + "11" * 64 + "05"])
def test_check_profile_signature__junk_signature__is_false(signature):
    parsed = parse_signed_profile(
        {
            "profile": {"publicEncryptionKey": "a", "publicSigningKey": "b", "deliveryServices": []},
            "signature": signature,
        }
    )
    assert isinstance(parsed, SignedUserProfile)
    assert check_profile_signature(parsed, OTHER_ADDRESS) is False
    assert check_profile_signature(parsed, "not an address") is False


def test_parse_delivery_service_record():
    document = {"publicSigningKey": "s", "publicEncryptionKey": "e", "url": "https://ds.example"}
    expected = DeliveryServiceProfile(
        public_signing_key="s", public_encryption_key="e", url="https://ds.example"
    )
    assert parse_delivery_service_record("data:application/json," + json.dumps(document)) == expected
    encoded = base64.b64encode(json.dumps(document).encode()).decode()
    assert parse_delivery_service_record("data:application/json;base64," + encoded) == expected
    assert parse_delivery_service_record(json.dumps(document)) == expected
    assert isinstance(parse_delivery_service_record('{"url": 1}'), ProfileError)
    assert isinstance(parse_delivery_service_record("nope"), ProfileError)


def test_parse_profile_record__deep_nesting_within_size_cap__is_an_error_not_a_crash():
    assert isinstance(parse_profile_record("data:application/json," + "[" * 5000 + "]" * 5000), ProfileError)


@given(st.text(max_size=300) | st.text(max_size=300).map(lambda t: "data:application/json," + t))
def test_parse_profile_record__never_raises(value):
    result = parse_profile_record(value)
    assert isinstance(result, ProfileRecord | ProfileError)


def test_signed_profile_record__parses_and_verifies_like_dm3s_own(dm3_vectors):
    """The writer is the parser's inverse: same canonical profile as dm3's library, a signature that checks."""
    from eth_account import Account

    from indexer.dm3.profile import check_profile_signature, parse_profile_record, signed_profile_record

    vector = dm3_vectors["vectors"][0]
    profile = vector["signedUserProfile"]["profile"]
    account = Account.create()
    record = signed_profile_record(
        account,
        public_encryption_key=profile["publicEncryptionKey"],
        public_signing_key=profile["publicSigningKey"],
        delivery_services=profile["deliveryServices"],
    )
    assert record.startswith(
        'data:application/json,{"profile":' + vector["canonicalProfile"] + ',"signature":"0x'
    )
    parsed = parse_profile_record(record)
    assert check_profile_signature(parsed.signed_profile, account.address)
    assert not check_profile_signature(parsed.signed_profile, vector["address"])
