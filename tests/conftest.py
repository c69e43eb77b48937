"""Suite-wide settings: hypothesis profiles and the shared dm3 vectors."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import text

# `default` keeps the whole suite within its CI budget on 2 cores; `deep` runs long campaigns on demand:
#   HYPOTHESIS_PROFILE=deep make test PYTEST_ARGS="-k stateful"
settings.register_profile(
    "default",
    max_examples=25,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "deep",
    max_examples=400,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# ape-vyper asks vvm for a vyper binary; the Makefile points it at the pip-installed one. Do the same when the
# suite is started with plain `ape test`.
_VVM = Path(__file__).resolve().parent.parent / ".vvm"
if _VVM.is_dir():
    os.environ.setdefault("VVM_BINARY_PATH", str(_VVM))

VECTORS_PATH = Path(__file__).parent / "data" / "dm3-profile.json"


@pytest.fixture(scope="session")
def dm3_vectors() -> dict:
    """Profiles, messages and signatures produced by dm3's own library (@dm3-org/dm3-lib-profile 1.7.1)."""
    return json.loads(VECTORS_PATH.read_text())


PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema per test (dropped afterwards), on the server named by DM3_TEST_DATABASE_URL
    (CI sets it); skips, with the reason, only when no server answers."""
    from indexer.store.db import create_db_engine

    base = os.environ.get("DM3_TEST_DATABASE_URL", PG_DEFAULT)
    admin = create_db_engine(base, role="writer")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any connection failure means: no server to test against
        admin.dispose()
        pytest.skip(f"PostgreSQL at {base} unreachable ({type(exc).__name__}); set DM3_TEST_DATABASE_URL")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
