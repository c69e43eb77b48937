"""indexer.signing restates every signed write's EIP-712 struct: each entry must match its contract's type hash (the
keccak of the type string in the contract source) and name a function of the contract's ABI, and every signed function
of the ABI must have an entry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from indexer.signing import DOMAIN_NAMES, SIGNED_FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("contract", sorted(DOMAIN_NAMES))
def test_signing_table__matches_the_contract(project, contract):
    source = (ROOT / "contracts" / f"{contract}.vy").read_text()
    type_strings = set(re.findall(r'keccak256\(\s*"([A-Za-z]+\([^"]*\))"\s*\)', source))
    abi = {item.name for item in getattr(project, contract).contract_type.abi if item.type == "function"}
    signed_in_abi = {name for name in abi if name.endswith(("WithSig", "_with_sig"))}
    entries = {name: spec for name, spec in SIGNED_FUNCTIONS.items() if spec.contract == contract}

    assert set(entries) == signed_in_abi
    for spec in entries.values():
        assert spec.type_string in type_strings, spec.type_string
        assert (spec.signer_field, "address") in spec.fields
    assert f'"{DOMAIN_NAMES[contract]}"' in source
