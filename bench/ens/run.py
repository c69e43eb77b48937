"""ENS resolution benchmark: latency of a text lookup through ethers v6 and of the gateway alone, and the gas of
`resolveWithProof` for a 500-byte text answer, Dm3Resolver against ENS's OffchainResolver, all in one run; and the
proof path next to it (a second Dm3Resolver with `op.dm3.eth` in proof mode against the L1 harness's dispute
games, harness/ens.py `deploy_proof_mode`): calldata bytes and `resolveWithStateProof` gas for the 500-byte text
and for an address, the gateway's time to build a proof answer, and the ethers lookup through it.

    python -m bench.ens.run [--iterations 500]

The stack is the end-to-end suite's devnet (harness/ens.py): two anvils on loopback, ENS's
ENSRegistry + our Dm3Resolver + ENS's OffchainResolver on L1, a ProfileRegistry on L2, `dm3-indexer sync` and
`python -m indexer.api` (one uvicorn worker). Writes `bench/results/ens.json` and the table in `bench/README.md`.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click
import httpx
from eth_abi import decode, encode
from eth_account import Account
from web3.exceptions import OffchainLookup

from bench.common import update_readme_table, write_result
from harness.devnet import contract_types
from harness.ens import (
    DEVNET_CONTRACTS,
    EXTENDED_RESOLVER_ABI,
    EnsDevnet,
    ens_devnet,
    run_ethers,
)
from indexer.gateway.codec import ADDR_SELECTOR, TEXT_SELECTOR, encode_dns_name, namehash

NAME = "bench.op.dm3.eth"
KEY = "network.dm3.profile"
# A 500-byte record, the size of a real `network.dm3.profile` data URI (the same value bench/gas uses).
VALUE = "data:application/json," + '{"profile":{' + "x" * (500 - 36) + "}}"
P50_TARGET_MS = 20.0
WARMUP = 50

# ethers' JsonRpcProvider defaults batch requests (a 10 ms stall before each batch is sent), re-ask the node for
# its chain id on every `getNetwork()`, and answer repeated identical requests from a 250 ms cache. The "tuned"
# client sends each request at once, knows its network, and caches nothing, so every lookup does the full work.
TUNED = {"staticNetwork": True, "batchMaxCount": 1, "cacheTimeout": -1}


@dataclass
class Latency:
    measurement: str
    client: str
    samples: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    target: str
    met: bool | None


@dataclass
class Gas:
    resolver: str
    estimate: int  # eth_estimateGas: the gas limit a client must allow (21,000 and calldata included)
    used: int  # gas the call actually uses (debug_traceCall), 21,000 and calldata included
    execution: int  # `used` less 21,000 and calldata, which vary between runs with the signature's bytes


def intrinsic_gas(calldata: bytes) -> int:
    return 21_000 + sum(16 if byte else 4 for byte in calldata)


def latency(measurement: str, client: str, samples: list[float], *, target: float | None) -> Latency:
    centiles = statistics.quantiles(samples, n=100, method="inclusive")
    p50 = statistics.median(samples)
    return Latency(
        measurement=measurement,
        client=client,
        samples=len(samples),
        p50_ms=round(p50, 2),
        p99_ms=round(centiles[98], 2),
        mean_ms=round(statistics.fmean(samples), 2),
        target=f"p50 ≤ {target:g} ms" if target is not None else "—",
        met=(p50 <= target) if target is not None else None,
    )


def publish(devnet: EnsDevnet) -> str:
    owner = Account.create()
    node = devnet.register("bench", owner)
    devnet.set_text(node, KEY, VALUE, owner)
    devnet.set_addr(node, owner.address, owner)
    return str(owner.address)


TEXT_CALL = TEXT_SELECTOR + encode(["bytes32", "string"], [namehash(NAME), KEY])
ADDR_CALL = ADDR_SELECTOR + encode(["bytes32"], [namehash(NAME)])


def request_for(devnet: EnsDevnet, resolver: str, data: bytes = TEXT_CALL) -> bytes:
    """The `callData` the resolver itself puts in its OffchainLookup for `data` (default `text(NAME, KEY)`)."""
    contract = devnet.l1.w3.eth.contract(address=resolver, abi=EXTENDED_RESOLVER_ABI)
    try:
        contract.functions.resolve(encode_dns_name(NAME), data).call(ccip_read_enabled=False)
    except OffchainLookup as lookup:
        call_data = bytes(lookup.payload["callData"])
        assert bytes(lookup.payload["extraData"]) == call_data
        return call_data
    raise AssertionError(f"{resolver} answered resolve() without an OffchainLookup")


def resolve_with_proof_gas(devnet: EnsDevnet) -> list[Gas]:
    """eth_estimateGas of the callback a client makes with our gateway's real answer, for both resolvers."""
    abi = [
        {
            "type": "function",
            "name": "resolveWithProof",
            "stateMutability": "view",
            "inputs": [{"name": "response", "type": "bytes"}, {"name": "extraData", "type": "bytes"}],
            "outputs": [{"name": "", "type": "bytes"}],
        }
    ]
    figures = []
    w3 = devnet.l1.w3
    for label, resolver in (
        ("Dm3Resolver", devnet.dm3_resolver.address),
        ("ENS OffchainResolver 0.2.1", devnet.reference_resolver.address),
    ):
        request = request_for(devnet, resolver)
        answer = httpx.get(f"{devnet.gateway_url}/ccip/{resolver.lower()}/0x{request.hex()}.json", timeout=10)
        answer.raise_for_status()
        response = bytes.fromhex(answer.json()["data"][2:])
        contract = w3.eth.contract(address=resolver, abi=abi)
        call = contract.functions.resolveWithProof(response, request)
        result = call.call()
        assert decode(["string"], result)[0] == VALUE, f"{label} returned something else"
        calldata = contract.encode_abi("resolveWithProof", [response, request])
        tx = {"to": resolver, "data": calldata}
        trace = w3.provider.make_request("debug_traceCall", [tx, "latest", {"tracer": "callTracer"}])  # type: ignore[arg-type]
        used = int(trace["result"]["gasUsed"], 16)
        execution = used - intrinsic_gas(bytes.fromhex(calldata[2:]))
        figures.append(Gas(label, estimate=int(w3.eth.estimate_gas(tx)), used=used, execution=execution))
    return figures


@dataclass
class AnswerCost:
    record: str
    path: str  # "signed" (resolveWithProof) or "proof" (resolveWithStateProof)
    response_bytes: int  # the gateway's answer
    calldata_bytes: int  # the callback's calldata (selector, answer, request)
    estimate: int  # eth_estimateGas of the callback
    used: int  # debug_traceCall


def answer_costs(devnet: EnsDevnet, address: str) -> list[AnswerCost]:
    """Both paths' callbacks with the gateway's real answers, for the 500-byte text and for `addr`."""
    assert devnet.proof is not None
    abi = [
        {
            "type": "function",
            "name": name,
            "stateMutability": "view",
            "inputs": [{"name": "response", "type": "bytes"}, {"name": "extraData", "type": "bytes"}],
            "outputs": [{"name": "", "type": "bytes"}],
        }
        for name in ("resolveWithProof", "resolveWithStateProof")
    ]
    w3 = devnet.l1.w3
    costs = []
    for record, data, expected in (
        ("500-byte text", TEXT_CALL, encode(["string"], [VALUE])),
        ("addr", ADDR_CALL, encode(["address"], [address])),
    ):
        for path, resolver, callback in (
            ("signed", devnet.dm3_resolver.address, "resolveWithProof"),
            ("proof", devnet.proof.resolver.address, "resolveWithStateProof"),
        ):
            request = request_for(devnet, resolver, data)
            answer = httpx.get(
                f"{devnet.gateway_url}/ccip/{resolver.lower()}/0x{request.hex()}.json", timeout=30
            )
            answer.raise_for_status()
            response = bytes.fromhex(answer.json()["data"][2:])
            contract = w3.eth.contract(address=resolver, abi=abi)
            assert bytes(getattr(contract.functions, callback)(response, request).call()) == expected, (
                record,
                path,
            )
            calldata = contract.encode_abi(callback, [response, request])
            tx = {"to": resolver, "data": calldata}
            trace = w3.provider.make_request("debug_traceCall", [tx, "latest", {"tracer": "callTracer"}])  # type: ignore[arg-type]
            costs.append(
                AnswerCost(
                    record=record,
                    path=path,
                    response_bytes=len(response),
                    calldata_bytes=len(calldata) // 2 - 1,
                    estimate=int(w3.eth.estimate_gas(tx)),  # type: ignore[arg-type]
                    used=int(trace["result"]["gasUsed"], 16),
                )
            )
    return costs


def gateway_latency(devnet: EnsDevnet, iterations: int, *, resolver: str | None = None) -> list[float]:
    """Wall time of `GET /ccip/{sender}/{data}.json` over one keep-alive connection: decode, database read,
    ABI-encode, sign, JSON (the gateway's whole handling time plus a loopback round trip). For the proof
    resolver: the proof settings (cached), the newest game (cached 2 s), `eth_getStorageAt`/`eth_getProof` from
    the L2 node, every proof checked, ABI-encoded."""
    resolver = resolver or devnet.dm3_resolver.address
    url = f"{devnet.gateway_url}/ccip/{resolver.lower()}/0x{request_for(devnet, resolver).hex()}.json"
    timings = []
    with httpx.Client(timeout=10) as client:
        for i in range(WARMUP + iterations):
            start = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - start) * 1000
            assert response.status_code == 200, response.text
            if i >= WARMUP:
                timings.append(elapsed)
    return timings


def ethers_latency(
    devnet: EnsDevnet, iterations: int, *, fresh: bool, options: dict[str, Any]
) -> list[float]:
    answer = run_ethers(
        devnet,
        {
            "providerOptions": options,
            "bench": {
                "name": NAME,
                "key": KEY,
                "expected": VALUE,
                "iterations": iterations,
                "warmup": WARMUP,
                "fresh": fresh,
            },
        },
        timeout=600,
    )
    return [float(t) for t in answer["timings_ms"]]


def table(rows: list[Latency], gas: list[Gas], costs: list[AnswerCost]) -> str:
    lines = [
        "| measurement | client | samples | p50 ms | p99 ms | mean ms | target | met |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        met = "—" if r.met is None else ("yes" if r.met else "**no**")
        lines.append(
            f"| {r.measurement} | {r.client} | {r.samples} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.mean_ms:.2f} "
            f"| {r.target} | {met} |"
        )
    ours, reference = gas
    met = "yes" if ours.estimate <= reference.estimate and ours.used <= reference.used else "**no**"
    lines += [
        "",
        "| `resolveWithProof`, 500-byte text answer | eth_estimateGas | gas used | of which execution | target | met |",
        "|---|---:|---:|---:|---|---|",
        f"| {ours.resolver} | {ours.estimate:,} | {ours.used:,} | {ours.execution:,} | ≤ reference | {met} |",
        f"| {reference.resolver} | {reference.estimate:,} | {reference.used:,} | {reference.execution:,} | | |",
        "",
        "| answer | path (callback) | gateway answer bytes | callback calldata bytes | eth_estimateGas | gas used |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for c in costs:
        callback = "`resolveWithProof`" if c.path == "signed" else "`resolveWithStateProof`"
        lines.append(
            f"| {c.record} | {c.path} ({callback}) | {c.response_bytes:,} | {c.calldata_bytes:,} | {c.estimate:,} "
            f"| {c.used:,} |"
        )
    return "\n".join(lines)


@click.command()
@click.option("--iterations", default=500, show_default=True, help="lookups per latency measurement")
@click.option("--proof-iterations", default=100, show_default=True, help="lookups per proof-path measurement")
def main(iterations: int, proof_iterations: int) -> None:
    """Run the ENS resolution benchmark and write bench/results/ens.json and the bench/README.md table."""
    from ape import project

    compiled = contract_types(project, DEVNET_CONTRACTS)
    load_before = os.getloadavg()
    with (
        tempfile.TemporaryDirectory(prefix="dm3-bench-ens-") as tmp,
        ens_devnet(Path(tmp), compiled) as devnet,
    ):
        address = publish(devnet)
        devnet.index()
        proof = devnet.deploy_proof_mode(compiled)
        devnet.proof_cache_seconds = (
            2.0  # the gateway's default: the newest game is looked up at most every 2 s
        )
        devnet.serve()
        game = proof.prove_head()
        gas = resolve_with_proof_gas(devnet)
        costs = answer_costs(devnet, address)
        rows = [
            latency(
                "text lookup, resolver looked up each time (ENSIP-10 walk + CCIP-read + proof)",
                "ethers 6.13.4, tuned provider",
                ethers_latency(devnet, iterations, fresh=True, options=TUNED),
                target=P50_TARGET_MS,
            ),
            latency(
                "text lookup, resolver already known (resolve + gateway + resolveWithProof)",
                "ethers 6.13.4, tuned provider",
                ethers_latency(devnet, iterations, fresh=False, options=TUNED),
                target=None,
            ),
            latency(
                "text lookup, resolver looked up each time",
                "ethers 6.13.4, default provider",
                ethers_latency(devnet, iterations, fresh=True, options={}),
                target=None,
            ),
            latency(
                "gateway alone: GET /ccip/{sender}/{data}.json",
                "httpx, keep-alive",
                gateway_latency(devnet, iterations),
                target=None,
            ),
            latency(
                "proof path, gateway alone: build the proof answer (newest game cached ≤ 2 s)",
                "httpx, keep-alive",
                gateway_latency(devnet, proof_iterations, resolver=proof.resolver.address),
                target=None,
            ),
        ]
        devnet.set_resolver("op.dm3.eth", proof.resolver.address)
        rows.append(
            latency(
                "proof path, text lookup, resolver already known (resolve + gateway proof + resolveWithStateProof)",
                "ethers 6.13.4, tuned provider",
                ethers_latency(devnet, proof_iterations, fresh=False, options=TUNED),
                target=None,
            )
        )
    load_after = os.getloadavg()
    text = table(rows, gas, costs) + (
        f"\n\n1-minute load average {load_before[0]:.1f} before, {load_after[0]:.1f} after, on "
        f"{os.cpu_count()} cores (every process on the machine, this benchmark included)."
    )
    path = write_result(
        "ens",
        {
            "name": NAME,
            "record": {"key": KEY, "bytes": len(VALUE)},
            "gateway": "python -m indexer.api (1 uvicorn worker, SQLite)",
            "tuned_provider_options": TUNED,
            # Latency on a shared machine moves with its load; keep the 1/5/15-minute load averages beside it.
            "load_average": {"before": load_before, "after": load_after},
            "latency_ms": [asdict(r) for r in rows],
            "resolve_with_proof_gas": [asdict(g) for g in gas],
            "proof_path": {
                "game": {"index": game.index, "l2_block": game.l2_block},
                "answers": [asdict(c) for c in costs],
            },
        },
    )
    update_readme_table("ens", text)
    print(text)
    print(f"\nwritten: {path}")


if __name__ == "__main__":
    main()
