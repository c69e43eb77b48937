"""pytest fixtures shared by several test directories; a directory's conftest.py imports the ones it uses.

The devnet group (the chain, sync, store and CLI tests): `compiled` (ABI and bytecode of the dm3 contracts, from
ape's build), `anvil` (a fresh anvil per test), `devnet` (the contracts deployed on it, accounts funded) and
`sqlite_url`. The API group (the api, gateway and client tests): `db_url` (a migrated SQLite file), `writer` (its
engine), `seed` (insert rows), `chains` (an OP and a Base chain row), `api_settings` and `client` (the app with a
gateway signer, through ASGI).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from harness.api import BASE_CHAIN_ID, GATEWAY_ACCOUNT, OP_CHAIN_ID, chain_row
from harness.devnet import Anvil, Devnet, contract_types
from indexer.api.main import create_app
from indexer.gateway.signer import GatewaySigner
from indexer.settings.api import ApiSettings
from indexer.settings.gateway import GatewaySettings
from indexer.store.db import create_db_engine
from indexer.store.migrate import alembic_config, upgrade

# --- devnet ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def compiled(project: Any) -> dict[str, dict[str, Any]]:
    return contract_types(project)


@pytest.fixture
def anvil() -> Iterator[Anvil]:
    node = Anvil(chain_id=31_010)
    yield node
    node.stop()


@pytest.fixture
def devnet(anvil: Anvil, compiled: dict[str, dict[str, Any]]) -> Devnet:
    net = Devnet(anvil, compiled)
    net.fund()
    return net


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path}/dm3.db"


# --- API -------------------------------------------------------------------------------------------------------


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
    return ApiSettings(database_url=db_url, gateway=GatewaySettings(ttl_seconds=300))


@pytest.fixture
def client(api_settings: ApiSettings, writer: Engine) -> Iterator[TestClient]:
    signer = GatewaySigner(GATEWAY_ACCOUNT, ttl_seconds=api_settings.gateway.ttl_seconds)
    app = create_app(api_settings, signer=signer)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    app.state.engine.dispose()


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema of ``engine``'s database down to ``revision`` (the migration tests' way back)."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
