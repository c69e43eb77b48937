"""The app's JavaScript agrees with the Python side and the contracts: the EIP-712 table of signed writes (same
entries, same hashes as eth-account) and the ABI fragments the app calls (same as the compiled contracts)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from indexer.signing import DOMAIN_NAMES, EIP712_VERSION, SIGNED_FUNCTIONS, typed_data

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node") or "/usr/bin/node"
VERIFYING = "0x6D65277795070E8860C801C1D3c1Eb8e6D850403"

# One sample value per EIP-712 type.
SAMPLES: dict[str, Any] = {
    "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "bytes32": "0x" + "ab" * 32,
    "string": "network.dm3.profile \u00e9",
    "uint256": 2**200 + 7,
    "bool": True,
    "bytes": "0x0102ff",
}


def run_node(script: str) -> Any:
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", script],
        cwd=ROOT / "webapp",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def sample_message(function: str) -> dict[str, Any]:
    return {name: SAMPLES[kind] for name, kind in SIGNED_FUNCTIONS[function].fields}


def test_js_signing_table_equals_the_python_one() -> None:
    js = run_node(
        'import * as s from "./src/signing.js";'
        "console.log(JSON.stringify({names: s.DOMAIN_NAMES, version: s.EIP712_VERSION, functions: s.SIGNED_FUNCTIONS}))"
    )
    assert js["names"] == DOMAIN_NAMES
    assert js["version"] == EIP712_VERSION
    python = {
        name: {
            "contract": f.contract,
            "function": f.function,
            "primaryType": f.primary_type,
            "fields": [list(field) for field in f.fields],
            "signerField": f.signer_field,
        }
        for name, f in SIGNED_FUNCTIONS.items()
    }
    assert js["functions"] == python


def test_js_typed_data_hashes_like_eth_account() -> None:
    messages = {name: sample_message(name) for name in SIGNED_FUNCTIONS}
    # uint256 travels as a decimal string and becomes a BigInt on the JavaScript side.
    payload = json.dumps(
        {
            name: {k: str(v) if isinstance(v, int) and not isinstance(v, bool) else v for k, v in m.items()}
            for name, m in messages.items()
        }
    )
    js = run_node(
        'import { hashTypedData } from "viem"; import { SIGNED_FUNCTIONS, typedData } from "./src/signing.js";'
        f"const messages = {payload}; const out = {{}};"
        "for (const [name, m] of Object.entries(messages)) {"
        "  const spec = SIGNED_FUNCTIONS[name];"
        "  const message = Object.fromEntries(Object.entries(m).map(([k, v]) => ["
        "    k, spec.fields.find(([f]) => f === k)[1] === 'uint256' ? BigInt(v) : v]));"
        f"  out[name] = hashTypedData(typedData(name, message, {{chainId: 10, verifyingContract: '{VERIFYING}'}}));"
        "}"
        "console.log(JSON.stringify(out));"
    )
    for name, message in messages.items():
        full = typed_data(name, message, chain_id=10, verifying_contract=VERIFYING)
        signable = encode_typed_data(full_message=full)
        expected = "0x" + keccak(b"\x19" + signable.version + signable.header + signable.body).hex()
        assert js[name] == expected, name


@pytest.mark.parametrize(
    ("export", "contract"),
    [("depositsAbi", "InboxDeposits"), ("tokenAbi", "Dm3Token"), ("registryAbi", "ProfileRegistry")],
)
def test_js_abi_fragments_match_the_compiled_contracts(project: Any, export: str, contract: str) -> None:
    js = run_node(f'import {{ {export} }} from "./src/contracts.js"; console.log(JSON.stringify({export}));')
    compiled = {
        item["name"]: item
        for item in (
            i.model_dump(mode="json", by_alias=True) for i in project.get_contract(contract).contract_type.abi
        )
        if item.get("type") == "function"
    }

    def shape(params: list[dict[str, Any]]) -> list[Any]:
        return [(p["type"], shape(p["components"])) if p.get("components") else p["type"] for p in params]

    for fragment in js:
        actual = compiled.get(fragment["name"])
        assert actual is not None, f"{contract} has no {fragment['name']}"
        assert shape(fragment["inputs"]) == shape(actual["inputs"]), fragment["name"]
        assert shape(fragment["outputs"]) == shape(actual["outputs"]), fragment["name"]
        assert fragment["stateMutability"] == actual["stateMutability"], fragment["name"]
