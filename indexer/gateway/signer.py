"""Gateway response signing in the ENS reference OffchainResolver format (also what Dm3Resolver checks).

    digest   = keccak256(0x1900 ‖ resolver (20 bytes) ‖ expires (uint64, 8 bytes BE) ‖ keccak256(request)
                         ‖ keccak256(result))
    response = abi.encode(bytes result, uint64 expires, bytes signature)

The digest is already an EIP-191 version-0 hash, so it is signed raw, without the personal_sign prefix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from eth_abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import Hash32
from eth_utils import keccak

from indexer.errors import UserError


class GatewayKeyError(UserError):
    """The gateway signing key is missing or cannot be loaded; the message says which setting to fix."""


def signature_digest(*, sender: bytes, expires: int, request: bytes, result: bytes) -> bytes:
    """`SignatureVerifier.makeSignatureHash(target, expires, request, result)`."""
    if len(sender) != 20:
        raise ValueError("sender must be a 20-byte address")
    return keccak(b"\x19\x00" + sender + expires.to_bytes(8, "big") + keccak(request) + keccak(result))


@dataclass(frozen=True)
class SignedResponse:
    data: bytes
    expires: int
    signature: bytes


class GatewaySigner:
    """Signs gateway answers with one key; `address` is what the resolver's signer set must contain."""

    def __init__(self, account: LocalAccount, *, ttl_seconds: int) -> None:
        if ttl_seconds <= 0:
            raise GatewayKeyError("gateway signature TTL must be positive")
        self._account = account
        self.ttl_seconds = ttl_seconds

    @property
    def address(self) -> str:
        return str(self._account.address)

    def sign(self, *, sender: bytes, request: bytes, result: bytes, now: int) -> SignedResponse:
        expires = now + self.ttl_seconds
        digest = signature_digest(sender=sender, expires=expires, request=request, result=result)
        signed = self._account.unsafe_sign_hash(Hash32(digest))
        signature = signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v])
        data = encode(["bytes", "uint64", "bytes"], [result, expires, signature])
        return SignedResponse(data=data, expires=expires, signature=signature)


def load_gateway_account(
    *, private_key: str | None, keyfile: Path | None, keyfile_password: str | None
) -> LocalAccount:
    """The gateway key from a hex private key or an encrypted JSON keystore (exactly one of the two)."""
    if private_key and keyfile:
        raise GatewayKeyError("set only one of DM3_GATEWAY_PRIVATE_KEY and DM3_GATEWAY_KEYFILE")
    if private_key:
        try:
            return Account.from_key(private_key)
        except (ValueError, TypeError) as error:
            raise GatewayKeyError("DM3_GATEWAY_PRIVATE_KEY is not a valid 32-byte hex private key") from error
    if keyfile:
        if keyfile_password is None:
            raise GatewayKeyError("DM3_GATEWAY_KEYFILE is set but DM3_GATEWAY_KEYFILE_PASSWORD is not")
        try:
            keystore = json.loads(keyfile.read_text())
            return Account.from_key(Account.decrypt(keystore, keyfile_password))
        except OSError as error:
            raise GatewayKeyError(f"cannot read gateway keyfile {keyfile}: {error.strerror}") from error
        except (ValueError, KeyError, TypeError) as error:
            raise GatewayKeyError(
                f"cannot decrypt gateway keyfile {keyfile} (wrong password or format)"
            ) from error
    raise GatewayKeyError("no gateway key: set DM3_GATEWAY_PRIVATE_KEY or DM3_GATEWAY_KEYFILE")
