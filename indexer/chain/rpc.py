"""An async JSON-RPC client on httpx: batching, retries with backoff, and errors with meaning.

Transient failures (HTTP 429/5xx, timeouts, connection errors, rate-limit JSON-RPC errors) are retried with
exponential backoff and jitter (tenacity). ``eth_getLogs`` answers that mean "ask for fewer blocks" become
:class:`RpcRangeTooLarge` (with the provider's suggested range when it gives one) and are never retried here:
the caller shrinks its range instead. Answers that mean "this node does not have that block (yet)" (a lagging
node, a node in the middle of a reorg) become :class:`RpcBlockUnavailable`, also not retried here: the caller
waits for the block or notices that the chain got shorter.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
from eth_bloom import BloomFilter
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from indexer import metrics
from indexer.errors import UserError
from indexer.redact import redact_url, redact_urls

BlockTag = int | str  # a number or "latest" | "safe" | "finalized" | "earliest" | "pending"


#: JSON-RPC answers are parsed with msgspec: about twice as fast as json.loads on an eth_getLogs answer.
_decode_json = msgspec.json.Decoder().decode


class RpcError(UserError):
    """The node answered with an error (or garbage) that retrying will not fix.

    The message never holds a URL's path, query or userinfo (API keys): every message is redacted here, once.
    """

    def __init__(self, message: str, *, code: int | None = None, data: Any = None) -> None:
        super().__init__(redact_urls(message))
        self.code = code
        self.data = data


class RpcTransientError(RpcError):
    """Rate limited, overloaded, timed out or unreachable: worth retrying."""


class RpcTimeout(RpcTransientError):
    """The request timed out (after retries, when raised to the caller)."""


class RpcUnreachable(RpcTransientError):
    """No connection to the node (after retries, when raised to the caller)."""


class RpcBlockUnavailable(RpcTransientError):
    """The node does not have the block asked for: it lags behind, or is in the middle of a reorg."""


class RpcMethodUnsupported(RpcError):
    """The node does not serve this JSON-RPC method."""


class RpcRangeTooLarge(RpcError):
    """``eth_getLogs`` over too many blocks or results. ``suggested_range`` = (from, to) when the node says."""

    def __init__(
        self, message: str, *, suggested_range: tuple[int, int] | None = None, code: int | None = None
    ):
        super().__init__(message, code=code)
        self.suggested_range = suggested_range


class RpcResponseTooLarge(RpcRangeTooLarge):
    """An ``eth_getLogs`` answer grew past the caller's byte limit: abandoned before it was read whole (so it is
    never held in memory), and handled like a node refusing the range: ask for fewer blocks."""


# Phrases providers use for "your eth_getLogs range is too big" (lowercased substring match).
_RANGE_PHRASES = (
    "query returned more than",  # Alchemy, Infura: "query returned more than 10000 results"
    "block range is too large",  # QuickNode, generic
    "block range too large",
    "block range is too wide",  # Ankr
    "range is too large",
    "range too large",
    "exceed maximum block range",  # geth-like / Base
    "exceeds maximum block range",
    "response size exceeded",  # Alchemy "Log response size exceeded"
    "response size should not",
    "log response size",
    "too many results",
    "too many logs",
    "limited to a 10,000",
    "max results",
    "query timeout exceeded",
    "requested too many blocks",
)
# Phrases nodes use for "I do not have this block": geth/reth "header not found", "unknown block", anvil "block
# height is 3088 but requested was 3091" (seen mid-reorg), providers' "block out of range" / "after last accepted".
_BLOCK_UNAVAILABLE_PHRASES = (
    "header not found",
    "unknown block",
    "block not found",
    "block out of range",
    "but requested was",
    "after last accepted block",
)
_RATE_LIMIT_PHRASES = ("rate limit", "too many requests", "exceeded its compute units", "capacity exceeded")
_SUGGESTED = re.compile(r"\[\s*(0x[0-9a-fA-F]+)\s*,\s*(0x[0-9a-fA-F]+)\s*\]")


def classify_error(error: dict[str, Any]) -> RpcError:
    """Turn a JSON-RPC ``error`` object into the exception that says what to do about it."""
    code = error.get("code")
    message = str(error.get("message", ""))
    data = error.get("data")
    lowered = message.lower()
    if any(phrase in lowered for phrase in _RANGE_PHRASES):
        suggested: tuple[int, int] | None = None
        match = _SUGGESTED.search(message)
        if match:
            suggested = (int(match.group(1), 16), int(match.group(2), 16))
        elif isinstance(data, dict) and "from" in data and "to" in data:  # Infura puts it in `data`
            try:
                suggested = (int(str(data["from"]), 16), int(str(data["to"]), 16))
            except ValueError:
                suggested = None
        return RpcRangeTooLarge(message, suggested_range=suggested, code=code)
    if any(phrase in lowered for phrase in _BLOCK_UNAVAILABLE_PHRASES):
        return RpcBlockUnavailable(message, code=code, data=data)
    if code in (-32005, 429) or any(phrase in lowered for phrase in _RATE_LIMIT_PHRASES):
        return RpcTransientError(message, code=code, data=data)
    if "timeout" in lowered or "timed out" in lowered:
        return RpcTimeout(message, code=code, data=data)
    if code in (-32603,) and ("internal" in lowered or not message):
        return RpcTransientError(message, code=code, data=data)
    return RpcError(message, code=code, data=data)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    max_elapsed: float = 120.0  # seconds across all attempts
    initial_wait: float = 0.1
    max_wait: float = 5.0


class RpcClient:
    """JSON-RPC over HTTP for one node. Use as ``async with RpcClient(url) as rpc:``."""

    def __init__(
        self,
        url: str,
        *,
        chain: str = "",
        timeout: float = 20.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self.chain = chain or redact_url(url)  # a metrics label: never the key in the URL
        self.timeout = timeout
        self._retry = retry or RetryPolicy()
        self.custom_transport = transport is not None  # such a client cannot be rebuilt in another process
        self._ids = itertools.count(1)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            headers={"content-type": "application/json"},
        )

    @property
    def retry(self) -> RetryPolicy:
        return self._retry

    async def __aenter__(self) -> RpcClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- transport ---------------------------------------------------------------------------------------------

    async def _post(self, payload: Any, method: str) -> Any:
        body, _ = await self._post_sized(payload, method)
        return body

    async def _post_sized(
        self, payload: Any, method: str, *, max_bytes: int | None = None
    ) -> tuple[Any, int]:
        """The decoded JSON answer and its size in bytes. With ``max_bytes``, an answer that grows past it is
        abandoned while it streams in (:class:`RpcResponseTooLarge`), so no more than that is ever held."""
        started = time.perf_counter()
        try:
            async with self._http.stream("POST", self.url, json=payload) as response:
                content = await _read(response, method, max_bytes)
        except httpx.TimeoutException as exc:
            metrics.RPC_ERRORS.labels(chain=self.chain, kind="timeout").inc()
            raise RpcTimeout(f"{method}: timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            metrics.RPC_ERRORS.labels(chain=self.chain, kind="connection").inc()
            raise RpcUnreachable(f"{method}: cannot reach {redact_url(self.url)}: {exc!r}") from exc
        finally:
            metrics.RPC_LATENCY.labels(chain=self.chain, method=method).observe(time.perf_counter() - started)
        if response.status_code == 429 or response.status_code >= 500:
            metrics.RPC_ERRORS.labels(chain=self.chain, kind=f"http_{response.status_code}").inc()
            raise RpcTransientError(f"{method}: HTTP {response.status_code}", code=response.status_code)
        if response.status_code >= 400:
            body = _error_body(response)
            if body is not None:  # some providers send JSON-RPC errors with 4xx status codes
                return body, len(content)
            metrics.RPC_ERRORS.labels(chain=self.chain, kind=f"http_{response.status_code}").inc()
            raise RpcError(f"{method}: HTTP {response.status_code}: {response.text[:200]}")
        try:
            # msgspec parses an eth_getLogs answer about twice as fast as json.loads (the same values; its
            # DecodeError is a ValueError). The backfill parses ~1 kB of JSON per log on the event loop.
            return _decode_json(content), len(content)
        except ValueError as exc:
            metrics.RPC_ERRORS.labels(chain=self.chain, kind="bad_json").inc()
            text = content[:200].decode(errors="replace")
            raise RpcTransientError(f"{method}: response is not JSON: {text!r}") from exc

    async def _with_retries(self, attempt: Callable[[], Any]) -> Any:
        policy = self._retry
        async for try_ in AsyncRetrying(
            retry=retry_if_exception_type(RpcTransientError)
            & retry_if_not_exception_type(RpcBlockUnavailable),
            stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.max_elapsed),
            wait=wait_exponential_jitter(
                multiplier=policy.initial_wait, max=policy.max_wait, jitter=policy.initial_wait
            ),
            reraise=True,
        ):
            with try_:
                return await attempt()
        raise AssertionError("unreachable")  # pragma: no cover

    # --- calls -------------------------------------------------------------------------------------------------

    async def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        """One call; returns ``result`` or raises the classified error."""

        async def attempt() -> Any:
            body = await self._post(
                {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}, method
            )
            return self._result(body, method)

        return await self._with_retries(attempt)

    async def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Several calls in one HTTP request; results in call order. Any error fails (and retries) the batch."""
        return await self._batch(calls, keep_errors=False)

    async def batch_outcomes(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Several calls in one HTTP request; in call order, each call's result or, when the node answered that
        call with an error retrying will not fix (a revert, say), that :class:`RpcError`. Transient errors still
        retry the batch, and raise when the retries are spent."""
        return await self._batch(calls, keep_errors=True)

    async def _batch(self, calls: Sequence[tuple[str, Sequence[Any]]], *, keep_errors: bool) -> list[Any]:
        if not calls:
            return []
        label = calls[0][0] if len({m for m, _ in calls}) == 1 else "batch"

        async def attempt() -> list[Any]:
            first = next(self._ids)
            payload = [
                {"jsonrpc": "2.0", "id": first + i, "method": method, "params": params}
                for i, (method, params) in enumerate(calls)
            ]
            for _ in calls[1:]:
                next(self._ids)
            body = await self._post(payload, label)
            if isinstance(body, dict):  # a provider that refuses batches answers with one error object
                self._result(body, label)
                raise RpcError(f"{label}: batch answered with a single object")
            if not isinstance(body, list) or len(body) != len(calls):
                raise RpcTransientError(
                    f"{label}: batch answer has {len(body) if isinstance(body, list) else '?'} items"
                )
            by_id = {item.get("id"): item for item in body}
            return [
                self._outcome(by_id.get(first + i, {}), calls[i][0], keep_errors) for i in range(len(calls))
            ]

        return list(await self._with_retries(attempt))

    def _outcome(self, body: Any, method: str, keep_errors: bool) -> Any:
        try:
            return self._result(body, method)
        except RpcTransientError:
            raise
        except RpcError as error:
            if keep_errors:
                return error
            raise

    def _result(self, body: Any, method: str) -> Any:
        if not isinstance(body, dict):
            raise RpcTransientError(f"{method}: malformed response {str(body)[:200]!r}")
        if "error" in body and body["error"] is not None:
            error = classify_error(body["error"])
            kind = "range" if isinstance(error, RpcRangeTooLarge) else type(error).__name__
            metrics.RPC_ERRORS.labels(chain=self.chain, kind=kind).inc()
            raise error
        if "result" not in body:
            raise RpcTransientError(f"{method}: response has neither result nor error")
        return body["result"]

    # --- typed helpers -----------------------------------------------------------------------------------------

    async def chain_id(self) -> int:
        return int(await self.call("eth_chainId"), 16)

    async def block_number(self) -> int:
        return int(await self.call("eth_blockNumber"), 16)

    async def get_block(self, tag: BlockTag) -> BlockHeader | None:
        raw = await self.call("eth_getBlockByNumber", [_tag(tag), False])
        return BlockHeader.from_rpc(raw) if raw else None

    async def get_blocks(
        self, tags: Sequence[BlockTag], *, batch_size: int = 100
    ) -> list[BlockHeader | None]:
        """Headers of ``tags`` (None where the node has no such block yet), batched."""
        out: list[BlockHeader | None] = []
        for start in range(0, len(tags), batch_size):
            chunk = tags[start : start + batch_size]
            try:
                raws = await self.batch([("eth_getBlockByNumber", [_tag(t), False]) for t in chunk])
            except RpcBlockUnavailable:  # a node that errors instead of answering null: ask one by one
                raws = [await self._block_or_none(t) for t in chunk]
            out.extend(BlockHeader.from_rpc(raw) if raw else None for raw in raws)
        return out

    async def _block_or_none(self, tag: BlockTag) -> Any:
        try:
            return await self.call("eth_getBlockByNumber", [_tag(tag), False])
        except RpcBlockUnavailable:
            return None

    async def get_logs(
        self, *, from_block: int, to_block: int, addresses: Sequence[str], topics: Sequence[Any]
    ) -> list[dict[str, Any]]:
        logs, _ = await self.get_logs_sized(
            from_block=from_block, to_block=to_block, addresses=addresses, topics=topics
        )
        return logs

    async def get_logs_sized(
        self,
        *,
        from_block: int,
        to_block: int,
        addresses: Sequence[str],
        topics: Sequence[Any],
        max_bytes: int | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """The logs of [from_block, to_block] and the size of the answer in bytes of JSON.

        With ``max_bytes``, an answer larger than that raises :class:`RpcResponseTooLarge` (a
        :class:`RpcRangeTooLarge`) without being held whole: the caller asks for fewer blocks.
        """
        params = {
            "fromBlock": hex(from_block),
            "toBlock": hex(to_block),
            "address": list(addresses),
            "topics": list(topics),
        }

        async def attempt() -> tuple[Any, int]:
            payload = {"jsonrpc": "2.0", "id": next(self._ids), "method": "eth_getLogs", "params": [params]}
            body, size = await self._post_sized(payload, "eth_getLogs", max_bytes=max_bytes)
            return self._result(body, "eth_getLogs"), size

        result, size = await self._with_retries(attempt)
        if not isinstance(result, list):
            raise RpcTransientError(f"eth_getLogs: expected a list, got {str(result)[:100]!r}")
        return result, size

    async def get_logs_at(
        self, block_hashes: Sequence[str], *, addresses: Sequence[str], topics: Sequence[Any]
    ) -> list[list[dict[str, Any]]]:
        """The logs of each block named by its hash (EIP-234 ``blockHash`` filter), one batch.

        A node that does not have one of the blocks errors (:class:`RpcBlockUnavailable`) instead of answering
        with an empty list, so an answer always belongs to exactly that block.
        """
        calls = [
            ("eth_getLogs", [{"blockHash": h, "address": list(addresses), "topics": list(topics)}])
            for h in block_hashes
        ]
        results = await self.batch(calls)
        for result in results:
            if not isinstance(result, list):
                raise RpcTransientError(f"eth_getLogs: expected a list, got {str(result)[:100]!r}")
        return results

    async def get_block_receipts(self, block_hash: str) -> list[dict[str, Any]] | None:
        """Every receipt of the block with this hash, or None when the node does not have it.

        Raises :class:`RpcMethodUnsupported` when the node does not serve ``eth_getBlockReceipts``.
        """
        try:
            result = await self.call("eth_getBlockReceipts", [block_hash])
        except RpcBlockUnavailable:
            return None
        except RpcError as exc:
            unsupported = ("method not found", "does not exist", "not supported", "not available")
            if type(exc) is RpcError and (
                exc.code == -32601 or any(p in str(exc).lower() for p in unsupported)
            ):
                raise RpcMethodUnsupported(f"eth_getBlockReceipts: {exc}", code=exc.code) from exc
            raise
        if result is None:
            return None
        if not isinstance(result, list):
            raise RpcTransientError(f"eth_getBlockReceipts: expected a list, got {str(result)[:100]!r}")
        return result


@dataclass(frozen=True, slots=True)
class BlockHeader:
    number: int
    hash: str
    parent_hash: str
    timestamp: int
    logs_bloom: bytes = b""

    @classmethod
    def from_rpc(cls, raw: dict[str, Any]) -> BlockHeader:
        bloom = raw.get("logsBloom") or "0x"
        return cls(
            number=int(raw["number"], 16),
            hash=raw["hash"].lower(),
            parent_hash=raw["parentHash"].lower(),
            timestamp=int(raw["timestamp"], 16),
            logs_bloom=bytes.fromhex(bloom[2:]),
        )

    def may_contain(self, item: bytes) -> bool:
        """Bloom filter test for an address or topic (False = certainly absent; no bloom = maybe)."""
        if len(self.logs_bloom) != 256:
            return True
        return item in BloomFilter(int.from_bytes(self.logs_bloom, "big"))


def _tag(tag: BlockTag) -> str:
    return hex(tag) if isinstance(tag, int) else tag


async def _read(response: httpx.Response, method: str, max_bytes: int | None) -> bytes:
    """The body of ``response``; past ``max_bytes`` (checked against Content-Length first, then while streaming)
    the answer is dropped and :class:`RpcResponseTooLarge` raised."""
    if max_bytes is None or response.status_code >= 400:
        return await response.aread()
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise RpcResponseTooLarge(f"{method}: answer of {int(declared):,} bytes is over {max_bytes:,}")
    parts: list[bytes] = []
    size = 0
    async for part in response.aiter_bytes():
        size += len(part)
        if size > max_bytes:
            raise RpcResponseTooLarge(f"{method}: answer over {max_bytes:,} bytes")
        parts.append(part)
    return b"".join(parts)


def _error_body(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body
    return None
