"""API test fixtures: a migrated SQLite database, a writer session to seed it, the app and a client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from api_support import BASE_CHAIN_ID, GATEWAY_ACCOUNT, OP_CHAIN_ID, chain_row
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from indexer.api.main import create_app
from indexer.gateway.signer import GatewaySigner
from indexer.settings.api import ApiSettings
from indexer.settings.gateway import GatewaySettings
from indexer.store.db import create_db_engine
from indexer.store.migrate import upgrade


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'api.db'}"


@pytest.fixture
def writer(db_url: str) -> Iterator[Engine]:
    engine = create_db_engine(db_url, role="writer")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def seed(writer: Engine) -> Callable[..., None]:
    """Insert (merge) rows in one committed transaction."""

    def _seed(*rows: SQLModel) -> None:
        with Session(writer) as session:
            for row in rows:
                session.merge(row)
            session.commit()

    return _seed


@pytest.fixture
def chains(seed: Callable[..., None]) -> None:
    seed(chain_row(OP_CHAIN_ID, "op.dm3.eth"), chain_row(BASE_CHAIN_ID, "base.dm3.eth"))


@pytest.fixture
def api_settings(db_url: str) -> ApiSettings:
    # The in-memory eligibility state follows the change feed, and these tests seed rows directly (no change
    # rows): it is off here and on in the tests that exercise it (test_fastpath, test_eligibility_state).
    return ApiSettings(database_url=db_url, gateway=GatewaySettings(ttl_seconds=300), memory_state=False)


@pytest.fixture
def client(api_settings: ApiSettings, writer: Engine) -> Iterator[TestClient]:
    signer = GatewaySigner(GATEWAY_ACCOUNT, ttl_seconds=api_settings.gateway.ttl_seconds)
    app = create_app(api_settings, signer=signer)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    app.state.engine.dispose()
