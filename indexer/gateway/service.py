"""Answer a CCIP-read request: decode it, pick the chain that holds the name, read the records, sign the result."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from indexer.ens import address_for_coin
from indexer.gateway.codec import (
    ContenthashQuery,
    GatewayRequestError,
    MulticallQuery,
    RecordQuery,
    ResolveRequest,
    TextQuery,
    decode_resolve_call,
    encode_bytes,
    encode_legacy_addr,
    encode_multicall,
    encode_text,
)
from indexer.gateway.signer import GatewaySigner, SignedResponse


class RecordSource(Protocol):
    """Indexed records of one registry as stored; None means "no record". (The ENSIP-19 fallback is applied on top,
    by `indexer.ens.address_for_coin`.)"""

    def text(self, node: bytes, key: bytes) -> str | None: ...

    def address(self, node: bytes, coin_type: int) -> bytes | None: ...

    def contenthash(self, node: bytes) -> bytes | None: ...


@dataclass(frozen=True)
class ParentZone:
    """A registry's parent name (e.g. `op.dm3.eth`) and the chain it lives on."""

    parent_name: str
    chain_id: int


def zone_for_name(name: str, zones: Iterable[ParentZone]) -> ParentZone:
    """The configured parent that `name` (normalised) is, or is under (longest match wins); 404 when none is."""
    matches = [z for z in zones if name == z.parent_name or name.endswith("." + z.parent_name)]
    if not matches:
        raise GatewayRequestError(f"no registry serves the name {name!r}", status=404)
    return max(matches, key=lambda z: len(z.parent_name))


def resolve_result(request: ResolveRequest, source: RecordSource) -> bytes:
    """The ABI-encoded return value of the requested resolver call(s). Missing records give empty answers."""
    if isinstance(request.query, MulticallQuery):
        return encode_multicall([_answer(call, source) for call in request.query.calls])
    return _answer(request.query, source)


def _answer(query: RecordQuery, source: RecordSource) -> bytes:
    if isinstance(query, TextQuery):
        return encode_text(source.text(query.node, query.key) or "")
    if isinstance(query, ContenthashQuery):
        return encode_bytes(source.contenthash(query.node) or b"")
    node = query.node
    value = address_for_coin(query.coin_type, lambda coin_type: source.address(node, coin_type)) or b""
    return encode_legacy_addr(value) if query.legacy else encode_bytes(value)


def answer_request(
    *,
    sender: bytes,
    call_data: bytes,
    zones: Iterable[ParentZone],
    source_for_chain: Callable[[int], RecordSource],
    signer: GatewaySigner,
    now: int,
) -> SignedResponse:
    """Decode `call_data`, answer it from the chain that serves the name, and sign the answer for `sender`."""
    request = decode_resolve_call(call_data)
    zone = zone_for_name(request.name, zones)
    result = resolve_result(request, source_for_chain(zone.chain_id))
    return signer.sign(sender=sender, request=call_data, result=result, now=now)
