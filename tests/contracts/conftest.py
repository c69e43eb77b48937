"""Fixtures shared by every contract suite."""

from __future__ import annotations

import pytest
from ape.exceptions import TransactionError
from ape_ethereum.trace import Trace


@pytest.fixture(scope="session", autouse=True)
def _plain_reverts():
    """Skip the revert diagnostics ape prints, which cost seconds per revert here.

    For every reverting transaction ape 0.8.51 maps each trace frame back to a Vyper source line (the
    "ape traceback") and ape-foundry 0.8.12 fetches and renders the full call tree, only for display:
    measured at 1-2 s per revert and 13 s for a reverting deployment. The revert reason `ape.reverts`
    matches comes from the RPC error, not from either.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransactionError, "_get_ape_traceback", lambda self: None)
        patch.setattr(Trace, "show", lambda self, *args, **kwargs: None)
        yield
