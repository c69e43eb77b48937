"""`make demo`: bring the devnet up and walk through dm3 registry as its users see it.

    python -m indexer.devnet.demo          # leaves the devnet, indexer and API running
    python -m indexer.devnet.demo --exit   # tears everything down at the end (what CI runs)

Every step is a real transaction on a local anvil chain, every answer comes from the real indexer and API, and
the ENS lookup at the end goes through ENS's published registry, our L1 resolver and the CCIP-read gateway with
ethers v6, a client that knows nothing about dm3.
"""

from __future__ import annotations

import base64
import contextlib
import json
import queue
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import httpx
from ens.utils import normal_name_to_hash
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import HexStr
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from web3 import HTTPProvider, Web3
from web3.contract import Contract

from indexer.client import ChangeOut, Dm3Client
from indexer.deploy.create2 import PROXY
from indexer.deploy.plan import L1_CONTRACTS, L2_CONTRACTS
from indexer.deploy.web3_deployer import load_ape_artifacts
from indexer.devnet import core, services
from indexer.devnet.constants import dev_account
from indexer.devnet.files import ChainState, DevnetState
from indexer.dm3.profile import signed_profile_record
from indexer.signing import sign

TOKEN = 10**18
PROFILE_KEY = "network.dm3.profile"
INDEXER_WAIT_SECONDS = 30.0
PROOF_WAIT_SECONDS = 20.0
RESOLVE_SCRIPT = Path(__file__).with_name("resolve.mjs")
DETERMINISTIC = (*L2_CONTRACTS, *L1_CONTRACTS)  # deployed through the proxy (ENS's contracts are not)

console = Console()


@dataclass
class L2:
    """One devnet L2 seen through web3: its registry, deposits and token."""

    state: ChainState
    w3: Web3
    registry: Contract
    deposits: Contract
    token: Contract

    def send(self, account: LocalAccount, call: Any) -> Any:
        """Sign and send a contract call from `account`; returns the receipt, fails loudly on a revert."""
        tx = call.build_transaction(
            {"from": account.address, "nonce": self.w3.eth.get_transaction_count(account.address)}
        )
        signed = account.sign_transaction(tx)
        receipt = self.w3.eth.wait_for_transaction_receipt(
            self.w3.eth.send_raw_transaction(signed.raw_transaction)
        )
        if receipt["status"] != 1:
            raise click.ClickException(f"transaction {receipt['transactionHash'].hex()} reverted")
        return receipt


def connect(state: ChainState, artifacts: dict[str, Any]) -> L2:
    w3 = Web3(HTTPProvider(state.rpc_url))

    def contract(name: str) -> Contract:
        return w3.eth.contract(
            address=Web3.to_checksum_address(state.contracts[name]), abi=artifacts[name].abi
        )

    return L2(state, w3, contract("ProfileRegistry"), contract("InboxDeposits"), contract("Dm3Token"))


def wait_indexed(api: Dm3Client, chain_id: int, block: int) -> None:
    """Wait until the indexer has applied `block` on `chain_id` (it follows the head every half second)."""
    deadline = time.monotonic() + INDEXER_WAIT_SECONDS
    while time.monotonic() < deadline:
        for chain in api.status().data:
            if (
                chain.chain_id == chain_id
                and chain.indexed_block is not None
                and chain.indexed_block >= block
            ):
                return
        time.sleep(0.1)
    raise click.ClickException(f"the indexer did not reach block {block} on chain {chain_id} in time")


class ChangeWatcher:
    """A change-stream subscription read in a background thread: `next()` returns (change, arrival time)."""

    def __init__(self, base_url: str, **filters: Any) -> None:
        self._api = Dm3Client(base_url, timeout=10)
        self._cursor = self._api.poll_changes(timeout=0).next_cursor  # subscribe from now on
        self._filters = filters
        self._queue: queue.Queue[tuple[ChangeOut, float]] = queue.Queue()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def _read(self) -> None:
        with contextlib.suppress(RuntimeError, httpx.HTTPError):  # closed when the demo moves on
            for change in self._api.changes(cursor=self._cursor, **self._filters):
                self._queue.put((change, time.monotonic()))

    def __enter__(self) -> ChangeWatcher:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._api.close()

    def next(self, *, timeout: float) -> tuple[ChangeOut, float]:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            raise click.ClickException(f"no change arrived on the stream within {timeout:.0f} s") from None


def show_indexer(api: Dm3Client) -> None:
    """Wait until the indexer has caught up with every L2 and show where it stands (GET /v1/status)."""
    deadline = time.monotonic() + INDEXER_WAIT_SECONDS
    while True:
        chains = api.status().data
        if (chains and all(c.status == "live" for c in chains)) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for chain in chains:
        console.print(
            f"  indexer: {chain.name:9} {chain.status:11} indexed block {chain.indexed_block} of {chain.head_block}"
            f" (lag {chain.lag}, safe {chain.safe_block}, finalized {chain.finalized_block})"
        )


def step(title: str) -> None:
    console.rule(f"[bold cyan]{title}")


def show_eligibility(api: Dm3Client, sender: str, recipient: str, label: str) -> Any:
    answer = api.eligibility(sender, recipient)
    table = Table(title=f"API: may {label} reach {recipient}?", title_justify="left")
    for column in ("chain", "eligible", "reason", "bond", "min", "block", "hash", "finality"):
        table.add_column(column)
    for chain in answer.chains:
        envelope = chain.envelope
        table.add_row(
            str(envelope.chain_id),
            "[green]yes" if chain.eligible else "[red]no",
            chain.reason,
            f"{int(chain.bond) / TOKEN:g}",
            f"{int(chain.min_deposit) / TOKEN:g}",
            str(envelope.block_number),
            (envelope.block_hash or "")[:10] + "…",
            envelope.finality,
        )
    console.print(table)
    verdict = "[green]eligible" if answer.eligible else "[red]refused"
    console.print(
        f"  → {verdict}[/] (reason: {answer.reason}, eligible on chains {answer.eligible_chain_ids})"
    )
    return answer


def resolve_with_ethers(state: DevnetState, name: str) -> dict[str, Any]:
    """Resolve `name` through ENS on the devnet L1 with ethers v6 (ENSIP-10 + CCIP-read, no dm3 code)."""
    request = {
        "rpcUrl": state.l1.rpc_url,
        "chainId": state.l1.chain_id,
        "ensAddress": state.ens_registry,
        "queries": [{"name": name, "address": True}, {"name": name, "text": PROFILE_KEY}],
    }
    done = subprocess.run(
        ["node", str(RESOLVE_SCRIPT)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise click.ClickException(
            f"ethers could not resolve {name}: {(done.stdout + done.stderr).strip()[-500:]}"
        )
    address, text = json.loads(done.stdout)["results"]
    return {"resolver": address["resolver"], "address": address["value"], "text": text["value"]}


def walkthrough(state: DevnetState, api: Dm3Client) -> None:
    artifacts = load_ape_artifacts(core.default_project_root())
    op, base = connect(state.chain("optimism"), artifacts), connect(state.chain("base"), artifacts)
    owner = dev_account(0)
    alice, bob, carol, dave, erin = (dev_account(i) for i in (1, 2, 3, 4, 5))
    people = {"alice": alice, "bob": bob, "carol": carol, "dave": dave, "erin": erin}
    for who, account in people.items():
        console.print(f"  {who:6} {account.address}")

    step("1. alice registers alice.op.dm3.eth on Optimism, bob registers bob.base.dm3.eth on Base")
    for chain, person, label in ((op, alice, "alice"), (base, bob, "bob")):
        chain.send(person, chain.registry.functions.register(label, person.address))
        console.print(f"  registered [bold]{label}.{chain.state.parent_name}[/] (owner {person.address})")

    step(
        "2. both publish signed dm3 profiles (text record network.dm3.profile), their address and primary name"
    )
    for chain, person, label, services_ in (
        (op, alice, "alice", ["ds.op.dm3.eth"]),
        (base, bob, "bob", ["ds.base.dm3.eth"]),
    ):
        node = normal_name_to_hash(f"{label}.{chain.state.parent_name}")
        # Random 32-byte values stand in for a messenger's X25519/Ed25519 public keys.
        record = signed_profile_record(
            person,
            public_encryption_key=base64.b64encode(secrets.token_bytes(32)).decode(),
            public_signing_key=base64.b64encode(secrets.token_bytes(32)).decode(),
            delivery_services=services_,
        )
        chain.send(person, chain.registry.functions.setText(node, PROFILE_KEY, record))
        name = f"{label}.{chain.state.parent_name}"
        chain.send(person, chain.registry.functions.setAddr(node, person.address))
        receipt = chain.send(
            person, chain.registry.functions.setPrimaryName(name)
        )  # reverse: address -> name
        wait_indexed(api, chain.state.chain_id, receipt.blockNumber)
        profile = api.address_profile(person.address)  # by address, through the primary name
        if profile is None or profile.dm3_profile is None or profile.name != name:
            raise click.ClickException(f"the API does not show {name}'s profile by address")
        console.print(
            f"  {label}: {len(record)}-byte record; API (by address → {profile.name}) parsed it: delivery "
            f"services {profile.dm3_profile.delivery_services}, signature valid: "
            f"[bold]{profile.dm3_profile.signature_valid}[/]"
        )

    step("3. alice sets her price for strangers on Optimism: 10 DM3")
    receipt = op.send(alice, op.deposits.functions.set_min_deposit(10 * TOKEN))
    wait_indexed(api, op.state.chain_id, receipt.blockNumber)
    for stranger in (carol, dave, erin):
        op.send(owner, op.token.functions.mint(stranger.address, 100 * TOKEN))
        op.send(stranger, op.token.functions.approve(op.deposits.address, 2**256 - 1))
    console.print("  carol, dave and erin each got 100 DM3 from the token owner and approved InboxDeposits")

    step("4. carol, a stranger, wants to write to alice.op.dm3.eth")
    show_eligibility(api, carol.address, "alice.op.dm3.eth", "carol")

    step("5. carol and dave deposit 10 DM3 each; erin deposits 10 DM3 too")
    for stranger in (carol, dave, erin):
        receipt = op.send(stranger, op.deposits.functions.deposit(alice.address, 10 * TOKEN))
    wait_indexed(api, op.state.chain_id, receipt.blockNumber)
    on_chain = op.deposits.functions.is_eligible(carol.address, alice.address).call()
    console.print(f"  the contract itself says carol is eligible: [bold]{on_chain}[/]")
    show_eligibility(api, carol.address, "alice.op.dm3.eth", "carol")

    step("6. carol's message was spam: alice burns her deposit. dave's was fine: alice accepts him")
    with ChangeWatcher(api.base_url, recipient=alice.address.lower(), kinds=["burn"]) as watcher:
        console.print("  a delivery node subscribes to alice's inbox changes (GET /v1/changes, SSE) ...")
        op.send(alice, op.deposits.functions.burn(carol.address, 10 * TOKEN))
        receipt_at = time.monotonic()
        change, arrived_at = watcher.next(timeout=10)
    console.print(
        f"  ... and is told {(arrived_at - receipt_at) * 1000:.0f} ms after the burn's receipt: change #{change.id} "
        f"{change.action} {change.event}(sender {(change.sender or '')[:10]}…, bond left {int(change.args['bond']) / TOKEN:g}) "
        f"in block {change.block_number} ({(change.block_hash or '')[:10]}…, {change.finality}) on chain {change.chain_id}"
    )
    receipt = op.send(alice, op.deposits.functions.release(dave.address))
    wait_indexed(api, op.state.chain_id, receipt.blockNumber)
    show_eligibility(api, carol.address, "alice.op.dm3.eth", "carol")
    show_eligibility(api, dave.address, "alice.op.dm3.eth", "dave")
    receipt = op.send(dave, op.deposits.functions.withdraw(alice.address, dave.address))
    console.print(
        f"  dave, accepted, withdraws his 10 DM3 at once (balance {op.token.functions.balanceOf(dave.address).call() / TOKEN:g} DM3)"
    )

    step("7. erin changes her mind: she requests her deposit back and waits out the 7-day cooldown")
    receipt = op.send(erin, op.deposits.functions.request_withdrawal(alice.address))
    wait_indexed(api, op.state.chain_id, receipt.blockNumber)
    show_eligibility(api, erin.address, "alice.op.dm3.eth", "erin")
    op.w3.provider.make_request("evm_increaseTime", [7 * 24 * 3600])  # type: ignore[arg-type]
    op.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    receipt = op.send(erin, op.deposits.functions.withdraw(alice.address, erin.address))
    wait_indexed(api, op.state.chain_id, receipt.blockNumber)
    console.print(
        f"  erin withdrew; balance back to {op.token.functions.balanceOf(erin.address).call() / TOKEN:g} DM3"
    )

    stats = api.recipient(alice.address)
    table = Table(title="API: alice's inbox", title_justify="left")
    for column in (
        "chain",
        "min deposit",
        "open bonds",
        "deposits",
        "burns",
        "releases",
        "withdrawals",
        "burn rate",
    ):
        table.add_column(column)
    for inbox in stats.chains:
        if inbox.deposits:
            table.add_row(
                str(inbox.envelope.chain_id),
                f"{int(inbox.min_deposit) / TOKEN:g}",
                str(inbox.open_bonds),
                str(inbox.deposits),
                str(inbox.burns),
                str(inbox.releases),
                str(inbox.withdrawals),
                f"{inbox.burn_rate:.2f}" if inbox.burn_rate is not None else "—",
            )
    console.print(table)

    step(
        "8. anyone resolves alice's profile through ENS with ethers v6 (L1 → Dm3Resolver → CCIP-read gateway)"
    )
    resolved = resolve_with_ethers(state, "alice.op.dm3.eth")
    console.print(f"  resolver: {resolved['resolver']} (wildcard from op.dm3.eth)")
    console.print(f"  addr:     {resolved['address']}")
    console.print(f"  {PROFILE_KEY}: {resolved['text'][:96]}…")
    if resolved["address"].lower() != alice.address.lower():
        raise click.ClickException("ENS resolution returned the wrong address")

    relay_walkthrough(api, op, base, alice, owner)
    proof_walkthrough(state, api, base, bob)


def proof_walkthrough(state: DevnetState, api: Dm3Client, base: L2, bob: LocalAccount) -> None:
    """base.dm3.eth is in proof mode: the answer is verified on L1 from a dispute game's output root."""
    proof = state.extra.get("proof")
    if proof is None:
        return
    step(
        "11. proof mode: anyone resolves bob.base.dm3.eth with ethers v6, and L1 checks storage proofs against "
        "a dispute game instead of trusting the gateway's key"
    )
    console.print(
        f"  Dm3Resolver: base.dm3.eth in mode {proof['mode']} (proven), OP stack, DisputeGameFactory "
        f"{proof['HarnessDisputeGameFactory']}, AnchorStateRegistry {proof['HarnessAnchorStateRegistry']}, "
        f"verifier {proof['Dm3ProofVerifier']}"
    )
    wanted = base.w3.eth.block_number  # bob's records are at or below it
    deadline = time.monotonic() + PROOF_WAIT_SECONDS
    while True:
        status = httpx.get(f"{api.base_url}/v1/status", timeout=10).json()
        chain = next(c for c in status["data"] if c["chain_id"] == proof["chain_id"])
        proven = chain.get("proof") or {}
        if (proven.get("l2_block") or -1) >= wanted:
            break
        if time.monotonic() > deadline:
            raise click.ClickException(f"no dispute game covers Base block {wanted} yet: {proven}")
        time.sleep(0.2)
    console.print(
        f"  /v1/status: newest provable Base block {proven['l2_block']} ({proven['l2_block_age_seconds']} s old), "
        f"game #{proven['game_index']}; the devnet proposer posts output roots every second"
    )
    name = "bob.base.dm3.eth"
    resolved = resolve_with_ethers(state, name)
    call = "0x9061b923" + _encode_resolve(name, bytes.fromhex("3b3b57de") + normal_name_to_hash(name)).hex()
    answer = httpx.get(
        f"{state.gateway_url.split('/ccip/')[0]}/ccip/{state.dm3_resolver}/{call}.json", timeout=30
    )
    headers = answer.headers
    console.print(f"  addr:     {resolved['address']}")
    console.print(f"  {PROFILE_KEY}: {resolved['text'][:80]}…")
    console.print(
        f"  proven against game #{headers.get('x-dm3-proof-game-index')} ({headers.get('x-dm3-proof-commitment')}) "
        f"at Base block {headers.get('x-dm3-proof-l2-block')} ({headers.get('x-dm3-proof-l2-block-hash', '')[:18]}…), "
        f"{len(answer.json()['data']) // 2 - 1:,}-byte answer"
    )
    if resolved["address"].lower() != bob.address.lower():
        raise click.ClickException("proof-mode ENS resolution returned the wrong address")


def _encode_resolve(name: str, data: bytes) -> bytes:
    from eth_abi import encode

    from indexer.gateway.codec import encode_dns_name

    return encode(["bytes", "bytes"], [encode_dns_name(name), data])


def wait_relayer(api: Dm3Client, chain_id: int) -> Any:
    """The chain's relay config once its relayer process is up (it starts with the other services)."""
    deadline = time.monotonic() + INDEXER_WAIT_SECONDS
    while not (config := api.relay_config(chain_id)).enabled:
        if time.monotonic() > deadline:
            raise click.ClickException(f"the relayer of chain {chain_id} did not come up; see .devnet/logs/")
        time.sleep(0.2)
    return config


def relay_walkthrough(api: Dm3Client, op: L2, base: L2, alice: LocalAccount, owner: LocalAccount) -> None:
    """Gasless: a new user with no ETH on Base and alice's delivery node, both through the relayer."""
    step(
        "9. frank, new and with 0 ETH on Base, registers frank.base.dm3.eth and publishes his dm3 profile gaslessly"
    )
    frank = Account.create()
    chain_id = base.state.chain_id
    config = wait_relayer(api, chain_id)
    wait_relayer(api, op.state.chain_id)
    console.print(f"  Base relayer {config.relayer} (batcher {config.batcher}); frank {frank.address}")
    console.print(f"  frank's ETH on Base: {base.w3.eth.get_balance(frank.address)}")
    name = f"frank.{base.state.parent_name}"
    node = bytes.fromhex(normal_name_to_hash(name).hex().removeprefix("0x"))
    record = signed_profile_record(
        frank,
        public_encryption_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        public_signing_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        delivery_services=["ds.base.dm3.eth"],
    )
    deadline = int(time.time()) + 3600
    writes = [
        ("registerWithSig", {"signer": frank.address, "label": "frank", "owner": frank.address}),
        ("setTextWithSig", {"signer": frank.address, "node": node, "key": PROFILE_KEY, "value": record}),
        ("setPrimaryNameWithSig", {"signer": frank.address, "name": name}),
    ]
    accepted = []
    for nonce, (function, message) in enumerate(writes):
        request = api.relay(
            function,
            {**message, "nonce": nonce, "deadline": deadline},
            chain_id=chain_id,
            private_key=frank.key,
        )
        accepted.append(request)
        console.print(f"  {function:22} signed by frank → 202, request {request.id[:12]}… {request.state}")
    done = [api.wait_relayed(request.id, timeout=60) for request in accepted]
    for function_, status in zip((w[0] for w in writes), done, strict=True):
        console.print(
            f"  {function_:22} {status.state} in block {status.block_number} (tx {str(status.tx_hash)[:12]}…)"
        )
    if any(status.state != "mined" for status in done):
        raise click.ClickException(f"a relayed write did not mine: {[s.error for s in done]}")
    wait_indexed(api, chain_id, max(s.block_number or 0 for s in done))
    profile = api.address_profile(frank.address)
    if profile is None or profile.dm3_profile is None:
        raise click.ClickException("the API does not show frank's profile")
    console.print(
        f"  API: {frank.address[:10]}… → {profile.name}, dm3 profile signature valid: "
        f"[bold]{profile.dm3_profile.signature_valid}[/]; frank's ETH still {base.w3.eth.get_balance(frank.address)}"
    )

    step("10. alice's delivery node relays alice's signed burn of a spammer's bond on Optimism")
    spammer = dev_account(6)
    op.send(owner, op.token.functions.mint(spammer.address, 100 * TOKEN))
    op.send(spammer, op.token.functions.approve(op.deposits.address, 2**256 - 1))
    receipt = op.send(spammer, op.deposits.functions.deposit(alice.address, 10 * TOKEN))
    wait_indexed(api, op.state.chain_id, receipt.blockNumber)
    console.print(f"  spammer {spammer.address[:10]}… deposited 10 DM3 to reach alice, and spammed")
    burn = {
        "sender": spammer.address,
        "recipient": alice.address,
        "amount": 10 * TOKEN,
        "nonce": op.deposits.functions.nonces(alice.address).call(),
        # The chain's clock, not ours: step 7 moved Optimism's time a week ahead.
        "deadline": op.w3.eth.get_block("latest")["timestamp"] + 600,
    }
    # alice signs once (her wallet); her delivery node, which holds no key of hers, carries it.
    signature = sign(
        "burn_with_sig", burn, alice.key, chain_id=op.state.chain_id, verifying_contract=op.deposits.address
    )
    request = api.relay("burn_with_sig", burn, chain_id=op.state.chain_id, signature=signature)
    burned = api.wait_relayed(request.id, timeout=60)
    bond = op.deposits.functions.bonds(spammer.address, alice.address).call()
    console.print(
        f"  burn_with_sig {burned.state} in block {burned.block_number}; the spammer's bond is now {bond[0] / TOKEN:g}"
    )

    table = Table(title="gas paid by the relayers (the users paid nothing)", title_justify="left")
    for column in ("chain", "transaction", "writes carried", "gas used", "gas per write", "fee (ETH)"):
        table.add_column(column)
    carried: dict[tuple[int, str], list[str]] = {}
    chains = {base.state.chain_id: base, op.state.chain_id: op}
    for status in [*done, burned]:
        carried.setdefault((status.chain_id, str(status.tx_hash)), []).append(status.function)
    total = 0
    for (chain_id_, tx_hash), functions in carried.items():
        chain = chains[chain_id_]
        receipt = chain.w3.eth.get_transaction_receipt(HexStr(tx_hash))
        fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
        total += receipt["gasUsed"]
        table.add_row(
            str(chain.state.chain_id),
            tx_hash[:12] + "…",
            ", ".join(functions),
            f"{receipt['gasUsed']:,}",
            f"{receipt['gasUsed'] // len(functions):,}",
            f"{fee / 10**18:.6f}",
        )
    console.print(table)
    console.print(f"  the relayers spent {total:,} gas in total for {len(done) + 1} writes")


@click.command()
@click.option("--exit", "exit_after", is_flag=True, help="Tear the devnet down at the end (CI).")
@click.option("--api-port", default=8080, show_default=True, help="Port of the API and CCIP-read gateway.")
@click.option(
    "--base-port", default=8545, show_default=True, help="Port of the L1; the L2s take the next three."
)
def main(exit_after: bool, api_port: int, base_port: int) -> None:
    """Run the dm3 registry walkthrough on a local devnet."""
    started = time.monotonic()
    options = core.DevnetOptions(gateway_port=api_port, base_port=base_port)
    step("0. devnet: anvil L1 with ENS + Optimism, Arbitrum and Base L2s; indexer; API and gateway")
    try:
        core.down(options)  # fresh chains every time: the walkthrough registers the same names
        state = core.up(options)
        data = options.root / "data" / "dm3.db"
        for leftover in (data, data.with_name("dm3.db-wal"), data.with_name("dm3.db-shm")):
            leftover.unlink(missing_ok=True)  # the chains are new, so is the index
        services.start(state, state_dir=options.directory, project_root=options.root, api_port=api_port)
        api_url = f"http://127.0.0.1:{api_port}"
        for chain in state.chains:
            console.print(f"  {chain.ecosystem:9} chain id {chain.chain_id:>6}  {chain.rpc_url}")
        # The same contract with the same constructor arguments has the same address on every chain.
        console.print(f"  dm3 contracts, created through the deployment proxy {PROXY} (CREATE2):")
        for name, address, chains in state.addresses():
            if name in DETERMINISTIC:
                console.print(f"  {name:16} {address}  {', '.join(chains)}")
        with Dm3Client(api_url, timeout=10) as api:
            show_indexer(api)
            walkthrough(state, api)
    except Exception:
        if exit_after:
            core.down(options)
        raise
    elapsed = time.monotonic() - started
    if exit_after:
        core.down(options)
        console.print(Panel(f"demo finished in {elapsed:.0f} s; devnet stopped", style="green"))
        return
    console.print(
        Panel(
            f"demo finished in {elapsed:.0f} s. Still running:\n"
            f"  API and CCIP-read gateway  {api_url}\n"
            f"  API docs (offline)         {api_url}/docs\n"
            f"  chains                     {', '.join(c.rpc_url for c in state.chains)}\n"
            "Stop everything with: make devnet-down",
            style="green",
        )
    )
    op = state.chain("optimism")
    console.print(
        f"Inbox app: [bold]{api_url}/app/[/]\n"
        f"Point a browser wallet at the devnet by adding a network with RPC {op.rpc_url} and chain id {op.chain_id} "
        "(the devnet's Optimism; edit the RPC of your wallet's Optimism entry if it has one) and importing one of "
        "anvil's public test keys (`anvil --help` lists the mnemonic; never use them anywhere else)."
    )


if __name__ == "__main__":
    sys.exit(main())
