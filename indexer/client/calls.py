"""What each request to the read API sends and how its answer is read, written once and without I/O.

An operation is a `Call` (one request: method, path, query or body, and how the response becomes a result or a
`Dm3ApiError`) or a `Plan` (a generator that yields calls, and pauses between them, and returns the result: a
batch sent in chunks, a relay signed with the relayer's contract address, a poll until a request is final).
`Dm3Client` and `AsyncDm3Client` only execute them: send, retry, sleep.

Names are normalised (ENSIP-15) here with the API's own rule before they are sent; a name or address the API
would refuse raises the `Dm3ApiError(422, message)` the API would answer, without a request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel
from tenacity import retry_if_exception, stop_after_attempt, wait_exponential

from indexer.api.errors import ApiError
from indexer.api.names import parse_address, parse_name, parse_target
from indexer.api.routes.relay import RelayAccepted, RelayConfig, RelayStatus
from indexer.api.schemas import (
    BondOut,
    DepositsPage,
    EligibilityBatch,
    EligibilityResponse,
    Finality,
    ProfileResponse,
    ProvenEligibilityBatch,
    ProvenEligibilityResponse,
    RecipientResponse,
    StatusResponse,
)
from indexer.errors import Dm3Error
from indexer.settings.api import DEFAULT_MAX_BATCH, DEFAULT_MAX_PROOF_BATCH
from indexer.signing import SIGNED_FUNCTIONS, sign

#: Pairs per `POST /v1/eligibility` request: the server's default limit (a server configured lower answers 413).
BATCH_LIMIT = DEFAULT_MAX_BATCH
#: Pairs per proven batch (`proof=True`): the server's default `DM3_API_MAX_PROOF_BATCH`.
PROOF_BATCH_LIMIT = DEFAULT_MAX_PROOF_BATCH
#: The states of a relay request that no longer change.
RELAY_FINAL_STATES = frozenset({"mined", "failed", "expired"})

Result = TypeVar("Result")
Model = TypeVar("Model", bound=BaseModel)
Parsed = TypeVar("Parsed")


class Dm3ApiError(Dm3Error):
    """The API refused the request (4xx) or kept failing (5xx); `message` is the API's explanation."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def raise_for(response: httpx.Response) -> None:
    """A non-2xx response as `Dm3ApiError` with the API's `{"message"}` (or the start of the body)."""
    if response.is_success:
        return
    try:
        message = str(response.json().get("message", response.text))
    except ValueError:
        message = response.text[:200]
    raise Dm3ApiError(response.status_code, message)


def retryable(error: BaseException) -> bool:
    """5xx answers and connection errors are retried; a 4xx never is."""
    if isinstance(error, Dm3ApiError):
        return error.status >= 500
    return isinstance(error, httpx.TransportError)


def retry_policy(*, retries: int, backoff: float) -> dict[str, Any]:
    """The arguments of tenacity's `Retrying` / `AsyncRetrying` for one call: exponential backoff, then the last
    error is raised."""
    return {
        "stop": stop_after_attempt(retries + 1),
        "wait": wait_exponential(multiplier=backoff, max=5),
        "retry": retry_if_exception(retryable),
        "reraise": True,
    }


@dataclass(frozen=True, slots=True)
class Call(Generic[Result]):
    """One request and how its response is read."""

    method: str
    path: str
    read: Callable[[httpx.Response], Result]
    params: Mapping[str, Any] | None = None
    json: Any = None
    timeout: httpx.Timeout | None = None  # None: the client's own

    def request(self) -> dict[str, Any]:
        """The arguments of `httpx.Client.request` / `httpx.AsyncClient.request`."""
        arguments: dict[str, Any] = {"method": self.method, "url": self.path}
        if self.params is not None:
            arguments["params"] = self.params
        if self.json is not None:
            arguments["json"] = self.json
        if self.timeout is not None:
            arguments["timeout"] = self.timeout
        return arguments


@dataclass(frozen=True, slots=True)
class Pause:
    """A plan's wait between two calls (`time.sleep` or `asyncio.sleep`)."""

    seconds: float


#: Yields calls (sent `Call.read`'s result back) and pauses (sent None), returns the operation's result.
Plan: TypeAlias = Generator[Call[Any] | Pause, Any, Result]


def model(kind: type[Model]) -> Callable[[httpx.Response], Model]:
    def read(response: httpx.Response) -> Model:
        raise_for(response)
        return kind.model_validate(response.json())

    return read


def model_or_none(kind: type[Model]) -> Callable[[httpx.Response], Model | None]:
    """As `model`, with a 404 read as None (a profile that does not exist)."""

    def read(response: httpx.Response) -> Model | None:
        if response.status_code == 404:
            return None
        return model(kind)(response)

    return read


# --- input, checked with the API's own rules -------------------------------------------------------------------


def _checked(parse: Callable[..., Parsed], value: str, *, what: str) -> Parsed:
    """`parse(value, what=what)` from the API's own input rules; what it refuses is the API's 422, here."""
    try:
        return parse(value, what=what)
    except ApiError as error:
        raise Dm3ApiError(error.status, error.message) from None


def _target(value: str, *, what: str) -> str:
    """A sender or recipient as sent: a name in ENSIP-15 normal form, an address as given."""
    target = _checked(parse_target, value, what=what)
    return value if target.name is None else target.name


def _present(**values: Any) -> dict[str, Any]:
    """Query parameters without the ones not given."""
    return {name: value for name, value in values.items() if value is not None}


# --- reads ------------------------------------------------------------------------------------------------------


def eligibility(
    sender: str, recipient: str, *, chain_id: int | None, min_finality: Finality, proof: bool = False
) -> Call[EligibilityResponse]:
    """With `proof`, the answer is a `ProvenEligibilityResponse` (check it with `verify_eligibility_proof`)."""
    params = {
        "sender": _target(sender, what="sender"),
        "recipient": _target(recipient, what="recipient"),
        "min_finality": min_finality,
    } | _present(chain_id=chain_id)
    if proof:
        return Call(
            "GET", "/v1/eligibility", model(ProvenEligibilityResponse), params=params | {"proof": "true"}
        )
    return Call("GET", "/v1/eligibility", model(EligibilityResponse), params=params)


def _chunks(pairs: Iterable[tuple[str, str]], size: int) -> Iterator[list[tuple[str, str]]]:
    chunk: list[tuple[str, str]] = []
    for pair in pairs:
        chunk.append(pair)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def eligibility_batch(
    pairs: Iterable[tuple[str, str]],
    *,
    chain_id: int | None,
    min_finality: Finality,
    chunk_size: int,
    proof: bool = False,
) -> Plan[list[EligibilityResponse]]:
    """Chunks of at most `BATCH_LIMIT` pairs (`PROOF_BATCH_LIMIT` with proofs: `ProvenEligibilityResponse`s),
    each checked just before it is sent; answers in input order."""
    results: list[EligibilityResponse] = []
    read = model(ProvenEligibilityBatch) if proof else model(EligibilityBatch)
    for chunk in _chunks(pairs, min(chunk_size, PROOF_BATCH_LIMIT if proof else BATCH_LIMIT)):
        body = {
            "pairs": [
                {
                    "sender": _target(s, what=f"pairs.{i}.sender"),
                    "recipient": _target(r, what=f"pairs.{i}.recipient"),
                }
                for i, (s, r) in enumerate(chunk)
            ],
            "chain_id": chain_id,
            "min_finality": min_finality,
        } | ({"proof": True} if proof else {})
        batch: EligibilityBatch | ProvenEligibilityBatch = yield Call(
            "POST", "/v1/eligibility", read, json=body
        )
        results += batch.data
    return results


def profile(name: str) -> Call[ProfileResponse | None]:
    path = "/v1/profiles/" + quote(_checked(parse_name, name, what="name"), safe="")
    return Call("GET", path, model_or_none(ProfileResponse))


def address_profile(address: str) -> Call[ProfileResponse | None]:
    path = f"/v1/addresses/{_checked(parse_address, address, what='address')}/profile"
    return Call("GET", path, model_or_none(ProfileResponse))


def deposits(
    *,
    sender: str | None = None,
    recipient: str | None = None,
    chain_id: int | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[DepositsPage]:
    params = _present(sender=sender, recipient=recipient, chain_id=chain_id, limit=limit, cursor=cursor)
    return Call("GET", "/v1/deposits", model(DepositsPage), params=params)


@dataclass
class DepositPages:
    """Every page of `GET /v1/deposits`, following `next_cursor`:

    while (call := pages.next_call()) is not None: yield from pages.bonds(send(call))
    """

    sender: str | None = None
    recipient: str | None = None
    chain_id: int | None = None
    _cursor: str | None = None
    _done: bool = False

    def next_call(self) -> Call[DepositsPage] | None:
        if self._done:
            return None
        return deposits(
            sender=self.sender, recipient=self.recipient, chain_id=self.chain_id, cursor=self._cursor
        )

    def bonds(self, page: DepositsPage) -> list[BondOut]:
        self._cursor, self._done = page.next_cursor, page.next_cursor is None
        return page.data


def recipient(address: str, *, chain_id: int | None) -> Call[RecipientResponse]:
    params = _present(chain_id=chain_id)
    return Call("GET", f"/v1/recipients/{address}", model(RecipientResponse), params=params)


def status() -> Call[StatusResponse]:
    return Call("GET", "/v1/status", model(StatusResponse))


# --- relayer ----------------------------------------------------------------------------------------------------


def relay_config(chain_id: int) -> Call[RelayConfig]:
    return Call("GET", "/v1/relay/config", model(RelayConfig), params={"chain_id": chain_id})


def relay_body(
    function: str,
    message: dict[str, Any],
    signature: bytes,
    *,
    chain_id: int,
    permit: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `POST /v1/relay` body (docs/relay-api.md): uint256 as decimal strings, bytes as 0x hex."""

    def encode(value: Any) -> Any:
        if isinstance(value, bytes):
            return "0x" + value.hex()
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    body: dict[str, Any] = {
        "chain_id": chain_id,
        "function": function,
        "message": {name: encode(value) for name, value in message.items()},
        "signature": "0x" + signature.hex(),
    }
    if permit is not None:
        body["permit"] = {name: encode(value) if name != "v" else value for name, value in permit.items()}
    return body


def relay(
    function: str,
    message: dict[str, Any],
    *,
    chain_id: int,
    signature: bytes | None,
    private_key: str | bytes | None,
    permit: dict[str, Any] | None,
) -> Plan[RelayAccepted]:
    """Queue a signed write; without a `signature`, sign with `private_key` for the contract the relayer names."""
    if signature is None:
        if private_key is None:
            raise ValueError("pass a signature or a private_key")
        contract_name = SIGNED_FUNCTIONS[function].contract
        config: RelayConfig = yield relay_config(chain_id)
        contract = config.contracts.get(contract_name)
        if contract is None:
            raise Dm3ApiError(503, f"chain {chain_id}: the relayer knows no {contract_name}")
        signature = sign(function, message, private_key, chain_id=chain_id, verifying_contract=contract)
    body = relay_body(function, message, signature, chain_id=chain_id, permit=permit)
    accepted: RelayAccepted = yield Call("POST", "/v1/relay", model(RelayAccepted), json=body)
    return accepted


def relay_status(request_id: str) -> Call[RelayStatus]:
    return Call("GET", f"/v1/relay/{request_id}", model(RelayStatus))


def wait_relayed(request_id: str, *, timeout: float, poll: float) -> Plan[RelayStatus]:
    """Poll until the request is mined, failed or expired; `TimeoutError` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        state: RelayStatus = yield relay_status(request_id)
        if state.state in RELAY_FINAL_STATES:
            return state
        if time.monotonic() > deadline:
            raise TimeoutError(f"relay request {request_id} is still {state.state} after {timeout} s")
        yield Pause(poll)
