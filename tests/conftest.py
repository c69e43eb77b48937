"""Suite-wide settings: hypothesis profiles and the shared dm3 vectors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

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
