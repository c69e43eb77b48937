"""A chain's parent name must be in ENSIP-15 normal form: the registry's nodes are namehashes of normal forms, so
`OP.dm3.eth` would index every name under a parent node nobody asks for."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from indexer.settings.indexer import ChainConfig


def _chain(parent_name: str) -> ChainConfig:
    return ChainConfig(name="op", chain_id=10, rpc_url="http://127.0.0.1:1", parent_name=parent_name)


@pytest.mark.parametrize("parent_name", ["", "op.dm3.eth"])
def test_parent_name__normal_form__accepted(parent_name):
    assert _chain(parent_name).parent_name == parent_name


@pytest.mark.parametrize("parent_name", ["OP.dm3.eth", "op_x.dm3.eth", "op..eth", "op.dm3.eth\ud800"])
def test_parent_name__not_normal__refused(parent_name):
    with pytest.raises(ValidationError, match="ENSIP-15 normal form"):
        _chain(parent_name)
