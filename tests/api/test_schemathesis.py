"""Schemathesis against the app's own OpenAPI schema, through ASGI (no server), on a seeded SQLite database.

Every route in the schema (GET and POST, the CCIP gateway included) gets generated inputs, valid and invalid; every
answer must be below 500, use a status code the schema documents for that route, and conform to the response model
declared for it (4xx bodies included). Schema-driven strings almost never name a seeded row, so hooks mix in values
that do (known addresses and names, real `resolve()` calldata, and mutations of it): the fixture's teardown fails
the test if any route never answered 200 (the found-data paths were not exercised).

The change feed is covered too: the SSE stream is read by schemathesis' bounded client (up to its event limit or
the read timeout, whichever comes first; the stream is cut there) and long polls wait at most a fraction of that
(`ChangesSettings.max_wait`), so every call ends.

The number of examples comes from the loaded hypothesis profile (`default` or `deep`, tests/conftest.py).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from eth_abi import encode
from eth_utils import to_checksum_address
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from harness.api import BASE_CHAIN_ID, GATEWAY_ACCOUNT, OP_CHAIN_ID, RESOLVER, chain_row
from indexer.api.main import create_app
from indexer.api.queries.deposits import encode_cursor
from indexer.gateway.codec import (
    ADDR_COIN_SELECTOR,
    ADDR_SELECTOR,
    CONTENTHASH_SELECTOR,
    MULTICALL_SELECTOR,
    RESOLVE_SELECTOR,
    TEXT_SELECTOR,
    encode_dns_name,
    namehash,
)
from indexer.gateway.signer import GatewaySigner
from indexer.settings.api import ApiSettings, ChangesSettings
from indexer.settings.relayer import RelayChain, RelayerSettings
from indexer.store.models import (
    AddrRecord,
    Bond,
    BondHistory,
    Change,
    Contenthash,
    MinDeposit,
    Name,
    PrimaryName,
    TextRecord,
)
from indexer.store.projection import CHANGE_KINDS

pytestmark = pytest.mark.usefixtures("chains")

S = "0x" + "a1" * 20
R = "0x" + "b2" * 20
ALICE = "0x3e4a844373e4d1bdf8e21df3ae195cf2aa7eeb57"  # dm3 vector 0's address
PARENT = "op.dm3.eth"
ALICE_NAME = f"alice.{PARENT}"

ADDRESSES = [S, R, ALICE, to_checksum_address(ALICE), "0x" + "00" * 20, "0x" + "c3" * 20]
NAMES = [
    ALICE_NAME,
    "ALICE.op.dm3.eth",
    f"{S[2:]}.addr.base.dm3.eth",
    f"{ALICE[2:]}.addr.{PARENT}",
    f"nobody.{PARENT}",
    PARENT,
    "alice.eth",
]
TARGETS = ADDRESSES + NAMES
# Mostly values that have a profile, so the teardown's "every route answered 200" check cannot miss by chance.
PROFILE_NAMES = [ALICE_NAME, "ALICE.op.dm3.eth", f"{ALICE[2:]}.addr.{PARENT}", f"nobody.{PARENT}"]
PROFILE_ADDRESSES = [ALICE, to_checksum_address(ALICE), ALICE, S]
CHAIN_IDS = [OP_CHAIN_ID, BASE_CHAIN_ID, 1]
FINALITIES = ["latest", "safe", "finalized"]
TEXT_KEYS = ["network.dm3.profile", "url", "missing", ""]
COIN_TYPES = [60, 0, 0x8000_0000, 0x8000_000A, 2**256 - 1]
CHANGE_FEED = "/v1/changes"
# The client's read timeout per call: an SSE stream is cut there (schemathesis keeps the events read so far).
READ_TIMEOUT = 1.0


def _node(name: str) -> str:
    return "0x" + namehash(name).hex()


@pytest.fixture
def seeded(seed: Callable[..., None], dm3_vectors: dict[str, Any]) -> None:
    """A few names, records and bonds on both chains, so generated requests also reach the found-data paths."""
    vector = dm3_vectors["vectors"][0]
    assert vector["address"].lower() == ALICE
    alice_node, address_node = _node(ALICE_NAME), _node(f"{ALICE[2:]}.addr.{PARENT}")

    def history(i: int, kind: str, *, sender: str, amount: int) -> BondHistory:
        return BondHistory(
            chain_id=OP_CHAIN_ID,
            tx_hash="0x" + f"{i:064x}",
            log_index=i,
            block_number=40 + i,
            sender=sender,
            recipient=R,
            kind=kind,
            amount=amount,
            bond_after=amount,
        )

    seed(
        # A fresh write (an old one would make the chain stale and /ready 503), at a whole second.
        chain_row(BASE_CHAIN_ID, "base.dm3.eth", updated_at=datetime.now(UTC).replace(microsecond=0)),
        Name(
            chain_id=OP_CHAIN_ID,
            node=alice_node,
            label="alice",
            parent_node=_node(PARENT),
            name=ALICE_NAME,
            owner=ALICE,
            block_number=60,
        ),
        TextRecord(
            chain_id=OP_CHAIN_ID,
            node=alice_node,
            key="network.dm3.profile",
            value=vector["recordValue"],
            block_number=60,
        ),
        TextRecord(
            chain_id=OP_CHAIN_ID, node=alice_node, key="url", value="https://a.example", block_number=95
        ),
        TextRecord(
            chain_id=OP_CHAIN_ID,
            node=address_node,
            key="network.dm3.deliveryService",
            value='data:application/json,{"url":"https://ds.example"}',
            block_number=61,
        ),
        AddrRecord(chain_id=OP_CHAIN_ID, node=alice_node, coin_type=60, address=ALICE, block_number=60),
        AddrRecord(chain_id=OP_CHAIN_ID, node=alice_node, coin_type=0, address="0x00141234", block_number=60),
        Contenthash(chain_id=OP_CHAIN_ID, node=alice_node, hash="0xe301" + "42" * 34, block_number=60),
        PrimaryName(chain_id=OP_CHAIN_ID, account=ALICE, name=ALICE_NAME, block_number=61),
        MinDeposit(chain_id=OP_CHAIN_ID, recipient=R, amount=100, block_number=50),
        MinDeposit(chain_id=BASE_CHAIN_ID, recipient=ALICE, amount=10**30, block_number=95),
        Bond(chain_id=OP_CHAIN_ID, sender=S, recipient=R, amount=150, block_number=50),
        Bond(chain_id=OP_CHAIN_ID, sender=ALICE, recipient=R, amount=5, accepted=True, block_number=70),
        Bond(
            chain_id=BASE_CHAIN_ID,
            sender=S,
            recipient=ALICE,
            amount=2**255,
            unlock_time=2**40,
            block_number=99,
        ),
        history(1, "deposit", sender=S, amount=150),
        history(2, "burn", sender=S, amount=7),
        history(3, "release", sender=ALICE, amount=5),
        *[_change(i, event) for i, event in enumerate(["Deposited", "Burned", "TextChanged"], start=1)],
        _relay_change(4, "queued", block=None),
        _relay_change(5, "mined", block=47),
    )


def _change(i: int, event: str) -> Change:
    pair = {"sender": S, "recipient": R} if event != "TextChanged" else {"node": _node(ALICE_NAME)}
    return Change(
        id=i,
        action="apply",
        chain_id=OP_CHAIN_ID,
        block_number=40 + i,
        block_hash="0x" + f"{i:064x}",
        tx_hash="0x" + f"{i:064x}",
        log_index=i,
        event=event,
        kind=CHANGE_KINDS[event],
        args={"amount": "7"} if event != "TextChanged" else {"key": "url"},
        **pair,
    )


def _relay_change(i: int, state: str, *, block: int | None) -> Change:
    """A relay request's state in the feed, as `indexer/relayer/feed.py` writes it (no log; no block until mined)."""
    return Change(
        id=i,
        action="relay",
        chain_id=OP_CHAIN_ID,
        block_number=block,
        block_hash=None if block is None else "0x" + f"{block:064x}",
        tx_hash=None if block is None else "0x" + "99" * 32,
        event=state,
        kind="relay",
        sender=S,
        recipient=R,
        signer=R,
        args={"id": "r1", "function": "burn_with_sig", "error": None, "reorg": False},
    )


# --- strategies that reach seeded rows ----------------------------------------------------------------------------


def _record_call(node: bytes, *, junk: bool) -> st.SearchStrategy[bytes]:
    calls = [
        st.sampled_from(TEXT_KEYS).map(
            lambda key: TEXT_SELECTOR + encode(["bytes32", "string"], [node, key])
        ),
        st.just(ADDR_SELECTOR + encode(["bytes32"], [node])),
        st.sampled_from(COIN_TYPES).map(
            lambda coin: ADDR_COIN_SELECTOR + encode(["bytes32", "uint256"], [node, coin])
        ),
        st.just(CONTENTHASH_SELECTOR + encode(["bytes32"], [node])),
    ]
    if junk:
        calls.append(st.binary(min_size=0, max_size=40))  # unknown selectors and short calls
    return st.one_of(*calls)


@st.composite
def _resolve_calldata(draw: st.DrawFn) -> str:
    """`resolve(dnsName, call)` for served names, single calls and multicalls: well formed three times in four
    (a signed answer), else with unknown names, foreign nodes, junk calls, truncation or trailing bytes."""
    served = [ALICE_NAME, f"{ALICE[2:]}.addr.{PARENT}", f"nobody.{PARENT}"]
    junk = draw(st.integers(0, 3)) == 0
    name = draw(st.sampled_from([*served, "alice.eth"] if junk else served))
    node = namehash(name)
    if junk and draw(st.booleans()):
        node = draw(st.binary(min_size=32, max_size=32))  # a call whose node is not the name's
    if draw(st.booleans()):
        inner = draw(_record_call(node, junk=junk))
    else:
        calls = draw(st.lists(_record_call(node, junk=junk), min_size=0, max_size=4))
        inner = MULTICALL_SELECTOR + encode(["bytes[]"], [calls])
    data = RESOLVE_SELECTOR + encode(["bytes", "bytes"], [encode_dns_name(name), inner])
    damage = draw(st.sampled_from(["none", "truncate", "append"])) if junk else "none"
    if damage == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif damage == "append":
        data += draw(st.binary(min_size=1, max_size=40))
    return "0x" + data.hex()


def _pairs() -> st.SearchStrategy[list[dict[str, str]]]:
    pair = st.fixed_dictionaries({"sender": st.sampled_from(TARGETS), "recipient": st.sampled_from(TARGETS)})
    return st.lists(pair, min_size=0, max_size=12)


def _eligibility_query() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"sender": st.sampled_from(TARGETS), "recipient": st.sampled_from(TARGETS)},
        optional={"chain_id": st.sampled_from(CHAIN_IDS), "min_finality": st.sampled_from(FINALITIES)},
    )


def _deposits_query() -> st.SearchStrategy[dict[str, Any]]:
    cursors = [encode_cursor(Bond(chain_id=OP_CHAIN_ID, sender=S, recipient=R, amount=0, block_number=0))]
    return st.fixed_dictionaries(
        {"recipient": st.sampled_from(ADDRESSES)},
        optional={
            "sender": st.sampled_from(ADDRESSES),
            "chain_id": st.sampled_from(CHAIN_IDS),
            "limit": st.integers(1, 3),
            "cursor": st.sampled_from(cursors),
        },
    )


def _changes_query() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "cursor": st.integers(0, 4),
            "chain_id": st.sampled_from(CHAIN_IDS),
            "sender": st.sampled_from(ADDRESSES),
            "recipient": st.sampled_from(ADDRESSES),
            "kinds": st.sampled_from(
                ["deposit", "burn,text", "deposit,release,min_deposit", "relay", "burn,relay"]
            ),
            "signer": st.sampled_from(ADDRESSES),
            "timeout": st.sampled_from([0, 0.1]),
            "limit": st.integers(1, 3),
        },
    )


def _seeded_query(path: str) -> st.SearchStrategy[dict[str, Any]] | None:
    return {
        "/v1/eligibility": _eligibility_query,
        "/v1/deposits": _deposits_query,
        CHANGE_FEED: _changes_query,
        f"{CHANGE_FEED}/poll": _changes_query,
    }.get(path, lambda: None)()


def _seeded_path_parameters(path: str) -> st.SearchStrategy[dict[str, Any]] | None:
    if path == "/v1/profiles/{name}":
        return st.fixed_dictionaries({"name": st.sampled_from(PROFILE_NAMES)})
    if path == "/v1/addresses/{address}/profile":
        return st.fixed_dictionaries({"address": st.sampled_from(PROFILE_ADDRESSES)})
    if path == "/v1/recipients/{address}":
        return st.fixed_dictionaries({"address": st.sampled_from(ADDRESSES)})
    if path == "/ccip/{sender}/{data}.json":
        return st.fixed_dictionaries({"sender": st.just(RESOLVER), "data": _resolve_calldata()})
    return None


def _seeded_body(method: str, path: str) -> st.SearchStrategy[Any] | None:
    if (method, path) == ("POST", "/v1/eligibility"):
        return st.fixed_dictionaries(
            {"pairs": _pairs()},
            optional={"chain_id": st.sampled_from(CHAIN_IDS), "min_finality": st.sampled_from(FINALITIES)},
        )
    if (method, path) == ("POST", "/ccip"):
        return st.fixed_dictionaries({"sender": st.just(RESOLVER), "data": _resolve_calldata()})
    return None


def _mix(value: Any, seeded: st.SearchStrategy[Any] | None) -> st.SearchStrategy[Any]:
    """The schema-generated value or, two times in three, a seeded one (only where the generated one is a
    mapping, or nothing)."""
    if seeded is None or not isinstance(value, dict | None):  # None: no parameter generated at all
        return st.just(value)
    return st.one_of(seeded, seeded, st.just(value))


@pytest.fixture
def api_schema(api_settings: ApiSettings, seeded: None) -> Iterator[schemathesis.schemas.BaseSchema]:
    # The relay routes live, on a chain whose node does not answer: every request they can tell apart without a
    # relayer process (malformed bodies, unknown ids and chains) gets its 4xx, never a 5xx.
    relayer = RelayerSettings(
        chains=[RelayChain(chain_id=OP_CHAIN_ID, rpc_url="http://127.0.0.1:9", batcher="0x" + "11" * 20)]
    )
    changes = ChangesSettings(max_wait=READ_TIMEOUT / 4)  # a long poll answers within the timeout
    settings = api_settings.model_copy(update={"relayer": relayer, "changes": changes})
    app = create_app(settings, signer=GatewaySigner(GATEWAY_ACCOUNT, ttl_seconds=300))
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)
    statuses: Counter[tuple[str, int]] = Counter()

    @loaded.hooks.hook
    def flatmap_query(ctx: schemathesis.HookContext, query: Any) -> st.SearchStrategy[Any]:
        return _mix(query, _seeded_query(ctx.operation.path))

    @loaded.hooks.hook
    def flatmap_path_parameters(ctx: schemathesis.HookContext, params: Any) -> st.SearchStrategy[Any]:
        return _mix(params, _seeded_path_parameters(ctx.operation.path))

    @loaded.hooks.hook
    def flatmap_body(ctx: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
        return _mix(body, _seeded_body(ctx.operation.method.upper(), ctx.operation.path))

    @loaded.hooks.hook
    def after_call(ctx: schemathesis.HookContext, case: schemathesis.Case, response: Any) -> None:
        statuses[(case.operation.label, response.status_code)] += 1

    yield loaded
    app.state.engine.dispose()
    operations = {
        result.ok().label
        for result in loaded.get_all_operations()
        if isinstance(result, Ok)
        # The relay routes answer 200/202 only with a chain and a relayer behind them: tests/relayer covers them;
        # here they must still never 5xx-crash and match their documented answers (503 without a relayer).
        and not result.ok().path.startswith("/v1/relay")
    }
    assert len(operations) >= 13, operations
    never_ok = sorted(label for label in operations if not statuses[(label, 200)])
    assert not never_ok, f"routes never answered 200 (seeded paths not reached): {never_ok}; {dict(statuses)}"


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_api__no_5xx_and_every_answer_matches_the_schema(case: schemathesis.Case) -> None:
    response = case.call_and_validate(
        timeout=READ_TIMEOUT,  # bounds the SSE stream (cut there), and any call
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
    if case.operation.path == CHANGE_FEED and response.status_code == 200:
        assert response.headers["content-type"][0].startswith("text/event-stream")
        events = [block for block in response.text.split("\n\n") if "event: change" in block]
        for event in events:  # every event's data is one change of the documented shape
            data = json.loads(next(line[6:] for line in event.splitlines() if line.startswith("data: ")))
            assert {"id", "action", "kind", "chain_id", "block_number", "finality"} <= data.keys(), data


# --- what the fuzzer found, pinned -------------------------------------------------------------------------------


def test_status__timestamps_carry_an_offset_on_sqlite(client):
    """SQLite returns `updated_at` naive; the schema promises RFC 3339 `date-time`, which needs an offset."""
    for chain in client.get("/v1/status").json()["data"]:
        assert datetime.fromisoformat(chain["updated_at"]).utcoffset() is not None, chain["updated_at"]


def test_eligibility_batch__body_not_json__400_is_documented(client):
    response = client.post("/v1/eligibility", content=b"\xff{", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["message"]
    documented = client.get("/openapi.json").json()["paths"]["/v1/eligibility"]["post"]["responses"]
    assert {"400", "413", "422"} <= set(documented)


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("GET", "/v1/eligibility", {"params": {"sender": S, "recipient": R, "chain_id": 2**63}}),
        ("POST", "/v1/eligibility", {"json": {"pairs": [], "chain_id": 2**63}}),
        ("GET", "/v1/deposits", {"params": {"recipient": R, "chain_id": 2**63}}),
        ("GET", f"/v1/recipients/{R}", {"params": {"chain_id": 2**63}}),
        ("GET", "/v1/eligibility", {"params": {"sender": S, "recipient": R, "chain_id": -1}}),
    ],
)
def test_chain_id_beyond_bigint__422_not_500(client, method, path, payload):
    """Chain ids are BIGINT columns: 2**63 overflowed the SQLite driver and answered 500."""
    response = client.request(method, path, **payload)
    assert response.status_code == 422, response.text
    assert "chain_id" in response.json()["message"]


def test_deposits__cursor_with_a_chain_id_beyond_bigint__422_not_500(client):
    cursor = encode_cursor(Bond(chain_id=2**70, sender=S, recipient=R, amount=0, block_number=0))
    response = client.get("/v1/deposits", params={"recipient": R, "cursor": cursor})
    assert response.status_code == 422, response.text
    assert "cursor" in response.json()["message"]
