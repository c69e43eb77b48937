"""A relay request as the relayer handles it: the JSON message parsed into its EIP-712 values, the signature, the
exact calldata of the signed write, and the calldata of a RelayBatcher batch.

The EIP-712 structs come from :mod:`indexer.signing` (never restated here). The write's ABI follows from its struct
by one rule per contract, checked against the compiled contracts by tests/relayer/test_calls.py:
- ProfileRegistry: the struct's fields without signer, nonce and deadline, then ``signer``, ``deadline``,
  ``signature`` (``setTextWithSig`` calls its ``value`` argument ``text_value``, same type);
- InboxDeposits: the struct's fields without nonce and deadline, then ``deadline``, ``signature``, and for
  ``deposit_with_sig`` the token permit ``v, r, s``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from indexer import signing
from indexer.errors import Dm3Error

#: A calldata this large is refused before any work (the largest signed write, a 4 KiB text record, is ~4.6 KiB).
MAX_CALLDATA = 6_144
#: RelayBatcher's limits (contracts/RelayBatcher.vy MAX_CALLS, MAX_CALLDATA).
BATCH_MAX_CALLS = 16
BATCH_MAX_CALLDATA = 1_536
#: Gas bound of one write: a fixed part (signature check, nonce, event, cold accesses, a permit and a token
#: transfer for deposits) plus a generous per-byte part (a new 32-byte storage word costs 22,100 gas).
WRITE_BASE_GAS = 160_000
WRITE_GAS_PER_BYTE = 760
BATCH_BASE_GAS = 60_000

CONTRACT_KIND = {"ProfileRegistry": "registry", "InboxDeposits": "deposits"}
_HEX = re.compile(r"^0x[0-9a-fA-F]*$")
_ERROR_SELECTOR = bytes.fromhex("08c379a0")
_RELAY_SELECTOR = function_signature_to_4byte_selector("relay((address,bytes)[])")
_NONCES_SELECTOR = function_signature_to_4byte_selector("nonces(address)")


class InvalidRequest(Dm3Error, ValueError):
    """The request is malformed: the message says which field and why."""


@dataclass(frozen=True)
class Permit:
    v: int
    r: bytes
    s: bytes


@dataclass(frozen=True)
class SignedCall:
    """One signed write, parsed and encoded."""

    function: str
    contract: str  # "ProfileRegistry" | "InboxDeposits"
    message: dict[str, Any]  # EIP-712 values: addresses checksummed, ints, bytes, str, bool
    signature: bytes
    permit: Permit | None
    calldata: bytes

    @property
    def spec(self) -> signing.SignedFunction:
        return signing.SIGNED_FUNCTIONS[self.function]

    @property
    def signer(self) -> str:
        return str(self.message[self.spec.signer_field])

    @property
    def nonce(self) -> int:
        return int(self.message["nonce"])

    @property
    def deadline(self) -> int:
        return int(self.message["deadline"])

    @property
    def gas_limit(self) -> int:
        return write_gas(self.calldata)

    def json_message(self) -> dict[str, Any]:
        """The message as stored and echoed: addresses checksummed, ints as decimal strings, bytes as 0x hex."""
        return {name: _to_json(value) for name, value in self.message.items()}


def write_gas(calldata: bytes) -> int:
    return WRITE_BASE_GAS + WRITE_GAS_PER_BYTE * len(calldata)


def abi_inputs(function: str) -> list[tuple[str, str]]:
    """(argument name, ABI type) of the write, in call order (see the module docstring)."""
    spec = signing.SIGNED_FUNCTIONS[function]
    skip = {"nonce", "deadline"} | ({spec.signer_field} if spec.contract == "ProfileRegistry" else set())
    inputs = [(name, kind) for name, kind in spec.fields if name not in skip]
    if spec.contract == "ProfileRegistry":
        inputs.append((spec.signer_field, "address"))
    inputs += [("deadline", "uint256"), ("signature", "bytes")]
    if function == "deposit_with_sig":
        inputs += [("v", "uint8"), ("r", "bytes32"), ("s", "bytes32")]
    return inputs


def abi_signature(function: str) -> str:
    return f"{function}({','.join(kind for _, kind in abi_inputs(function))})"


def parse(
    function: Any, message: Any, signature: Any, permit: Any = None, *, allowed: frozenset[str] | None = None
) -> SignedCall:
    """Parse a `POST /v1/relay` body's parts; raises :class:`InvalidRequest` with the reason."""
    if not isinstance(function, str) or function not in signing.SIGNED_FUNCTIONS:
        known = ", ".join(sorted(signing.SIGNED_FUNCTIONS))
        raise InvalidRequest(f"function: {str(function)[:80]!r} is not a signed write (one of: {known})")
    if allowed is not None and function not in allowed:
        raise InvalidRequest(f"function: this relayer does not carry {function}")
    spec = signing.SIGNED_FUNCTIONS[function]
    if not isinstance(message, dict):
        raise InvalidRequest("message: must be an object with the EIP-712 fields")
    names = [name for name, _ in spec.fields]
    missing = [name for name in names if name not in message]
    extra = sorted(set(message) - set(names))
    if missing or extra:
        parts = ([f"lacks {', '.join(missing)}"] if missing else []) + (
            [f"has unknown field(s) {', '.join(str(e)[:40] for e in extra[:5])}"] if extra else []
        )
        raise InvalidRequest(f"message: {' and '.join(parts)} (fields of {spec.type_string})")
    values = {name: parse_value(message[name], kind, what=f"message.{name}") for name, kind in spec.fields}
    if int(values[spec.signer_field], 16) == 0:
        raise InvalidRequest(f"message.{spec.signer_field}: the zero address cannot sign")
    sig = parse_bytes(signature, what="signature")
    if len(sig) not in (64, 65):
        raise InvalidRequest(f"signature: must be 64 or 65 bytes, got {len(sig)}")
    parsed_permit = _permit(function, permit)
    call = SignedCall(
        function=function,
        contract=spec.contract,
        message=values,
        signature=sig,
        permit=parsed_permit,
        calldata=b"",
    )
    calldata = encode_call(call)
    if len(calldata) > MAX_CALLDATA:
        raise InvalidRequest(
            f"message: the write is {len(calldata)} bytes of calldata, at most {MAX_CALLDATA}"
        )
    return SignedCall(
        function=function,
        contract=spec.contract,
        message=values,
        signature=sig,
        permit=parsed_permit,
        calldata=calldata,
    )


def _permit(function: str, permit: Any) -> Permit | None:
    if function != "deposit_with_sig":
        if permit is not None:
            raise InvalidRequest("permit: only deposit_with_sig takes a permit")
        return None
    if permit is None:
        return Permit(0, bytes(32), bytes(32))
    if not isinstance(permit, dict) or set(permit) - {"v", "r", "s"}:
        raise InvalidRequest('permit: must be {"v": 27|28, "r": "0x..", "s": "0x.."} (or omitted)')
    v = permit.get("v", 0)
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 255:
        raise InvalidRequest("permit.v: must be an integer 0-255")
    if v == 0:
        return Permit(0, bytes(32), bytes(32))
    r = parse_value(permit.get("r"), "bytes32", what="permit.r")
    s = parse_value(permit.get("s"), "bytes32", what="permit.s")
    return Permit(v, r, s)


def parse_bytes(value: Any, *, what: str) -> bytes:
    if not isinstance(value, str) or not _HEX.match(value) or len(value) % 2:
        raise InvalidRequest(f"{what}: must be 0x-prefixed hex with an even number of digits")
    return bytes.fromhex(value[2:])


def parse_value(value: Any, kind: str, *, what: str) -> Any:
    """One EIP-712 field from JSON (addresses 0x hex, uint256 decimal strings or integers, bytes 0x hex)."""
    if kind == "address":
        if not isinstance(value, str) or not _HEX.match(value) or len(value) != 42:
            raise InvalidRequest(f"{what}: must be a 0x-prefixed 20-byte address")
        return to_checksum_address(value)
    if kind == "uint256":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise InvalidRequest(f"{what}: must be an unsigned integer (a decimal string or a JSON integer)")
        if isinstance(value, str) and not (value.isascii() and value.isdigit() and len(value) <= 78):
            raise InvalidRequest(f"{what}: must be a decimal string of digits")
        number = int(value)
        if not 0 <= number < 2**256:
            raise InvalidRequest(f"{what}: out of the uint256 range")
        return number
    if kind == "bool":
        if not isinstance(value, bool):
            raise InvalidRequest(f"{what}: must be true or false")
        return value
    if kind == "bytes32":
        raw = parse_bytes(value, what=what)
        if len(raw) != 32:
            raise InvalidRequest(f"{what}: must be 32 bytes")
        return raw
    if kind == "bytes":
        return parse_bytes(value, what=what)
    if kind == "string":
        if not isinstance(value, str):
            raise InvalidRequest(f"{what}: must be a string")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRequest(f"{what}: is not valid Unicode (a lone surrogate)") from None
        return value
    raise InvalidRequest(
        f"{what}: unsupported type {kind}"
    )  # pragma: no cover (the table has no other types)


def encode_call(call: SignedCall) -> bytes:
    """The exact calldata of the signed write."""
    args: dict[str, Any] = {**call.message, "signature": call.signature}
    if call.permit is not None:
        args.update(v=call.permit.v, r=call.permit.r, s=call.permit.s)
    inputs = abi_inputs(call.function)
    selector = function_signature_to_4byte_selector(abi_signature(call.function))
    return selector + abi_encode([kind for _, kind in inputs], [args[name] for name, _ in inputs])


def batch_calldata(calls: list[tuple[str, bytes]]) -> bytes:
    """`RelayBatcher.relay(calls)` calldata for (target, calldata) pairs."""
    return _RELAY_SELECTOR + abi_encode(
        ["(address,bytes)[]"], [[(to_checksum_address(t), d) for t, d in calls]]
    )


def decode_bitmap(result: str) -> int:
    return int(abi_decode(["uint256"], bytes.fromhex(result.removeprefix("0x")))[0])


def nonces_calldata(signer: str) -> bytes:
    return _NONCES_SELECTOR + abi_encode(["address"], [signer])


def revert_reason(data: Any, message: str = "") -> str:
    """A revert's reason string from the node's error (``data`` = the revert data when it gives it)."""
    raw = data.get("data") if isinstance(data, dict) else data
    if isinstance(raw, str) and _HEX.match(raw) and len(raw) % 2 == 0:
        payload = bytes.fromhex(raw[2:])
        if payload[:4] == _ERROR_SELECTOR:
            try:
                return str(abi_decode(["string"], payload[4:])[0])
            except Exception:  # a malformed Error(string) payload: fall back to the node's message
                pass
    text = message.strip()
    for prefix in ("execution reverted:", "execution reverted"):
        if text.startswith(prefix):
            text = text[len(prefix) :].strip()
            break
    return text or "reverted without a reason"


def _to_json(value: Any) -> Any:
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


def from_json(function: str, message: dict[str, Any]) -> dict[str, Any]:
    """The stored JSON message back into EIP-712 values."""
    spec = signing.SIGNED_FUNCTIONS[function]
    return {name: parse_value(message[name], kind, what=name) for name, kind in spec.fields}
