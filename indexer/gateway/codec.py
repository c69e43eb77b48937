"""CCIP-read (EIP-3668) request decoding and result encoding for ENSIP-10 `resolve(bytes name, bytes data)`.

A request's `callData` is the calldata of `resolve(bytes,bytes)` as the L1 resolver put it into `OffchainLookup`;
its `data` is one resolver call (text, addr, addr(coinType), contenthash) or a `multicall(bytes[])` of them.
Everything malformed raises `GatewayRequestError`, which the route turns into a 4xx JSON answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import decode, encode
from eth_abi.exceptions import DecodingError

from indexer.ens import ETH_COIN_TYPE, InvalidEnsName, namehash, normalize_name
from indexer.errors import Dm3Error

RESOLVE_SELECTOR = bytes.fromhex("9061b923")  # resolve(bytes,bytes)
TEXT_SELECTOR = bytes.fromhex("59d1d43c")  # text(bytes32,string)
ADDR_SELECTOR = bytes.fromhex("3b3b57de")  # addr(bytes32)
ADDR_COIN_SELECTOR = bytes.fromhex("f1cb7e06")  # addr(bytes32,uint256)
CONTENTHASH_SELECTOR = bytes.fromhex("bc1c58d1")  # contenthash(bytes32)
MULTICALL_SELECTOR = bytes.fromhex("ac9650d8")  # multicall(bytes[])

MAX_NAME_BYTES = 255 * 4  # DNS caps names at 255; ENS labels may be longer, so allow a generous bound
MAX_MULTICALL = 32


class GatewayRequestError(Dm3Error):
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
    """A decoded `resolve(name, data)` call: `name` is dotted and in ENSIP-15 normal form; `node` is its namehash."""

    name: str
    node: bytes
    query: RecordQuery | MulticallQuery


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
    _check_normalized(name)
    node = namehash(name)
    if data[:4] == MULTICALL_SELECTOR:
        (calls,) = _decode(["bytes[]"], data[4:], "multicall(bytes[])")
        if len(calls) > MAX_MULTICALL:
            raise GatewayRequestError(f"multicall carries more than {MAX_MULTICALL} calls", status=413)
        query: RecordQuery | MulticallQuery = MulticallQuery(
            tuple(decode_record_call(c, node) for c in calls)
        )
    else:
        query = decode_record_call(data, node)
    return ResolveRequest(name=name, node=node, query=query)


def _check_normalized(name: str) -> None:
    """Refuse a name that is not in ENSIP-15 normal form, with the reason.

    ENS clients normalise a name before they DNS-encode and hash it, so every conforming request carries a
    normalised name and the namehash of it. A name that is not normalised (`Alice.op.dm3.eth`) hashes to another
    node than its normal form, one no registry record can have (the registry admits normalised labels only):
    answering with the normal form's records would sign an answer about a name nobody asked for, and a signed
    empty answer would hide the client's bug as "no record"."""
    try:
        normal = normalize_name(name)
    except InvalidEnsName as error:
        raise GatewayRequestError(
            f"name {name[:80]!r} is not a valid ENS name: {error.reason}", status=422
        ) from error
    if normal != name:
        raise GatewayRequestError(
            f"name {name[:80]!r} is not in ENSIP-15 normal form (clients resolve {normal[:80]!r})", status=422
        )


def decode_record_call(data: bytes, node: bytes) -> RecordQuery:
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
