"""CCIP-read (EIP-3668) request decoding and result encoding for ENSIP-10 `resolve(bytes name, bytes data)`.

A request's `callData` is the calldata of `resolve(bytes,bytes)` as the L1 resolver put it into `OffchainLookup`;
its `data` is one resolver call (text, addr, addr(coinType), contenthash) or a `multicall(bytes[])` of them.
Everything malformed raises `GatewayRequestError`, which the route turns into a 4xx JSON answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_utils import keccak

RESOLVE_SELECTOR = bytes.fromhex("9061b923")  # resolve(bytes,bytes)
TEXT_SELECTOR = bytes.fromhex("59d1d43c")  # text(bytes32,string)
ADDR_SELECTOR = bytes.fromhex("3b3b57de")  # addr(bytes32)
ADDR_COIN_SELECTOR = bytes.fromhex("f1cb7e06")  # addr(bytes32,uint256)
CONTENTHASH_SELECTOR = bytes.fromhex("bc1c58d1")  # contenthash(bytes32)
MULTICALL_SELECTOR = bytes.fromhex("ac9650d8")  # multicall(bytes[])

ETH_COIN_TYPE = 60
# ENSIP-11/19: EVM chains use 0x80000000 | chainId; 0x80000000 itself is the default address for every EVM chain.
EVM_COIN_TYPE_BASE = 0x8000_0000
DEFAULT_EVM_COIN_TYPE = EVM_COIN_TYPE_BASE

MAX_NAME_BYTES = 255 * 4  # DNS caps names at 255; ENS labels may be longer, so allow a generous bound
MAX_MULTICALL = 32


class GatewayRequestError(Exception):
    """A request the gateway refuses; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class TextQuery:
    node: bytes
    key: bytes  # the raw key bytes: on-chain a key is any bytes, and the store is keyed by them


@dataclass(frozen=True)
class AddrQuery:
    """`addr(node)` (`legacy=True`, answered as an address) or `addr(node, coinType)` (answered as bytes)."""

    node: bytes
    coin_type: int
    legacy: bool


@dataclass(frozen=True)
class ContenthashQuery:
    node: bytes


RecordQuery = TextQuery | AddrQuery | ContenthashQuery


@dataclass(frozen=True)
class MulticallQuery:
    calls: tuple[RecordQuery, ...]


@dataclass(frozen=True)
class ResolveRequest:
    """A decoded `resolve(name, data)` call: `name` is dotted, lowercase as sent; `node` is its namehash."""

    name: str
    node: bytes
    query: RecordQuery | MulticallQuery


def namehash(name: str) -> bytes:
    """ENS namehash of a dotted name (labels taken as given: the gateway only sees normalised names)."""
    node = b"\x00" * 32
    if name:
        for label in reversed(name.split(".")):
            node = keccak(node + keccak(label.encode()))
    return node


def decode_dns_name(wire: bytes) -> str:
    """Decode a DNS wire-format name (length-prefixed labels, ending in a zero byte) into a dotted name."""
    if len(wire) > MAX_NAME_BYTES:
        raise GatewayRequestError("name is too long")
    labels: list[str] = []
    offset = 0
    while True:
        if offset >= len(wire):
            raise GatewayRequestError("DNS-encoded name is not terminated by a zero byte")
        length = wire[offset]
        offset += 1
        if length == 0:
            break
        label = wire[offset : offset + length]
        if len(label) != length:
            raise GatewayRequestError("DNS-encoded name has a label running past its end")
        try:
            text = label.decode()
        except UnicodeDecodeError as error:
            raise GatewayRequestError("DNS-encoded name has a label that is not UTF-8") from error
        if "." in text:
            raise GatewayRequestError("DNS-encoded name has a label containing a dot")
        labels.append(text)
        offset += length
    if offset != len(wire):
        raise GatewayRequestError("DNS-encoded name has trailing bytes after its terminator")
    return ".".join(labels)


def encode_dns_name(name: str) -> bytes:
    """Encode a dotted name in DNS wire format (the inverse of `decode_dns_name`, for clients and tests)."""
    out = b""
    for label in name.split(".") if name else []:
        raw = label.encode()
        if not 0 < len(raw) <= 255:
            raise ValueError(f"label {label!r} must be 1-255 bytes")
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def decode_resolve_call(call_data: bytes) -> ResolveRequest:
    """Decode `resolve(bytes name, bytes data)` calldata into the request it asks for."""
    if call_data[:4] != RESOLVE_SELECTOR:
        raise GatewayRequestError("callData is not a resolve(bytes,bytes) call")
    name_wire, data = _decode(["bytes", "bytes"], call_data[4:], "resolve(bytes,bytes)")
    name = decode_dns_name(name_wire)
    node = namehash(name)
    if data[:4] == MULTICALL_SELECTOR:
        (calls,) = _decode(["bytes[]"], data[4:], "multicall(bytes[])")
        if len(calls) > MAX_MULTICALL:
            raise GatewayRequestError(f"multicall carries more than {MAX_MULTICALL} calls", status=413)
        query: RecordQuery | MulticallQuery = MulticallQuery(
            tuple(_decode_record_call(c, node) for c in calls)
        )
    else:
        query = _decode_record_call(data, node)
    return ResolveRequest(name=name, node=node, query=query)


def _decode_record_call(data: bytes, node: bytes) -> RecordQuery:
    selector, args = data[:4], data[4:]
    query: RecordQuery
    if selector == TEXT_SELECTOR:
        # `string` and `bytes` share one encoding: read the key as bytes, so a key that is not UTF-8 or holds NUL
        # finds its own record, as the contract would.
        call_node, key = _decode(["bytes32", "bytes"], args, "text(bytes32,string)")
        query = TextQuery(node=call_node, key=key)
    elif selector == ADDR_SELECTOR:
        (call_node,) = _decode(["bytes32"], args, "addr(bytes32)")
        query = AddrQuery(node=call_node, coin_type=ETH_COIN_TYPE, legacy=True)
    elif selector == ADDR_COIN_SELECTOR:
        call_node, coin_type = _decode(["bytes32", "uint256"], args, "addr(bytes32,uint256)")
        query = AddrQuery(node=call_node, coin_type=coin_type, legacy=False)
    elif selector == CONTENTHASH_SELECTOR:
        (call_node,) = _decode(["bytes32"], args, "contenthash(bytes32)")
        query = ContenthashQuery(node=call_node)
    else:
        raise GatewayRequestError(f"unsupported resolver function selector 0x{selector.hex()}")
    if query.node != node:
        raise GatewayRequestError("the resolver call's node is not the namehash of the requested name")
    return query


def _decode(types: list[str], data: bytes, what: str) -> tuple:
    try:
        return decode(types, data)
    except (DecodingError, OverflowError, ValueError) as error:
        raise GatewayRequestError(f"malformed {what} arguments") from error


def encode_text(value: str) -> bytes:
    return encode(["string"], [value])


def encode_legacy_addr(value: bytes) -> bytes:
    """`addr(node)` returns `address`: a 20-byte record, or the zero address when there is none or it is not 20
    bytes long."""
    address = value if len(value) == 20 else b"\x00" * 20
    return encode(["address"], [address])


def encode_bytes(value: bytes) -> bytes:
    return encode(["bytes"], [value])


def encode_multicall(results: list[bytes]) -> bytes:
    return encode(["bytes[]"], [results])


def is_evm_coin_type(coin_type: int) -> bool:
    """ENSIP-19: coin types 0x80000000 | chainId (chainId < 2^31) name EVM chains."""
    return EVM_COIN_TYPE_BASE < coin_type < 2 * EVM_COIN_TYPE_BASE
