"""The events the indexer consumes (docs/events.md), as ABI data, and a lean log decoder.

No contract objects: each event is a fragment; topic0 is keccak(signature) computed once; a log is decoded by
one dict lookup on (address, topic0), slicing indexed topics and one ``eth_abi.decode`` of the data.
Decoded values are JSON-safe and canonical: addresses lowercase hex, bytes/bytes32 ``0x`` hex, uint256 as int.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from eth_abi import decode as abi_decode
from eth_utils import keccak

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

    @classmethod
    def from_fragment(cls, contract: ContractKind, fragment: dict[str, Any]) -> EventSpec:
        inputs = fragment["inputs"]
        signature = f"{fragment['name']}({','.join(t for _, t, _ in inputs)})"
        return cls(
            contract=contract,
            name=fragment["name"],
            signature=signature,
            topic0="0x" + keccak(text=signature).hex(),
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


@dataclass(slots=True)
class DecodedLog:
    """One decoded log with its position. ``args`` values: str (hex/text), int, bool."""

    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    address: str
    contract: ContractKind
    event: str
    args: dict[str, Any]


class UnknownLog(ValueError):
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
    return value


class LogDecoder:
    """Decodes raw ``eth_getLogs`` entries of known contracts (by address and topic0)."""

    def __init__(self, contracts: dict[str, ContractKind]) -> None:
        """``contracts``: contract address (any case) -> kind."""
        self._by_address = {address.lower(): SPECS[kind] for address, kind in contracts.items()}

    def decode(self, log: dict[str, Any]) -> DecodedLog:
        address = log["address"].lower()
        topics = log["topics"]
        specs = self._by_address.get(address)
        spec = specs.get(topics[0].lower()) if specs and topics else None
        if spec is None or len(topics) != len(spec.indexed) + 1:
            raise UnknownLog(f"unknown log at {address} topics={topics}")
        args: dict[str, Any] = {
            name: _topic_value(kind, topic)
            for (name, kind), topic in zip(spec.indexed, topics[1:], strict=True)
        }
        if spec.data_types:
            data = bytes.fromhex(log["data"][2:])
            values = abi_decode(spec.data_types, data)
            for name, kind, value in zip(spec.data_names, spec.data_types, values, strict=True):
                args[name] = _data_value(kind, value)
        return DecodedLog(
            block_number=int(log["blockNumber"], 16),
            block_hash=log["blockHash"].lower(),
            tx_hash=log["transactionHash"].lower(),
            log_index=int(log["logIndex"], 16),
            address=address,
            contract=spec.contract,
            event=spec.name,
            args=args,
        )
