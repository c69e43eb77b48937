"""Fetching what proofs rest on from a node: block headers (`eth_getBlockByNumber`, checked against their hash) and
`eth_getProof` answers. Synchronous, for the Python client and the witness builder; the read API fetches the same
JSON with its async `RpcClient` and parses it with the same `indexer.proofs.verify` classes.

A node is a `Web3` instance, or a URL (the messages name it by scheme and host only: URLs carry API keys).
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Sequence
from typing import Any, Protocol

import httpx

from indexer.errors import UserError
from indexer.proofs.verify import AccountProof, Header, HeaderMismatch
from indexer.redact import redact_url, redact_urls


class NodeError(UserError):
    """The node could not be reached or answered an error."""


class JsonRpc(Protocol):
    def __call__(self, method: str, params: Sequence[Any]) -> Any: ...


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context (httpx's default one) for every proof client: httpx builds a new one for each client
    otherwise, which costs more than the proof itself (~10-100 ms)."""
    return httpx.create_ssl_context()


class UrlRpc:
    """JSON-RPC over HTTP to one URL (no retries: a verifier asks its own node once)."""

    def __init__(self, url: str, *, timeout: float = 20.0) -> None:
        self._url = url
        self._http = httpx.Client(timeout=timeout, transport=httpx.HTTPTransport(verify=tls_context()))

    def __call__(self, method: str, params: Sequence[Any]) -> Any:
        try:
            response = self._http.post(
                self._url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
            )
            body = response.json()
        except httpx.HTTPError as exc:
            raise NodeError(
                f"{method}: cannot reach {redact_url(self._url)} ({type(exc).__name__})"
            ) from None
        except ValueError:
            raise NodeError(
                f"{method}: {redact_url(self._url)} answered HTTP {response.status_code}, not JSON"
            ) from None
        return _result(method, body)

    def close(self) -> None:
        self._http.close()


class Web3Rpc:
    """JSON-RPC through a `Web3` instance's provider."""

    def __init__(self, w3: Any) -> None:
        self._provider = w3.provider

    def __call__(self, method: str, params: Sequence[Any]) -> Any:
        try:
            body = self._provider.make_request(method, list(params))
        except (
            Exception
        ) as exc:  # web3's providers raise their transports' errors; report the kind, not the URL
            raise NodeError(f"{method}: {redact_urls(str(exc))[:200]}") from None
        return _result(method, body)

    def close(self) -> None:
        return None


def _result(method: str, body: Any) -> Any:
    if not isinstance(body, dict):
        raise NodeError(f"{method}: the node answered {type(body).__name__}, not a JSON-RPC object")
    if body.get("error"):
        error = body["error"]
        message = error.get("message") if isinstance(error, dict) else error
        raise NodeError(f"{method}: {redact_urls(str(message))[:300]}")
    return body.get("result")


def connect(w3_or_url: Any) -> UrlRpc | Web3Rpc:
    """A `JsonRpc` for a `Web3` instance or a node URL (a `UrlRpc` is used as it is: reuse one per node)."""
    if isinstance(w3_or_url, UrlRpc | Web3Rpc):
        return w3_or_url
    if isinstance(w3_or_url, str):
        return UrlRpc(w3_or_url)
    if hasattr(w3_or_url, "provider"):
        return Web3Rpc(w3_or_url)
    raise TypeError("give a node URL or a web3.Web3 instance")


def fetch_header(rpc: JsonRpc, block_number: int) -> Header:
    """Block `block_number`'s header from `rpc`, its RLP checked against its hash."""
    raw = rpc("eth_getBlockByNumber", [hex(block_number), False])
    if raw is None:
        raise NodeError(f"the node has no block {block_number}")
    header = Header.from_rpc(raw)
    if header.number != block_number:
        raise HeaderMismatch(f"asked for block {block_number}, the node answered block {header.number}")
    return header


def fetch_proof(rpc: JsonRpc, address: str, slots: Sequence[int], block: int | str) -> AccountProof:
    """`eth_getProof(address, slots, block)`; `block` a number or a block hash (EIP-1898)."""
    block_id: Any = hex(block) if isinstance(block, int) else {"blockHash": block}
    raw = rpc("eth_getProof", [address, ["0x" + slot.to_bytes(32, "big").hex() for slot in slots], block_id])
    return AccountProof.from_rpc(raw)
