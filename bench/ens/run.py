"""ENS resolution benchmark: latency of a text lookup through ethers v6 and of the gateway alone, and the gas of
`resolveWithProof` for a 500-byte text answer, Dm3Resolver against ENS's OffchainResolver, all in one run.

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
    EXTENDED_RESOLVER_ABI,
    EnsDevnet,
    ens_devnet,
    run_ethers,
)
from indexer.gateway.codec import TEXT_SELECTOR, encode_dns_name, namehash

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


def publish(devnet: EnsDevnet) -> None:
    owner = Account.create()
    node = devnet.register("bench", owner)
    devnet.set_text(node, KEY, VALUE, owner)


def request_for(devnet: EnsDevnet, resolver: str) -> bytes:
    """The `callData` the resolver itself puts in its OffchainLookup for `text(bench.op.dm3.eth, KEY)`."""
    data = TEXT_SELECTOR + encode(["bytes32", "string"], [namehash(NAME), KEY])
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


def gateway_latency(devnet: EnsDevnet, iterations: int) -> list[float]:
    """Wall time of `GET /ccip/{sender}/{data}.json` over one keep-alive connection: decode, database read,
    ABI-encode, sign, JSON (the gateway's whole handling time plus a loopback round trip)."""
    resolver = devnet.dm3_resolver.address
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


def table(rows: list[Latency], gas: list[Gas]) -> str:
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
    ]
    return "\n".join(lines)


@click.command()
@click.option("--iterations", default=500, show_default=True, help="lookups per latency measurement")
def main(iterations: int) -> None:
    """Run the ENS resolution benchmark and write bench/results/ens.json and the bench/README.md table."""
    from ape import project

    compiled = contract_types(project, ("ProfileRegistry", "Dm3Resolver"))
    load_before = os.getloadavg()
    with (
        tempfile.TemporaryDirectory(prefix="dm3-bench-ens-") as tmp,
        ens_devnet(Path(tmp), compiled) as devnet,
    ):
        publish(devnet)
        devnet.index()
        devnet.serve()
        gas = resolve_with_proof_gas(devnet)
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
        ]
    load_after = os.getloadavg()
    text = table(rows, gas) + (
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
        },
    )
    update_readme_table("ens", text)
    print(text)
    print(f"\nwritten: {path}")


if __name__ == "__main__":
    main()
