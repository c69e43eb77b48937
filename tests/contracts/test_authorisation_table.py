"""docs/authorisation.md against the contracts: every state-changing function is listed with who may call it, every
revert reason of a contract (its own and its modules') is in its section, and every reason listed exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import snekmate

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "docs" / "authorisation.md"
CONTRACTS = (
    "ProfileRegistry",
    "InboxDeposits",
    "Dm3Token",
    "Dm3Resolver",
    "Dm3ProofVerifier",
    "Dm3AnchorVerifier",
    "RelayBatcher",
)
REASON = re.compile(r'"([a-z_0-9]+: [^"]+)"')
MODULE_REASON = re.compile(r'concat\(_PREFIX, "(: [^"]+)"\)')
CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def _sections() -> dict[str, str]:
    parts = re.split(r"^## (\w+)\s*$", TABLE.read_text(), flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _spans(text: str) -> list[str]:
    return [match.group(2).strip() for match in CODE_SPAN.finditer(text)]


def _listed_functions(section: str) -> set[str]:
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_column = line.split("|")[1]
            names |= set(_spans(first_column))
    return names


def _source_reasons(contract: str) -> set[str]:
    source = (ROOT / "contracts" / f"{contract}.vy").read_text()
    reasons = set(REASON.findall(source))
    # Modules raise with the prefix the contract gives them: `signed_calls.__init__("registry")`.
    for module, prefix in re.findall(r'(\w+)\.__init__\("([a-z_0-9]+)"\)', source):
        module_source = ROOT / "contracts" / "modules" / f"{module}.vy"
        if module_source.exists():
            reasons |= {prefix + suffix for suffix in MODULE_REASON.findall(module_source.read_text())}
    return reasons


def _snekmate_reasons() -> set[str]:
    root = Path(next(iter(snekmate.__path__)))
    return {reason for path in root.rglob("*.vy") for reason in REASON.findall(path.read_text())}


@pytest.mark.parametrize("contract", CONTRACTS)
def test_table__lists_every_state_changing_function(project, contract):
    abi = getattr(project, contract).contract_type.abi
    functions = {item.name for item in abi if item.type == "function"}
    writes = {
        item.name for item in abi if item.type == "function" and item.stateMutability not in ("view", "pure")
    }
    listed = _listed_functions(_sections()[contract])
    assert writes - listed == set(), f"{contract}: not in docs/authorisation.md"
    assert listed - functions - {"__init__", "__default__"} == set(), f"{contract}: listed but not in the ABI"


@pytest.mark.parametrize("contract", CONTRACTS)
def test_table__lists_every_revert_reason_and_only_real_ones(contract):
    listed = {span for span in _spans(_sections()[contract]) if re.match(r"^[a-z_0-9]+: ", span)}
    own = _source_reasons(contract)
    assert own - listed == set(), f"{contract}: reasons missing from docs/authorisation.md"
    assert listed - own - _snekmate_reasons() == set(), f"{contract}: reasons that no source raises"


def test_table__module_reasons_are_found():
    # The check above must see the signed-call module's reasons, or it proves nothing about them.
    assert "registry: zero signer" in _source_reasons("ProfileRegistry")
    assert "deposits: invalid signature length" in _source_reasons("InboxDeposits")
