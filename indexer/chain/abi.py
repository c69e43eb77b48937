"""The events the indexer consumes (docs/events.md), as ABI data, and a lean log decoder.

No contract objects: each event is a fragment; topic0 is keccak(signature) computed once; a log is decoded by
one dict lookup on (address, topic0), slicing indexed topics and decoding the data words (a lean fast path for
the handful of types these events use, checked against ``eth_abi`` by a property test; eth_abi decodes anything
outside it).
Decoded values are JSON-safe and canonical: addresses lowercase hex, bytes/bytes32 ``0x`` hex, uint256 as int.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
from eth_hash.auto import keccak

from indexer.errors import Dm3Error

ContractKind = Literal["registry", "deposits"]

# (name, [(field, type, indexed), ...]) exactly as in docs/events.md.
REGISTRY_EVENTS: list[dict[str, Any]] = [
    {
        "name": "NameRegistered",
        "inputs": [
            ("node", "bytes32", True),
            ("parent", "bytes32", True),
            ("owner", "address", True),
            ("label", "string", False),
        ],
    },
    {"name": "Transfer", "inputs": [("node", "bytes32", True), ("owner", "address", False)]},
    {
        "name": "ApprovalForAll",
        "inputs": [("owner", "address", True), ("operator", "address", True), ("approved", "bool", False)],
    },
    {
        "name": "TextChanged",
        "inputs": [
            ("node", "bytes32", True),
            ("indexedKey", "string", True),
            ("key", "string", False),
            ("value", "string", False),
        ],
    },
    {"name": "AddrChanged", "inputs": [("node", "bytes32", True), ("a", "address", False)]},
    {
        "name": "AddressChanged",
        "inputs": [("node", "bytes32", True), ("coinType", "uint256", False), ("newAddress", "bytes", False)],
    },
    {"name": "ContenthashChanged", "inputs": [("node", "bytes32", True), ("hash", "bytes", False)]},
    {"name": "PrimaryNameChanged", "inputs": [("account", "address", True), ("name", "string", False)]},
]

DEPOSITS_EVENTS: list[dict[str, Any]] = [
    {"name": "MinDepositSet", "inputs": [("recipient", "address", True), ("amount", "uint256", False)]},
    {
        "name": "Deposited",
        "inputs": [
            ("sender", "address", True),
            ("recipient", "address", True),
            ("payer", "address", False),
            ("amount", "uint256", False),
            ("bond", "uint256", False),
        ],
    },
    {
        "name": "Burned",
        "inputs": [
            ("sender", "address", True),
            ("recipient", "address", True),
            ("amount", "uint256", False),
            ("bond", "uint256", False),
        ],
    },
    {
        "name": "Released",
        "inputs": [("sender", "address", True), ("recipient", "address", True), ("bond", "uint256", False)],
    },
    {
        "name": "WithdrawalRequested",
        "inputs": [
            ("sender", "address", True),
            ("recipient", "address", True),
            ("bond", "uint256", False),
            ("unlock_time", "uint256", False),
        ],
    },
    {
        "name": "Withdrawn",
        "inputs": [
            ("sender", "address", True),
            ("recipient", "address", True),
            ("receiver", "address", False),
            ("amount", "uint256", False),
        ],
    },
    {"name": "Paused", "inputs": [("account", "address", False)]},
    {"name": "Unpaused", "inputs": [("account", "address", False)]},
    {"name": "ExcessSwept", "inputs": [("receiver", "address", True), ("amount", "uint256", False)]},
]

EVENTS_BY_CONTRACT: dict[ContractKind, list[dict[str, Any]]] = {
    "registry": REGISTRY_EVENTS,
    "deposits": DEPOSITS_EVENTS,
}


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One event fragment with everything decoding needs precomputed."""

    contract: ContractKind
    name: str
    signature: str
    topic0: str  # 0x hex
    indexed: tuple[tuple[str, str], ...]  # (field, type) in topic order
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]

    @property
    def data_fields(self) -> zip[tuple[str, str]]:
        return zip(self.data_names, self.data_types, strict=True)

    @classmethod
    def from_fragment(cls, contract: ContractKind, fragment: dict[str, Any]) -> EventSpec:
        inputs = fragment["inputs"]
        signature = f"{fragment['name']}({','.join(t for _, t, _ in inputs)})"
        return cls(
            contract=contract,
            name=fragment["name"],
            signature=signature,
            topic0="0x" + keccak(signature.encode()).hex(),
            indexed=tuple((n, t) for n, t, ix in inputs if ix),
            data_names=tuple(n for n, _, ix in inputs if not ix),
            data_types=tuple(t for _, t, ix in inputs if not ix),
        )


SPECS: dict[ContractKind, dict[str, EventSpec]] = {
    kind: {s.topic0: s for s in (EventSpec.from_fragment(kind, f) for f in fragments)}
    for kind, fragments in EVENTS_BY_CONTRACT.items()
}


def topics_for(kinds: list[ContractKind]) -> list[str]:
    """Every topic0 of ``kinds``: the ``topics[0]`` OR-filter of one ``eth_getLogs`` call."""
    return sorted({topic for kind in kinds for topic in SPECS[kind]})


def spec_by_name(contract: ContractKind, name: str) -> EventSpec:
    for spec in SPECS[contract].values():
        if spec.name == name:
            return spec
    raise KeyError(f"{contract} has no event {name}")


def abi_decode(types: Sequence[str], data: bytes) -> tuple[Any, ...]:
    """``eth_abi.decode``, imported on first use: the fast path rarely needs it, and the backfill's fetch process
    (sync/fetch_process.py) starts faster without its import (~0.3 s)."""
    from eth_abi import decode

    return tuple(decode(types, data))


class DecodedLog(msgspec.Struct, gc=False):
    """One decoded log with its position. ``args`` values: str (hex/text), int, bool.

    A msgspec struct (no reference cycles, so outside the garbage collector): created and pickled several times
    faster than a dataclass, which counts when a backfill's fetch process sends ~100k of them to the writer.
    """

    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    address: str
    contract: ContractKind
    event: str
    args: dict[str, Any]
    #: The raw bytes of every string field whose text in ``args`` lost something (invalid UTF-8 or NUL).
    raw: dict[str, bytes] = {}
    #: ``args`` as stored (:func:`stored_args_json`), when prepared ahead: the backfill's fetch process does it,
    #: so the writer does not.
    args_json: str | None = None


def json_args(args: dict[str, Any]) -> dict[str, Any]:
    """An event's args as stored in ``events.args`` and ``changes.args``: integers as decimal strings."""
    return {k: (str(v) if type(v) is int else v) for k, v in args.items()}  # bool is not int here


_args_encoder = msgspec.json.Encoder()


def stored_args_json(args: dict[str, Any]) -> str:
    """:func:`json_args` as JSON text, several times faster than ``json.dumps`` (compact, UTF-8 kept as is: the
    same value once parsed)."""
    return _args_encoder.encode(json_args(args)).decode()


class UnknownLog(Dm3Error, ValueError):
    """A log the filter returned that matches no known event (a different contract or a spec mismatch)."""


def _topic_value(kind: str, topic: str) -> Any:
    if kind == "address":
        return "0x" + topic[-40:].lower()
    if kind == "bool":
        return int(topic, 16) != 0
    if kind.startswith("uint"):
        return int(topic, 16)
    # bytes32, and dynamic types (string/bytes), whose topic is keccak(value).
    return topic.lower()


def _data_value(kind: str, value: Any) -> Any:
    if kind == "address":
        return value.lower()
    if kind in ("bytes", "bytes32"):
        return "0x" + value.hex()
    if kind == "string":
        return text_value(value.encode() if isinstance(value, str) else value)
    return value


def text_value(raw: bytes) -> str:
    """A string field as the store keeps it. The contracts take any bytes as a `string` (a text key or value, a
    primary name), so one user could otherwise stop indexing for everyone: invalid UTF-8 becomes U+FFFD, and so
    does NUL, which PostgreSQL text columns refuse."""
    return raw.decode("utf-8", "replace").replace("\x00", "\ufffd")


def _lossy_strings(spec: EventSpec, data: bytes) -> dict[str, bytes]:
    """The raw bytes of the string fields of ``data`` that :func:`text_value` cannot keep (rare: re-decoded)."""
    values = abi_decode(["bytes" if t == "string" else t for t in spec.data_types], data)
    return {
        name: value
        for (name, kind), value in zip(spec.data_fields, values, strict=True)
        if kind == "string" and text_value(value).encode() != value
    }


class _NotCanonical(ValueError):
    """The data is not in the canonical encoding the fast path reads (eth_abi decides)."""


DataDecoder = Callable[[bytes], dict[str, Any]]
_ZERO_PADDING = bytes(12)


def _word_decoder(kind: str, start: int) -> Callable[[bytes, int], Any]:
    """The decoder of one data field of ``kind`` whose head word starts at byte ``start``: ``(data, size) ->
    value``, raising ``_NotCanonical`` on anything the fast path does not read."""
    end = start + 32
    if kind == "uint256":
        return lambda data, size: int.from_bytes(data[start:end], "big")
    if kind == "address":

        def address(data: bytes, size: int) -> str:
            if data[start : start + 12] != _ZERO_PADDING:
                raise _NotCanonical("dirty address padding")
            return "0x" + data[start + 12 : end].hex()

        return address
    if kind == "bool":

        def boolean(data: bytes, size: int) -> bool:
            value = int.from_bytes(data[start:end], "big")
            if value > 1:
                raise _NotCanonical("bool out of range")
            return value == 1

        return boolean
    if kind == "bytes32":
        return lambda data, size: "0x" + data[start:end].hex()
    if kind in ("string", "bytes"):
        text = kind == "string"

        def dynamic(data: bytes, size: int) -> str:
            offset = int.from_bytes(data[start:end], "big")
            if offset + 32 > size:
                raise _NotCanonical("offset out of bounds")
            length = int.from_bytes(data[offset : offset + 32], "big")
            stop = offset + 32 + length
            if stop > size:
                raise _NotCanonical("length out of bounds")
            raw = data[offset + 32 : stop]
            if not text:
                return "0x" + raw.hex()
            try:
                value = raw.decode()
            except UnicodeDecodeError:
                return text_value(raw)
            return value.replace("\x00", "\ufffd") if "\x00" in value else value

        return dynamic
    raise _NotCanonical(f"type {kind} not in the fast path")


def _data_decoder(spec: EventSpec) -> DataDecoder:
    """The fast decoder of ``spec``'s data: one specialised function per field, built once per event."""
    fields = [(name, _word_decoder(kind, 32 * i)) for i, (name, kind) in enumerate(spec.data_fields)]
    minimum = 32 * len(fields)

    def decode(data: bytes) -> dict[str, Any]:
        size = len(data)
        if size < minimum:
            raise _NotCanonical("data too short")
        return {name: field(data, size) for name, field in fields}

    return decode


def _unsupported(reason: str) -> DataDecoder:
    def decode(data: bytes) -> dict[str, Any]:
        raise _NotCanonical(reason)

    return decode


def _make_data_decoder(spec: EventSpec) -> DataDecoder:
    try:
        return _data_decoder(spec)
    except _NotCanonical as exc:  # a type outside the fast path: every log of it goes to eth_abi
        return _unsupported(str(exc))


_DATA_DECODERS: dict[str, DataDecoder] = {}


def decode_data(spec: EventSpec, data: bytes) -> dict[str, Any]:
    """Decode a log's data for the few ABI types our events use, without eth_abi's generic machinery.

    Far faster than ``eth_abi.decode`` here (one specialised function per field, built once per event), which
    matters at 10k+ events/s. Same results: a property test compares both on random encodings
    (tests/chain/test_event_abi.py). Anything unexpected (padding, bounds) raises ``_NotCanonical`` and the caller
    falls back to eth_abi.
    """
    decoder = _DATA_DECODERS.get(spec.signature)
    if decoder is None:
        decoder = _DATA_DECODERS[spec.signature] = _make_data_decoder(spec)
    return decoder(data)


def decode_data_reference(spec: EventSpec, data: bytes) -> dict[str, Any]:
    """The same decoding through eth_abi (the reference the fast path is tested against)."""
    values = abi_decode(spec.data_types, data)
    return {
        name: _data_value(kind, value)
        for name, kind, value in zip(spec.data_names, spec.data_types, values, strict=True)
    }


def _topic_decoder(kind: str) -> Callable[[str], Any]:
    """:func:`_topic_value` for one ``kind``, chosen once per event field."""
    if kind == "address":
        return lambda topic: "0x" + topic[-40:].lower()
    if kind == "bool" or kind.startswith("uint"):
        return lambda topic: _topic_value(kind, topic)
    return str.lower  # bytes32, and dynamic types (string/bytes), whose topic is keccak(value)


@dataclass(frozen=True, slots=True)
class _EventDecoder:
    """Everything :meth:`LogDecoder.decode` needs for one (address, topic0), built on first sight."""

    spec: EventSpec
    address: str  # lowercase
    topics: tuple[tuple[str, Callable[[str], Any]], ...]
    data: DataDecoder | None
    strings: tuple[str, ...]  # data fields of type string (checked for lost bytes)


#: Hashes :class:`LogDecoder` keeps to share (then it starts again): a few chunks' worth of blocks and transactions.
_SHARED_HASHES = 65_536


class LogDecoder:
    """Decodes raw ``eth_getLogs`` entries of known contracts (by address and topic0)."""

    def __init__(self, contracts: dict[str, ContractKind]) -> None:
        """``contracts``: contract address (any case) -> kind."""
        self._by_address = {address.lower(): SPECS[kind] for address, kind in contracts.items()}
        # By (address, topic0) as the node spells them.
        self._decoders: dict[tuple[str, str], _EventDecoder] = {}
        # Block and transaction hashes as the node spells them -> one lowercase string each: the logs of one
        # block or transaction share it (less memory, and pickled once per chunk).
        self._hashes: dict[str, str] = {}

    def _hash(self, value: str) -> str:
        found = self._hashes.get(value)
        if found is None:
            if len(self._hashes) >= _SHARED_HASHES:
                self._hashes.clear()
            found = self._hashes[value] = value.lower()
        return found

    def _decoder(self, address: str, topics: list[str]) -> _EventDecoder:
        found = self._decoders.get((address, topics[0])) if topics else None
        if found is not None:
            return found
        lower = address.lower()
        specs = self._by_address.get(lower)
        spec = specs.get(topics[0].lower()) if specs and topics else None
        if spec is None:
            raise UnknownLog(f"unknown log at {lower} topics={topics}")
        found = _EventDecoder(
            spec=spec,
            address=lower,
            topics=tuple((name, _topic_decoder(kind)) for name, kind in spec.indexed),
            data=_make_data_decoder(spec) if spec.data_types else None,
            strings=tuple(name for name, kind in spec.data_fields if kind == "string"),
        )
        self._decoders[(address, topics[0])] = found
        return found

    def decode(self, log: dict[str, Any]) -> DecodedLog:
        topics = log["topics"]
        decoder = self._decoder(log["address"], topics)
        spec = decoder.spec
        if len(topics) != len(decoder.topics) + 1:
            raise UnknownLog(f"unknown log at {decoder.address} topics={topics}")
        raw: dict[str, bytes] = {}
        args: dict[str, Any] = {
            name: value(topic) for (name, value), topic in zip(decoder.topics, topics[1:], strict=True)
        }
        if decoder.data is not None:
            data = bytes.fromhex(log["data"][2:])
            try:
                args.update(decoder.data(data))
            except _NotCanonical:  # let eth_abi judge (and word) anything unusual
                string_types = ["bytes" if t == "string" else t for t in spec.data_types]
                values = abi_decode(string_types, data)  # strings as bytes: decoded by text_value
                for name, kind, value in zip(spec.data_names, spec.data_types, values, strict=True):
                    args[name] = text_value(value) if kind == "string" else _data_value(kind, value)
            if any("\ufffd" in args[name] for name in decoder.strings):
                raw = _lossy_strings(spec, data)
        return DecodedLog(
            block_number=int(log["blockNumber"], 16),
            block_hash=self._hash(log["blockHash"]),
            tx_hash=self._hash(log["transactionHash"]),
            log_index=int(log["logIndex"], 16),
            address=decoder.address,
            contract=spec.contract,
            event=spec.name,
            args=args,
            raw=raw,
        )
