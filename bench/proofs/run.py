"""Storage proofs: what `proof=true` costs the API and a delivery node, and what a proof-mode witness weighs.
`python -m bench.proofs.run`

On loopback, one anvil with the dm3 contracts and a few deposits, indexed once into SQLite by the real indexer;
the API as its own process (`python -m indexer.api`, one worker) with `DM3_API_RPC_URLS` pointing at the same
anvil. Measured sequentially in one run (so the ratios hold even on a busy machine):
- `GET /v1/eligibility` for two addresses, plain (the fast path) and with `proof=true` (one `eth_getProof`);
- `verify_eligibility_proof` of that answer against the node (header fetched and hashed, proofs checked, verdict
  recomputed), over one reused connection;
- the resolver's witness for a 500-byte text record and for an address (OP stack and Arbitrum): build time from
  the node (slots read, `eth_getProof`, checked), its size (the `resolveWithProof` calldata it becomes), and the
  Python check of it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.common import ROOT, stop_processes, update_readme_table, write_result
from harness.devnet import Anvil, Devnet, contract_types, cs, free_port
from harness.indexer import fresh_engine, sync_ok
from harness.proofs import address_node, send_big
from indexer.client import verify_eligibility_proof
from indexer.proofs.rpc import UrlRpc
from indexer.proofs.witness import (
    Addr,
    Assertion,
    Record,
    Text,
    Witness,
    arbitrum_witness,
    assertion_hash,
    encode_assertion_state,
    op_witness,
    verify_witness,
)

CHAIN_ID = 31_010
TOKEN = 10**18
REQUESTS = 300
WITNESSES = 100


def timed(fn: Callable[[], object], n: int) -> dict[str, float]:
    fn()  # warm
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples) * 1000, 2),
        "p99_ms": round(samples[max(0, int(n * 0.99) - 1)] * 1000, 2),
        "n": n,
    }


def _serve(db_url: str, rpc_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = os.environ | {
        "DM3_DATABASE_URL": db_url,
        "DM3_API_RPC_URLS": json.dumps({str(CHAIN_ID): rpc_url}),
        "DM3_API_MEMORY_STATE": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "indexer.api", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health").status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    stop_processes([process])
    raise RuntimeError("the API did not start")


def _witness_rows(devnet: Devnet, node: UrlRpc) -> list[dict[str, Any]]:
    owner = devnet.accounts[1]
    record_node = address_node(owner)
    send_big(devnet, devnet.registry, owner, "setText", record_node, "bench", "x" * 500)
    send_big(devnet, devnet.registry, owner, "setAddr", record_node, cs(devnet.accounts[2]))
    block = devnet.anvil.block_number()
    block_hash = bytes.fromhex(devnet.anvil.rpc("eth_getBlockByNumber", [hex(block), False])["hash"][2:])
    state = encode_assertion_state(block_hash=block_hash)
    parent, acc = b"\x01" * 32, b"\x02" * 32
    assertion = Assertion(
        assertion_hash(parent_assertion_hash=parent, encoded_state=state, inbox_acc=acc), parent, acc, state
    )
    registry = devnet.registry.address
    builders: dict[str, Callable[[Record], Witness]] = {
        "OP stack": lambda r: op_witness(node, registry=registry, record=r, block=block, game_index=1),
        "Arbitrum": lambda r: arbitrum_witness(node, registry=registry, record=r, assertion=assertion),
    }
    records: dict[str, Record] = {"500-byte text": Text(record_node, "bench"), "address": Addr(record_node)}
    rows = []
    for kind, build in builders.items():
        for what, record in records.items():
            witness = build(record)

            def check(w: Witness = witness, r: Record = record) -> None:
                verify_witness(w.response, registry=registry, record=r, commitment=w.commitment)

            rows.append(
                {
                    "kind": kind,
                    "record": what,
                    "response_bytes": len(witness.response),
                    "build": timed(lambda b=build, r=record: b(r), WITNESSES),  # type: ignore[misc]
                    "check": timed(check, WITNESSES),
                }
            )
    return rows


def measure(compiled: dict[str, dict[str, Any]], tmp: Path) -> dict[str, Any]:
    anvil = Anvil(chain_id=CHAIN_ID)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        devnet = Devnet(anvil, compiled)
        devnet.fund()
        sender, recipient = devnet.accounts[3], devnet.accounts[4]
        assert devnet.send(devnet.deposits, recipient, "set_min_deposit", TOKEN)
        assert devnet.send(devnet.deposits, sender, "deposit", cs(recipient), 2 * TOKEN)
        db_url = f"sqlite:///{tmp / 'dm3.db'}"
        engine = fresh_engine(db_url)
        sync_ok(engine, [devnet.spec()])
        engine.dispose()
        process, url = _serve(db_url, anvil.url)
        processes.append(process)
        http = httpx.Client()
        query = {"sender": sender, "recipient": recipient}
        plain = timed(lambda: http.get(url + "/v1/eligibility", params=query).raise_for_status(), REQUESTS)
        proven_query = query | {"proof": "true"}
        proven = timed(
            lambda: http.get(url + "/v1/eligibility", params=proven_query).raise_for_status(), REQUESTS
        )
        plain_bytes = len(http.get(url + "/v1/eligibility", params=query).content)
        body = http.get(url + "/v1/eligibility", params=proven_query)
        answer = body.json()
        node = UrlRpc(anvil.url)
        deposits = devnet.deposits.address
        verify = timed(lambda: verify_eligibility_proof(answer, node, deposits=deposits), REQUESTS)
        witnesses = _witness_rows(devnet, node)
        node.close()
        http.close()
        return {
            "eligibility": {
                "plain": plain | {"bytes": plain_bytes},
                "proof": proven | {"bytes": len(body.content)},
                "verify": verify,
            },
            "witnesses": witnesses,
        }
    finally:
        stop_processes(processes)
        anvil.stop()


def table(result: dict[str, Any], load: tuple[float, float]) -> str:
    e = result["eligibility"]
    lines = [
        "| what | p50 | p99 | bytes |",
        "|---|---:|---:|---:|",
        f"| `GET /v1/eligibility` (two addresses, fast path) | {e['plain']['p50_ms']} ms | {e['plain']['p99_ms']} ms "
        f"| {e['plain']['bytes']:,} |",
        f"| ... with `proof=true` (one `eth_getProof` at the envelope block) | {e['proof']['p50_ms']} ms | "
        f"{e['proof']['p99_ms']} ms | {e['proof']['bytes']:,} |",
        f"| `verify_eligibility_proof` (header, proofs, verdict; reused connection) | {e['verify']['p50_ms']} ms | "
        f"{e['verify']['p99_ms']} ms | |",
    ]
    for row in result["witnesses"]:
        lines.append(
            f"| witness, {row['kind']}, {row['record']}: build / check in Python | {row['build']['p50_ms']} / "
            f"{row['check']['p50_ms']} ms | {row['build']['p99_ms']} / {row['check']['p99_ms']} ms | "
            f"{row['response_bytes']:,} |"
        )
    return "\n".join(lines) + (
        f"\n\nproof=true / plain p50: {e['proof']['p50_ms'] / e['plain']['p50_ms']:.1f}x, same run. "
        f"1-minute load average {load[0]:.1f} before, {load[1]:.1f} after, on {os.cpu_count()} cores."
    )


def main() -> None:
    from ape import project

    compiled = contract_types(project)
    before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="dm3-bench-proofs-") as tmp:
        result = measure(compiled, Path(tmp))
    after = os.getloadavg()[0]
    text = table(result, (before, after))
    path = write_result("proofs", result | {"load_average": {"before": before, "after": after}})
    update_readme_table("proofs", text)
    print(text)
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
