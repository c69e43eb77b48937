"""Concurrent `POST /v1/relay` requests are accepted in groups (one read, one JSON-RPC batch, one commit), each
checked and answered on its own; quotas hold exactly however many arrive at once; the fast path answers as the
route does."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from starlette.concurrency import run_in_threadpool

from harness.relayer import RelayEnv, user
from indexer.api.routes import relay as relay_routes
from indexer.relayer.accept import Refused, RelayService
from indexer.store.db import create_db_engine


async def _read(work: Any) -> Any:
    return await run_in_threadpool(work)


class Spied(RelayService):
    """A service as the API builds it, recording the groups it reads facts for (their signers)."""

    def __init__(self, env: RelayEnv) -> None:
        super().__init__(
            env.settings,
            reader=create_db_engine(env.db_url, role="reader"),
            writer=create_db_engine(env.db_url, role="writer"),
        )
        self.groups: list[list[str]] = []

    def group_facts(self, chain_id: int, group: list[Any]) -> Any:
        self.groups.append([item.call.signer for item in group])
        return super().group_facts(chain_id, group)

    def close(self) -> None:
        self.reader.dispose()
        self.writer.dispose()


def accept_all(services: list[Spied], bodies: list[tuple[int, dict[str, Any], str]]) -> list[Any]:
    """Each body (service index, body, client) accepted concurrently; each outcome a request or a Refused."""

    async def run() -> list[Any]:
        outcomes = await asyncio.gather(
            *(services[i].accept(body, client=client, read=_read) for i, body, client in bodies),
            return_exceptions=True,
        )
        for service in services:
            await service.aclose()
        return list(outcomes)

    return asyncio.run(run())


def primary(env: RelayEnv, n: int, **fields: Any) -> dict[str, Any]:
    return env.body("setPrimaryNameWithSig", user(n), name=f"u{n}.op.dm3.eth", **fields)


def test_group_with_one_bad_request__the_others_accepted(env: RelayEnv) -> None:
    service = Spied(env)
    bad_nonce = primary(env, 2, nonce=7)
    outcomes = accept_all(
        [service], [(0, primary(env, 1), "a"), (0, bad_nonce, "a"), (0, primary(env, 3), "a")]
    )
    service.close()
    assert len(service.groups[0]) == 3  # one group: its read, batch and commit shared
    assert isinstance(outcomes[1], Refused) and outcomes[1].status == 409
    assert "is not" in outcomes[1].message and "next nonce" in outcomes[1].message
    accepted = [o for o in outcomes if not isinstance(o, BaseException)]
    assert [o.signer for o in accepted] == [user(1).address.lower(), user(3).address.lower()]
    assert sorted(r["signer"] for r in env.requests()) == sorted(o.signer for o in accepted)
    for request in accepted:  # and they are carried
        assert env.until(request.id, "mined")["state"] == "mined"


def test_two_requests_of_one_signer__second_in_a_later_group(env: RelayEnv) -> None:
    service = Spied(env)
    signer = user(4)
    first = env.body("setPrimaryNameWithSig", signer, name="one.op.dm3.eth", nonce=0)
    second = env.body("setPrimaryNameWithSig", signer, name="two.op.dm3.eth", nonce=1)
    outcomes = accept_all([service], [(0, first, "a"), (0, second, "a"), (0, primary(env, 5), "a")])
    service.close()
    assert not any(isinstance(o, BaseException) for o in outcomes), outcomes
    # The second waited for the first's commit: it counted the first's nonce and was simulated after it.
    assert service.groups[0] == [signer.address, user(5).address]
    assert service.groups[1] == [signer.address]
    rows = [r for r in env.requests() if r["signer"] == signer.address.lower()]
    assert [r["nonce"] for r in rows] == [0, 1]
    env.until(outcomes[1].id, "mined")
    assert env.status(outcomes[0].id)["state"] == "mined"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_quotas_exact_under_concurrency(make_env: Any, request: Any, backend: str) -> None:
    """Two services (as two API processes) and one client over its quota: every request passes the facts check
    (none is queued yet), and the commits still queue exactly the quota."""
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    env = make_env(url, client_quota=3)
    services = [Spied(env), Spied(env)]
    bodies = [(n % 2, primary(env, 10 + n), "same-client") for n in range(6)]
    bodies.append((0, primary(env, 20), "other-client"))
    outcomes = accept_all(services, bodies)
    for service in services:
        service.close()
    assert all(len(s.groups) == 1 for s in services)  # all of them concurrent, in one group per service
    refusals = [o for o in outcomes[:6] if isinstance(o, Refused)]
    assert len(refusals) == 3, outcomes
    assert {r.status for r in refusals} == {429} and all(
        r.retry_after and r.retry_after > 0 for r in refusals
    )
    assert all("this client reached its quota of 3" in r.message for r in refusals)
    assert not isinstance(outcomes[6], BaseException)  # another client is not affected
    rows = env.requests()
    assert sum(r["client"] == "same-client" for r in rows) == 3
    assert sum(r["client"] == "other-client" for r in rows) == 1


def test_pending_cap_exact_under_concurrency(make_env: Any) -> None:
    """Two processes each with a request of the same signer, both with the same facts: the cap still holds."""
    env = make_env(max_pending_per_signer=1)
    services = [Spied(env), Spied(env)]
    signer = user(30)
    first = env.body("setPrimaryNameWithSig", signer, name="a.op.dm3.eth", nonce=0)
    other = env.body("setPrimaryNameWithSig", signer, name="b.op.dm3.eth", nonce=0)
    outcomes = accept_all(services, [(0, first, "a"), (1, other, "b")])
    for service in services:
        service.close()
    assert len(env.requests()) == 1
    refused = [o for o in outcomes if isinstance(o, Refused)]
    assert len(refused) == 1 and refused[0].status in (409, 429), outcomes


def _route(env: RelayEnv, body: dict[str, Any]) -> Any:
    """The FastAPI route itself: the fast path told the body is not JSON hands it on (the route decides anew)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(relay_routes, "json_body", lambda scope: False)
        return env.client.post(
            "/v1/relay", content=json.dumps(body).encode(), headers={"content-type": "application/dm3+json"}
        )


def test_fast_path_answers_as_the_route(env: RelayEnv) -> None:
    cases = [
        primary(env, 40, nonce=3),  # 409
        primary(env, 41, deadline=1),  # 422 deadline
        {**primary(env, 42), "chain_id": 5},  # 404
        {**primary(env, 43), "bogus": 1},  # 422 unknown field
    ]
    for body in cases:
        fast, route = env.post(body), _route(env, body)
        assert (fast.status_code, fast.content) == (route.status_code, route.content)
        assert fast.headers.get("retry-after") == route.headers.get("retry-after")
        assert fast.headers["content-type"] == route.headers["content-type"]
    fast, route = env.post(primary(env, 44)), _route(env, primary(env, 45))
    assert fast.status_code == route.status_code == 202
    a, b = fast.json(), route.json()
    assert list(a) == list(b) and a["signer"] == user(44).address and b["signer"] == user(45).address
    assert fast.content == route.content.replace(b["id"].encode(), a["id"].encode()).replace(
        user(45).address.encode(), user(44).address.encode()
    )
    # A body that is not a JSON object goes on to the route (its validation error).
    response = env.client.post("/v1/relay", content=b"[1]", headers={"content-type": "application/json"})
    assert response.status_code == 422 and "message" in response.json()


def test_fast_path_retry_after(make_env: Any) -> None:
    env = make_env(signer_quota=1)
    signer = user(50)
    assert env.post(env.body("setPrimaryNameWithSig", signer, name="a.op.dm3.eth")).status_code == 202
    over = env.body("setPrimaryNameWithSig", signer, name="b.op.dm3.eth", nonce=1)
    fast, route = env.post(over), _route(env, over)
    assert fast.status_code == route.status_code == 429
    assert fast.content == route.content and int(fast.headers["retry-after"]) > 0


def test_group_size_bounded(make_env: Any) -> None:
    env = make_env(accept_group_max=2)
    service = Spied(env)
    outcomes = accept_all([service], [(0, primary(env, 60 + n), "a") for n in range(3)])
    service.close()
    assert not any(isinstance(o, BaseException) for o in outcomes), outcomes
    assert sorted(len(group) for group in service.groups) == [1, 2]
    assert len(env.requests()) == 3
