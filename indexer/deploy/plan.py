"""What a deployment consists of, independent of how transactions are signed and sent.

A `Deployer` (ape account in `scripts/deploy.py`, web3.py + eth-account in `web3_deployer`) sends the
transactions; the functions here check the arguments and the existing record first, deploy in order, and
write the record after every contract, so a deployment that fails half-way still records what it paid for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from indexer.deploy.errors import DeployError, DeploymentExists, NoCodeAtAddress, RecordNotFound, WrongChain
from indexer.deploy.record import (
    ContractRecord,
    DeploymentRecord,
    load_record,
    record_path,
    tool_versions,
    write_record,
)
from indexer.deploy.validate import (
    DEFAULT_COOLDOWN,
    MAX_SIGNERS,
    parse_address,
    parse_addresses,
    parse_cooldown,
    parse_ens_name,
    parse_gateway_urls,
)

# The contracts of each deployment kind, in deployment order.
L2_CONTRACTS = ("Dm3Token", "InboxDeposits", "ProfileRegistry")
L1_CONTRACTS = ("Dm3Resolver",)


@dataclass(frozen=True)
class Deployed:
    """What a deployer reports about one contract creation."""

    address: str
    block: int
    tx_hash: str


class Deployer(Protocol):
    """Signs and sends transactions on one connected chain."""

    @property
    def address(self) -> str:
        """The deploying account."""
        ...

    @property
    def chain_id(self) -> int: ...

    @property
    def network(self) -> str:
        """`<ecosystem>:<network>`, e.g. `optimism:sepolia`; names the record file."""
        ...

    def constructor_inputs(self, contract: str) -> list[str]:
        """Names of the contract's constructor parameters, from its ABI."""
        ...

    def deploy(self, contract: str, args: Sequence[Any]) -> Deployed:
        """Deploy `contract` with positional constructor `args` and wait for the receipt."""
        ...

    def code_hash(self, address: str) -> str | None:
        """keccak256 of the runtime code at `address` (0x-hex), or None when there is no code."""
        ...


def deploy_l2(
    deployer: Deployer,
    *,
    deployments_dir: Path,
    parent_name: str,
    cooldown: int = DEFAULT_COOLDOWN,
    token: str | None = None,
    force: bool = False,
) -> DeploymentRecord:
    """Deploy Dm3Token (unless `token` is given), InboxDeposits(token, cooldown), ProfileRegistry(parent_name).

    With an existing `token`, it must hold code; the record then has no `Dm3Token` entry and the token is
    `contracts.InboxDeposits.args.token`.
    """
    parent_name = parse_ens_name(parent_name, what="--parent")
    cooldown = parse_cooldown(cooldown)
    if token is not None:
        token = parse_address(token, what="--token")
        if deployer.code_hash(token) is None:
            raise NoCodeAtAddress(
                f"--token: no contract at {token} on {deployer.network} (chain {deployer.chain_id})"
            )
    path = record_path(deployments_dir, deployer.network)
    record = _start_record(deployer, path, replaces=L2_CONTRACTS, force=force)
    if token is None:
        token = _deploy(deployer, record, path, "Dm3Token", {}).address
    _deploy(deployer, record, path, "InboxDeposits", {"token": token, "cooldown": cooldown})
    _deploy(deployer, record, path, "ProfileRegistry", {"parent_name": parent_name})
    return record


def deploy_l1_resolver(
    deployer: Deployer,
    *,
    deployments_dir: Path,
    urls: Sequence[str],
    signers: Sequence[str],
    force: bool = False,
) -> DeploymentRecord:
    """Deploy Dm3Resolver(urls, signers); the deployer becomes its owner."""
    url_list = parse_gateway_urls(urls)
    signer_list = parse_addresses(signers, what="--signer", at_most=MAX_SIGNERS)
    path = record_path(deployments_dir, deployer.network)
    record = _start_record(deployer, path, replaces=L1_CONTRACTS, force=force)
    _deploy(deployer, record, path, "Dm3Resolver", {"urls": url_list, "signers": signer_list})
    return record


def deploy_and_record(
    deployer: Deployer, *, deployments_dir: Path, contract: str, args: dict[str, Any]
) -> ContractRecord:
    """Deploy one contract into the network's record, replacing an entry of that name without asking.

    For tooling that decides about overwriting itself (the devnet records ENS's contracts this way).
    """
    path = record_path(deployments_dir, deployer.network)
    record = load_record(path)
    if record is None:
        record = DeploymentRecord(
            chain_id=deployer.chain_id, network=deployer.network, deployer=deployer.address
        )
    _check_chain(record, deployer, path)
    return _deploy(deployer, record, path, contract, args)


def recorded_contract(deployer: Deployer, *, deployments_dir: Path, contract: str) -> ContractRecord:
    """The recorded `contract` on the connected network, checked to still hold code on the chain."""
    path = record_path(deployments_dir, deployer.network)
    record = load_record(path)
    if record is None:
        raise RecordNotFound(f"no deployment recorded for {deployer.network}: {path} does not exist")
    _check_chain(record, deployer, path)
    entry = record.contracts.get(contract)
    if entry is None:
        known = ", ".join(record.contracts) or "none"
        raise RecordNotFound(f"{path} records no {contract} (it records: {known})")
    if deployer.code_hash(entry.address) is None:
        raise NoCodeAtAddress(
            f"{path} records {contract} at {entry.address}, but there is no code there on {deployer.network} "
            f"(chain {deployer.chain_id}); a reset local chain? Redeploy with --force"
        )
    return entry


def _start_record(
    deployer: Deployer, path: Path, *, replaces: Sequence[str], force: bool
) -> DeploymentRecord:
    """The record to extend: the existing one without `replaces` (only with `force`), or a new one."""
    record = load_record(path)
    if record is None:
        return DeploymentRecord(
            chain_id=deployer.chain_id, network=deployer.network, deployer=deployer.address
        )
    _check_chain(record, deployer, path)
    existing = [name for name in replaces if name in record.contracts]
    if existing and not force:
        details = []
        for name in existing:
            entry = record.contracts[name]
            alive = deployer.code_hash(entry.address) is not None
            details.append(f"{name} at {entry.address}" + ("" if alive else " (no code there any more)"))
        raise DeploymentExists(
            f"{path} already records {'; '.join(details)}. Pass --force to deploy anew and overwrite those entries"
        )
    for name in replaces:
        record.contracts.pop(name, None)
    record.deployer = deployer.address
    return record


def _check_chain(record: DeploymentRecord, deployer: Deployer, path: Path) -> None:
    if record.chain_id != deployer.chain_id:
        raise WrongChain(
            f"{path} is for chain {record.chain_id}, but {deployer.network} is chain {deployer.chain_id}; "
            "use another --deployments-dir or remove the file"
        )


def _deploy(
    deployer: Deployer, record: DeploymentRecord, path: Path, contract: str, args: dict[str, Any]
) -> ContractRecord:
    """Deploy one contract, add it to the record and write the record."""
    _check_constructor(deployer, contract, args)
    deployed = deployer.deploy(contract, list(args.values()))
    code_hash = deployer.code_hash(deployed.address)
    if code_hash is None:
        raise NoCodeAtAddress(f"{contract} deployment {deployed.tx_hash} left no code at {deployed.address}")
    entry = ContractRecord(
        address=deployed.address,
        block=deployed.block,
        tx_hash=deployed.tx_hash,
        args=args,
        code_hash=code_hash,
        deployer=deployer.address,
    )
    record.contracts[contract] = entry
    record.tools = tool_versions()
    write_record(path, record)
    return entry


def _check_constructor(deployer: Deployer, contract: str, args: dict[str, Any]) -> None:
    """Refuse to deploy when the compiled constructor no longer takes the arguments this tool passes."""
    inputs = deployer.constructor_inputs(contract)
    if len(inputs) != len(args):
        raise DeployError(
            f"{contract}'s constructor takes ({', '.join(inputs)}), but the deploy tool passes "
            f"({', '.join(args)}); update indexer/deploy/plan.py"
        )
