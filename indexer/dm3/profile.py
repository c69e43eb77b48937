"""dm3 profile records: parse the `network.dm3.profile` / `network.dm3.deliveryService` text values and check
profile signatures exactly as dm3's own library (`@dm3-org/dm3-lib-profile`) does.

Nothing here raises on bad input: parsers return a `ProfileError` value with a message a user can read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_keys.exceptions import BadSignature
from eth_utils import ValidationError, is_address, to_checksum_address

PROFILE_KEY = "network.dm3.profile"
DELIVERY_SERVICE_KEY = "network.dm3.deliveryService"

# A profile record is at most 4,096 bytes on-chain (docs/events.md); these bounds only keep junk from costing much.
MAX_DOCUMENT_CHARS = 65_536
MAX_NESTING = 32

_DATA_JSON = "data:application/json,"
_DATA_JSON_BASE64 = "data:application/json;base64,"


@dataclass(frozen=True)
class ProfileError:
    """A record value that is not a usable dm3 profile; `message` says why."""

    message: str


@dataclass(frozen=True)
class UserProfile:
    """The signed part of a dm3 user profile. `raw` is the JSON object exactly as published (it is what was signed,
    extra keys included)."""

    public_encryption_key: str
    public_signing_key: str
    delivery_services: tuple[str, ...]
    raw: dict[str, Any]


@dataclass(frozen=True)
class SignedUserProfile:
    profile: UserProfile
    signature: str
    raw: dict[str, Any]


@dataclass(frozen=True)
class ProfileRecord:
    """A parsed `network.dm3.profile` value.

    `kind == "data"`: the profile is inline and `signed_profile` is set; `dm3_hash` is computed from it.
    `kind == "url"`: the profile lives at `url` (not fetched here); `dm3_hash` is the hash the URI announces.
    """

    kind: Literal["data", "url"]
    signed_profile: SignedUserProfile | None
    url: str | None
    dm3_hash: str | None


@dataclass(frozen=True)
class DeliveryServiceProfile:
    public_signing_key: str
    public_encryption_key: str
    url: str


def canonical_json(value: Any) -> str:
    """Serialise like safe-stable-stringify: object keys sorted (by UTF-16 code units, as JavaScript's sort does),
    no whitespace, non-ASCII kept as is."""
    return _canonical(value)


def _canonical(value: Any) -> str:
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: kv[0].encode("utf-16-be"))
        return "{" + ",".join(_scalar(k) + ":" + _canonical(v) for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_canonical(v) for v in value) + "]"
    return _scalar(value)


def _scalar(value: Any) -> str:
    # JavaScript prints integral numbers without a fraction.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, ensure_ascii=False)


def profile_creation_message(*, address: str, canonical_profile: str) -> str:
    """The exact text a dm3 client asks the wallet to `personal_sign` (dm3-lib-profile getProfileCreationMessage)."""
    return (
        "dm3.chat wants you register your dm3 profile with your Ethereum account:\n"
        f"{to_checksum_address(address)}\n\n"
        "This is required only once!\n"
        "(There is no paid transaction initiated. The signature is used off-chain only.)\n\n"
        "URI: https://dm3.chat\n"
        "Version: 1\n"
        f"dm3 Profile: {canonical_profile}"
    )


def signed_profile_record(
    account: LocalAccount,
    *,
    public_encryption_key: str,
    public_signing_key: str,
    delivery_services: list[str],
) -> str:
    """A `network.dm3.profile` value as dm3's library writes it: the canonical JSON of a SignedUserProfile, signed
    by `account` (personal_sign over the profile creation message), in a `data:application/json,` URI."""
    profile = {
        "publicEncryptionKey": public_encryption_key,
        "publicSigningKey": public_signing_key,
        "deliveryServices": delivery_services,
    }
    message = profile_creation_message(address=account.address, canonical_profile=canonical_json(profile))
    signature = account.sign_message(encode_defunct(text=message)).signature.to_0x_hex()
    return "data:application/json," + canonical_json({"profile": profile, "signature": signature})


def recover_profile_signer(signed: SignedUserProfile, *, address: str) -> str | None:
    """The address that signed `signed.profile`'s creation message for `address`, or None if the signature is not a
    recoverable ECDSA signature. (The message embeds the claimed address, so the signer is only meaningful
    together with it.)"""
    signature = _signature_bytes(signed.signature)
    if signature is None:
        return None
    message = profile_creation_message(address=address, canonical_profile=canonical_json(signed.profile.raw))
    try:
        return str(Account.recover_message(encode_defunct(text=message), signature=signature))
    except (ValueError, BadSignature, ValidationError):
        return None


def _signature_bytes(signature: str) -> bytes | None:
    """65-byte r||s||v, also from a 64-byte EIP-2098 compact signature (ethers accepts both)."""
    try:
        raw = bytes.fromhex(signature[2:])
    except ValueError:
        return None
    if len(raw) == 64:
        r, vs = raw[:32], int.from_bytes(raw[32:], "big")
        y_parity = vs >> 255
        s = vs & ((1 << 255) - 1)
        return r + s.to_bytes(32, "big") + bytes([27 + y_parity])
    return raw if len(raw) == 65 else None


def check_profile_signature(signed: SignedUserProfile, address: str) -> bool:
    """True when `address` signed this profile (dm3-lib-profile checkUserProfileWithAddress)."""
    if not is_address(address):
        return False
    signer = recover_profile_signer(signed, address=address)
    return signer is not None and signer.lower() == address.lower()


def dm3_hash(signed: SignedUserProfile) -> str:
    """`0x` + sha256 of the canonical JSON of the whole signed profile: the value of `?dm3Hash=` in URL records."""
    return "0x" + hashlib.sha256(canonical_json(signed.raw).encode()).hexdigest()


def parse_signed_profile(document: Any) -> SignedUserProfile | ProfileError:
    """Validate a decoded SignedUserProfile JSON object."""
    if not isinstance(document, dict):
        return ProfileError("profile JSON is not an object")
    profile = document.get("profile")
    signature = document.get("signature")
    if not isinstance(profile, dict):
        return ProfileError("profile JSON has no 'profile' object")
    if not isinstance(signature, str) or not signature.startswith("0x"):
        return ProfileError("profile JSON has no '0x' signature string")
    encryption_key = profile.get("publicEncryptionKey")
    signing_key = profile.get("publicSigningKey")
    services = profile.get("deliveryServices")
    if not isinstance(encryption_key, str) or not isinstance(signing_key, str):
        return ProfileError("profile needs string 'publicEncryptionKey' and 'publicSigningKey'")
    if not isinstance(services, list) or not all(isinstance(s, str) for s in services):
        return ProfileError("profile 'deliveryServices' must be a list of names")
    user = UserProfile(
        public_encryption_key=encryption_key,
        public_signing_key=signing_key,
        delivery_services=tuple(services),
        raw=profile,
    )
    return SignedUserProfile(profile=user, signature=signature, raw=document)


def parse_profile_record(value: str) -> ProfileRecord | ProfileError:
    """Parse a `network.dm3.profile` text record value."""
    if value.startswith(("http://", "https://")):
        return _parse_url_record(value)
    document = _decode_data_uri(value)
    if isinstance(document, ProfileError):
        return document
    signed = parse_signed_profile(document)
    if isinstance(signed, ProfileError):
        return signed
    return ProfileRecord(kind="data", signed_profile=signed, url=None, dm3_hash=dm3_hash(signed))


def parse_delivery_service_record(value: str) -> DeliveryServiceProfile | ProfileError:
    """Parse a `network.dm3.deliveryService` text record value (a data URI, or bare JSON)."""
    document = _decode_data_uri(value) if value.startswith("data:") else _load_json(value)
    if isinstance(document, ProfileError):
        return document
    if not isinstance(document, dict):
        return ProfileError("delivery service JSON is not an object")
    fields = {k: document.get(k) for k in ("publicSigningKey", "publicEncryptionKey", "url")}
    missing = [k for k, v in fields.items() if not isinstance(v, str)]
    if missing:
        return ProfileError(f"delivery service profile lacks string field(s): {', '.join(missing)}")
    return DeliveryServiceProfile(
        public_signing_key=document["publicSigningKey"],
        public_encryption_key=document["publicEncryptionKey"],
        url=document["url"],
    )


def _parse_url_record(value: str) -> ProfileRecord | ProfileError:
    try:
        query = parse_qs(urlsplit(value).query)
    except ValueError:
        return ProfileError("profile URL is malformed")
    hashes = query.get("dm3Hash", [])
    if len(hashes) != 1:
        return ProfileError("profile URL must carry exactly one dm3Hash query parameter")
    announced = hashes[0].lower()
    if len(announced) != 66 or not announced.startswith("0x") or not _is_hex(announced[2:]):
        return ProfileError("dm3Hash must be 0x followed by 64 hex digits")
    return ProfileRecord(kind="url", signed_profile=None, url=value, dm3_hash=announced)


def _decode_data_uri(value: str) -> Any:
    if value.startswith(_DATA_JSON_BASE64):
        try:
            text = base64.b64decode(value[len(_DATA_JSON_BASE64) :], validate=True).decode()
        except (binascii.Error, ValueError):
            return ProfileError("profile data URI is not valid base64 UTF-8")
        return _load_json(text)
    if value.startswith(_DATA_JSON):
        body = value[len(_DATA_JSON) :]
        # dm3 writes the JSON raw; other writers percent-encode it. Raw JSON is tried first so a literal '%' inside
        # a string is never mangled.
        document = _load_json(body)
        if isinstance(document, ProfileError) and "%" in body:
            document = _load_json(unquote(body))
        return document
    return ProfileError("profile record is neither a data:application/json URI nor an http(s) URL")


def _load_json(text: str) -> Any:
    # Bounded before parsing: several eth libraries raise the interpreter's recursion limit to 100,000, which
    # would let a deeply nested document overflow the C stack inside json.loads.
    if len(text) > MAX_DOCUMENT_CHARS:
        return ProfileError(f"profile JSON is longer than {MAX_DOCUMENT_CHARS} characters")
    if _nesting_depth(text) > MAX_NESTING:
        return ProfileError(f"profile JSON nests deeper than {MAX_NESTING} levels")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return ProfileError("profile record does not hold valid JSON")


def _nesting_depth(text: str) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)
