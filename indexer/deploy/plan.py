"""What a deployment consists of, independent of how transactions are signed and sent.

Every dm3 contract is created through the deterministic-deployment proxy (`indexer.deploy.create2`), so its address
follows from the salt, the compiled code and the constructor arguments alone, and is the same on every chain. The
functions here check the arguments, the proxy and the existing record first, print each predicted address, then
deploy in order and write the record after every contract, so a deployment that fails half-way still records what
it paid for. A contract already at its predicted address (deployed earlier, by anyone) is recorded, not sent again;
other code there is refused.

A `Deployer` (ape account in `scripts/deploy.py`, web3.py + eth-account in `web3_deployer`) sends the transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from eth_utils import keccak

from indexer.deploy import create2
from indexer.deploy.errors import (
    CodeMismatch,
    DeployError,
    DeploymentExists,
    HistoryUnavailable,
    NoCodeAtAddress,
    NoDeploymentProxy,
    RecordChainMismatch,
    RecordNotFound,
)
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
L2_CONTRACTS = ("Dm3Token", "InboxDeposits", "ProfileRegistry", "RelayBatcher")
L1_CONTRACTS = ("Dm3Resolver",)


@dataclass(frozen=True)
class Artifact:
    """What it takes to deploy a contract and recognise its code on a chain."""

    abi: list[dict[str, Any]]
    bytecode: str  # deployment (creation) bytecode, 0x-hex
    runtime_bytecode: str = ""  # compiled runtime code, 0x-hex ("" when the artifact has none)

    def constructor_inputs(self) -> list[str]:
        """Names of the constructor's parameters."""
        for item in self.abi:
            if item.get("type") == "constructor":
                return [str(i["name"]) for i in item.get("inputs", [])]
        return []


@dataclass(frozen=True)
class Deployed:
    """What a deployer reports about one plain (CREATE) contract creation."""

    address: str
    block: int
    tx_hash: str


@dataclass(frozen=True)
class Transaction:
    """A mined transaction: its hash, block and sender."""

    tx_hash: str
    block: int
    sender: str


class Deployer(Protocol):
    """Signs and sends transactions on one connected chain, and reads code from it."""

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

    def artifact(self, contract: str) -> Artifact:
        """The compiled contract (`DeployError` when there is none of that name)."""
        ...

    def code(self, address: str, *, block: int | None = None) -> bytes:
        """The code at `address` (b"" when none) at `block`, else the latest block.

        Raises `HistoryUnavailable` when the node keeps no state for `block`.
        """
        ...

    def block_number(self) -> int:
        """The latest block number."""
        ...

    def send_data(self, *, to: str, data: bytes) -> Transaction:
        """Send `data` to `to`, wait for the receipt; `DeployError` (or the tool's own error) when it reverts."""
        ...

    def find_transaction(self, block: int, *, to: str, data: bytes) -> Transaction | None:
        """The transaction of `block` that called `to` with exactly `data`, if there is one."""
        ...

    def say(self, message: str) -> None:
        """Tell the person running the deployment (a no-op where nobody watches)."""
        ...


class CreateDeployer(Deployer, Protocol):
    """A deployer that can also create a contract the plain way (CREATE, address from sender and nonce)."""

    def deploy(self, contract: str, args: Sequence[Any]) -> Deployed:
        """Deploy `contract` with positional constructor `args` and wait for the receipt."""
        ...


@dataclass(frozen=True)
class Step:
    """One contract to create through the proxy, with its predicted address."""

    contract: str
    args: dict[str, Any]  # constructor arguments by name, in constructor order
    artifact: Artifact
    salt: str
    initcode: bytes

    @property
    def address(self) -> str:
        return create2.create2_address(self.salt, self.initcode)

    @property
    def calldata(self) -> bytes:
        return create2.proxy_calldata(self.salt, self.initcode)

    def describe(self) -> str:
        args = ", ".join(f"{name}={value!r}" for name, value in self.args.items())
        return f"{self.contract}({args})"


def deploy_l2(
    deployer: Deployer,
    *,
    deployments_dir: Path,
    parent_name: str,
    owner: str | None = None,
    cooldown: int = DEFAULT_COOLDOWN,
    token: str | None = None,
    salt: str = create2.DEFAULT_SALT,
    force: bool = False,
) -> DeploymentRecord:
    """Deploy Dm3Token(owner) (unless `token` is given), InboxDeposits(token, cooldown, owner),
    ProfileRegistry(parent_name) and RelayBatcher() (the relayer's batches) through the deterministic-deployment
    proxy.

    `owner` defaults to the deploying account. With an existing `token`, it must hold code; the record then has no
    `Dm3Token` entry and the token is `contracts.InboxDeposits.args.token`.
    """
    parent_name = parse_ens_name(parent_name, what="--parent")
    cooldown = parse_cooldown(cooldown)
    owner = _owner(deployer, owner)
    salt = create2.parse_salt(salt)
    if token is not None:
        token = parse_address(token, what="--token")
        if not deployer.code(token):
            raise NoCodeAtAddress(
                f"--token: no contract at {token} on {deployer.network} (chain {deployer.chain_id})"
            )
    require_proxy(deployer)
    steps = []
    if token is None:
        steps.append(predict(deployer, "Dm3Token", {"owner": owner}, salt=salt))
        token = steps[0].address
    steps.append(
        predict(deployer, "InboxDeposits", {"token": token, "cooldown": cooldown, "owner": owner}, salt=salt)
    )
    steps.append(predict(deployer, "ProfileRegistry", {"parent_name": parent_name}, salt=salt))
    steps.append(predict(deployer, "RelayBatcher", {}, salt=salt))
    return _run(deployer, deployments_dir, steps, replaces=L2_CONTRACTS, force=force)


def deploy_l1_resolver(
    deployer: Deployer,
    *,
    deployments_dir: Path,
    urls: Sequence[str],
    signers: Sequence[str],
    owner: str | None = None,
    salt: str = create2.DEFAULT_SALT,
    force: bool = False,
) -> DeploymentRecord:
    """Deploy Dm3Resolver(urls, signers, owner) through the deterministic-deployment proxy; `owner` defaults to
    the deploying account."""
    url_list = parse_gateway_urls(urls)
    signer_list = parse_addresses(signers, what="--signer", at_most=MAX_SIGNERS)
    owner = _owner(deployer, owner)
    salt = create2.parse_salt(salt)
    require_proxy(deployer)
    step = predict(
        deployer, "Dm3Resolver", {"urls": url_list, "signers": signer_list, "owner": owner}, salt=salt
    )
    return _run(deployer, deployments_dir, [step], replaces=L1_CONTRACTS, force=force)


def predict(deployer: Deployer, contract: str, args: dict[str, Any], *, salt: str) -> Step:
    """The creation of `contract(**args)` through the proxy with `salt`, and the address it lands at.

    Refuses when the compiled constructor no longer takes the arguments this tool passes.
    """
    artifact = deployer.artifact(contract)
    inputs = artifact.constructor_inputs()
    if inputs != list(args):
        raise DeployError(
            f"{contract}'s constructor takes ({', '.join(inputs)}), but the deploy tool passes "
            f"({', '.join(args)}); update indexer/deploy/plan.py"
        )
    code = create2.initcode(artifact.bytecode, artifact.abi, list(args.values()))
    return Step(contract=contract, args=args, artifact=artifact, salt=salt, initcode=code)


def require_proxy(deployer: Deployer) -> None:
    """Refuse when the chain has no deterministic-deployment proxy, or other code at its address."""
    code = deployer.code(create2.PROXY)
    where = f"{deployer.network} (chain {deployer.chain_id})"
    if not code:
        raise NoDeploymentProxy(
            f"no deterministic-deployment proxy at {create2.PROXY} on {where}, so the contracts cannot get their "
            "chain-independent addresses; deploy the proxy first (replay its presigned transaction: "
            "github.com/Arachnid/deterministic-deployment-proxy), nothing was sent"
        )
    if code != create2.PROXY_RUNTIME:
        raise NoDeploymentProxy(
            f"{create2.PROXY} on {where} holds other code than the deterministic-deployment proxy; nothing was sent"
        )


def deploy_and_record(
    deployer: CreateDeployer, *, deployments_dir: Path, contract: str, args: dict[str, Any]
) -> ContractRecord:
    """Deploy one contract the plain way (CREATE) into the network's record, replacing an entry of that name.

    For tooling that decides about overwriting itself, and for contracts that give their creator a role and so must
    not be created by the proxy (the devnet records ENS's ENSRegistry and PublicResolver this way).
    """
    path = record_path(deployments_dir, deployer.network)
    record = load_record(path)
    if record is None:
        record = DeploymentRecord(
            chain_id=deployer.chain_id, network=deployer.network, deployer=deployer.address
        )
    _check_chain(record, deployer, path)
    deployed = deployer.deploy(contract, list(args.values()))
    code_hash = _code_hash(deployer, deployed.address)
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
    _write_entry(record, path, contract, entry)
    return entry


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
    if not deployer.code(entry.address):
        raise NoCodeAtAddress(
            f"{path} records {contract} at {entry.address}, but there is no code there on {deployer.network} "
            f"(chain {deployer.chain_id}); a reset local chain? Redeploy with --force"
        )
    return entry


def _owner(deployer: Deployer, owner: str | None) -> str:
    """The owner to pass to the constructors: `--owner` if given (never the zero address), else the deployer."""
    return parse_address(owner, what="--owner") if owner is not None else deployer.address


def _run(
    deployer: Deployer, deployments_dir: Path, steps: Sequence[Step], *, replaces: Sequence[str], force: bool
) -> DeploymentRecord:
    """Check the record, print the predicted addresses, then deploy (or adopt) each step in order."""
    path = record_path(deployments_dir, deployer.network)
    record = _start_record(deployer, path, replaces=replaces, force=force)
    deployer.say(
        f"Deterministic deployment on {deployer.network} (chain {deployer.chain_id}) through {create2.PROXY}, "
        f"salt {steps[0].salt}:"
    )
    for step in steps:
        deployer.say(f"  {step.contract} -> {step.address}")
    for step in steps:
        _deploy(deployer, record, path, step)
    return record


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
            alive = bool(deployer.code(entry.address))
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
        raise RecordChainMismatch(
            f"{path} is for chain {record.chain_id}, but {deployer.network} is chain {deployer.chain_id}; "
            "use another --deployments-dir or remove the file"
        )


def _deploy(deployer: Deployer, record: DeploymentRecord, path: Path, step: Step) -> ContractRecord:
    """Create one contract through the proxy (or adopt the identical one already there) and record it."""
    address = step.address
    existing = deployer.code(address)
    if existing:
        entry = _adopt(deployer, step, existing)
    else:
        deployer.say(f"Deploying {step.describe()} ...")
        tx = deployer.send_data(to=create2.PROXY, data=step.calldata)
        code = deployer.code(address)
        if not code:
            raise NoCodeAtAddress(
                f"{step.contract}: transaction {tx.tx_hash} to the deployment proxy left no code at {address}"
            )
        deployer.say(f"  {step.contract} at {address} (block {tx.block})")
        entry = ContractRecord(
            address=address,
            block=tx.block,
            tx_hash=tx.tx_hash,
            args=step.args,
            code_hash=_hash(code),
            deployer=tx.sender,
            salt=step.salt,
            factory=create2.PROXY,
        )
    _write_entry(record, path, step.contract, entry)
    return entry


def _adopt(deployer: Deployer, step: Step, code: bytes) -> ContractRecord:
    """Record the contract already at the step's address, after checking that it is the same contract."""
    address = step.address
    if not create2.is_same_contract(code, step.artifact.runtime_bytecode):
        raise CodeMismatch(
            f"{step.contract}: {address} on {deployer.network} (chain {deployer.chain_id}) already holds other code "
            f"than the compiled {step.contract}; nothing was sent. Deploy with another --salt"
        )
    block = _creation_block(deployer, address)
    tx = deployer.find_transaction(block, to=create2.PROXY, data=step.calldata) if block is not None else None
    if block is None:
        note = (
            "already deployed, found without sending; the node keeps no past state, so the creation block is "
            "unknown and 0 is recorded (the indexer then scans from genesis): set `block` if you know it"
        )
    elif tx is None:
        note = (
            f"already deployed, found without sending; code first seen in block {block}, but no transaction there "
            "called the proxy with this deployment (created by a contract call, or the node answered past state "
            "wrongly): check the block before indexing from it"
        )
    else:
        note = f"already deployed, found without sending; created in block {block}"
    deployer.say(f"  {step.contract} at {address}: {note}")
    return ContractRecord(
        address=address,
        block=block or 0,
        tx_hash=tx.tx_hash if tx else None,
        args=step.args,
        code_hash=_hash(code),
        deployer=tx.sender if tx else "",
        salt=step.salt,
        factory=create2.PROXY,
        note=note,
    )


def _creation_block(deployer: Deployer, address: str) -> int | None:
    """The first block with code at `address` (a binary search over past state), or None when the node keeps no
    past state. Code at a CREATE2 address appears once and stays (SELFDESTRUCT only clears code created in the same
    transaction since Cancun), so the search is sound."""
    try:
        high = deployer.block_number()
        if deployer.code(address, block=0):
            return 0
        low = 0  # no code at `low`, code at `high`
        while high - low > 1:
            middle = (low + high) // 2
            if deployer.code(address, block=middle):
                high = middle
            else:
                low = middle
        return high
    except HistoryUnavailable:
        return None


def _write_entry(record: DeploymentRecord, path: Path, contract: str, entry: ContractRecord) -> None:
    record.contracts[contract] = entry
    record.tools = tool_versions()
    write_record(path, record)


def _code_hash(deployer: Deployer, address: str) -> str | None:
    code = deployer.code(address)
    return _hash(code) if code else None


def _hash(code: bytes) -> str:
    return "0x" + keccak(code).hex()
