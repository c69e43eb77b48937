"""A test CCIP-read gateway and EIP-3668 / ENSIP-10 encoders for the Dm3Resolver tests.

Written from EIP-3668 and ENS's reference `SignatureVerifier.sol` with eth_abi doing every encoding, so the tests
check the contract against the published format rather than against itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import decode, encode
from eth_abi.packed import encode_packed
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

RESOLVE_SELECTOR = keccak(text="resolve(bytes,bytes)")[:4]
CALLBACK_SELECTOR = keccak(text="resolveWithProof(bytes,bytes)")[:4]
OFFCHAIN_LOOKUP_SELECTOR = keccak(text="OffchainLookup(address,string[],bytes,bytes4,bytes)")[:4]
ERROR_STRING_SELECTOR = keccak(text="Error(string)")[:4]
OFFCHAIN_LOOKUP_TYPES = ["address", "string[]", "bytes", "bytes4", "bytes"]
RESPONSE_TYPES = ["bytes", "uint64", "bytes"]
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

# The contract's documented caps.
MAX_NAME_LENGTH = 512
MAX_DATA_LENGTH = 4096
MAX_RESULT_LENGTH = 8192
MAX_URL_LENGTH = 256
MAX_URLS = 8
MAX_SIGNERS_PER_CALL = 16

URLS = ["https://gateway.dm3.example/ccip/{sender}/{data}.json", "https://backup.dm3.example/ccip"]


def dns_encode(name: str) -> bytes:
    """DNS wire format of a dotted name (RFC 1035 3.1), as ENSIP-10 passes it to `resolve`."""
    out = b""
    for label in name.split(".") if name else []:
        raw = label.encode()
        assert 0 < len(raw) < 64
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def namehash(name: str) -> bytes:
    """ENS namehash (EIP-137)."""
    node = b"\x00" * 32
    for label in reversed(name.split(".")) if name else []:
        node = keccak(node + keccak(text=label))
    return node


def text_call(node: bytes, key: str) -> bytes:
    """Calldata of `text(bytes32,string)`."""
    return keccak(text="text(bytes32,string)")[:4] + encode(["bytes32", "string"], [node, key])


def addr_call(node: bytes) -> bytes:
    """Calldata of `addr(bytes32)`."""
    return keccak(text="addr(bytes32)")[:4] + encode(["bytes32"], [node])


def multicall(calls: list[bytes]) -> bytes:
    """Calldata of `multicall(bytes[])`."""
    return keccak(text="multicall(bytes[])")[:4] + encode(["bytes[]"], [calls])


def text_answer(value: str) -> bytes:
    """What `text(bytes32,string)` returns: abi.encode(string)."""
    return encode(["string"], [value])


def resolve_request(name: bytes, data: bytes) -> bytes:
    """The gateway request: calldata of `resolve(bytes name, bytes data)` (EIP-3668 callData and extraData)."""
    return RESOLVE_SELECTOR + encode(["bytes", "bytes"], [name, data])


def callback_calldata(response: bytes, extra_data: bytes) -> bytes:
    """Calldata of `resolveWithProof(bytes response, bytes extraData)`."""
    return CALLBACK_SELECTOR + encode(["bytes", "bytes"], [response, extra_data])


def error_string(revert: bytes) -> str:
    """The reason of an `Error(string)` revert."""
    assert revert[:4] == ERROR_STRING_SELECTOR, revert.hex()
    return str(decode(["string"], revert[4:])[0])


@dataclass(frozen=True)
class OffchainLookup:
    """The decoded EIP-3668 error."""

    sender: str
    urls: list[str]
    call_data: bytes
    callback_function: bytes
    extra_data: bytes


@dataclass(frozen=True)
class Gateway:
    """A CCIP-read gateway's signing side, following ENS's reference format byte for byte."""

    key: LocalAccount

    @property
    def address(self) -> str:
        return str(self.key.address)

    @staticmethod
    def digest(*, resolver: str, expires: int, request: bytes, result: bytes) -> bytes:
        """keccak256(0x1900 ‖ resolver ‖ uint64 expires ‖ keccak256(request) ‖ keccak256(result))."""
        packed = encode_packed(
            ["bytes2", "address", "uint64", "bytes32", "bytes32"],
            [b"\x19\x00", resolver, expires, keccak(request), keccak(result)],
        )
        return keccak(packed)

    def sign(self, digest: bytes) -> tuple[int, int, int]:
        """(r, s, v) of the raw digest, low-s, v in {27, 28}."""
        signed = self.key.unsafe_sign_hash(digest)
        return signed.r, signed.s, signed.v

    def signature(self, digest: bytes, *, compact: bool = False) -> bytes:
        """65 bytes r ‖ s ‖ v, or 64 bytes EIP-2098 r ‖ vs."""
        r, s, v = self.sign(digest)
        if compact:
            return encode_packed(["uint256", "uint256"], [r, s | ((v - 27) << 255)])
        return encode_packed(["uint256", "uint256", "uint8"], [r, s, v])

    def respond(
        self,
        *,
        resolver: str,
        request: bytes,
        result: bytes,
        expires: int,
        compact: bool = False,
    ) -> bytes:
        """The response body's `data`: abi.encode(bytes result, uint64 expires, bytes sig)."""
        digest = self.digest(resolver=resolver, expires=expires, request=request, result=result)
        return encode(RESPONSE_TYPES, [result, expires, self.signature(digest, compact=compact)])


def make_gateway(seed: str) -> Gateway:
    return Gateway(key=Account.from_key(keccak(text=seed)))
