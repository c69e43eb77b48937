"""Deploy the dm3 contracts with an ape account and record them under `deployments/`.

    ape run deploy l2 --network optimism:sepolia:node --account deployer --parent op.dm3.eth
    ape run deploy l1-resolver --network ethereum:sepolia:node --account deployer \\
        --url 'https://gw.example/ccip/{sender}/{data}.json' --signer 0x...
    ape run deploy configure --network ethereum:sepolia:node --account deployer --add-signer 0x...
    ape run deploy transfer-ownership --network ... --account deployer --contract Dm3Resolver --to 0x...
    ape run deploy accept-ownership --network ... --account new-owner --contract Dm3Resolver
    ape run deploy show --network optimism:sepolia

`l2` and `l1-resolver` create the contracts through the deterministic-deployment proxy (`indexer.deploy.create2`):
the same contract with the same arguments (`--owner`, default the --account) and `--salt` gets the same address on
every chain. The addresses are printed before anything is sent; a contract already at its address is recorded
without a transaction, other code there is refused.

Live networks read their RPC URL from `<ECOSYSTEM>_<NETWORK>_RPC_URL` (see ape-config.yaml). Local chains record
under `.devnet/deployments/` unless `--deployments-dir` says otherwise. The checks and the record format live in
`indexer.deploy`; this file only connects them to ape's accounts and networks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from ape import project
from ape.api import AccountAPI, ProviderAPI
from ape.cli import ConnectedProviderCommand, account_option
from ape.exceptions import ApeException
from web3 import Web3

from indexer.deploy import plan
from indexer.deploy.create2 import DEFAULT_SALT
from indexer.deploy.errors import DeployError, RecordNotFound
from indexer.deploy.plan import Artifact, Transaction
from indexer.deploy.record import default_deployments_dir, load_record, record_path
from indexer.deploy.validate import (
    DEFAULT_COOLDOWN,
    MAX_SIGNERS,
    parse_address,
    parse_addresses,
    parse_gateway_urls,
    require_rpc_url,
)
from indexer.deploy.web3_deployer import code_at, find_transaction

OWNED_CONTRACTS = ("Dm3Resolver", "Dm3Token", "InboxDeposits", "ProfileRegistry")


class ApeDeployer:
    """`indexer.deploy.plan.Deployer` over an ape account and the connected ape provider."""

    def __init__(self, account: AccountAPI, provider: ProviderAPI) -> None:
        self._account = account
        self._provider = provider

    @property
    def address(self) -> str:
        return str(self._account.address)

    @property
    def chain_id(self) -> int:
        return int(self._provider.chain_id)

    @property
    def network(self) -> str:
        return f"{self._provider.network.ecosystem.name}:{self._provider.network.name}"

    def artifact(self, contract: str) -> Artifact:
        contract_type = project.get_contract(contract).contract_type
        return Artifact(
            abi=[item.model_dump(mode="json", by_alias=True) for item in contract_type.abi],
            bytecode=_hex(contract_type.deployment_bytecode),
            runtime_bytecode=_hex(contract_type.runtime_bytecode),
        )

    def code(self, address: str, *, block: int | None = None) -> bytes:
        return code_at(self._web3, address, block=block)

    def block_number(self) -> int:
        return int(self._web3.eth.block_number)

    def send_data(self, *, to: str, data: bytes) -> Transaction:
        receipt = self._account.transfer(to, 0, data=data)
        return Transaction(tx_hash=receipt.txn_hash, block=int(receipt.block_number), sender=self.address)

    def find_transaction(self, block: int, *, to: str, data: bytes) -> Transaction | None:
        return find_transaction(self._web3, block, to=to, data=data)

    def say(self, message: str) -> None:
        click.echo(message)

    def contract(self, entry_address: str, contract: str) -> Any:
        return project.get_contract(contract).at(entry_address)

    @property
    def _web3(self) -> Web3:
        return self._provider.web3  # type: ignore[attr-defined,no-any-return]


def _hex(bytecode: Any) -> str:
    """A compiled bytecode field of an ape contract type as 0x-hex ("" when absent)."""
    return str(getattr(bytecode, "bytecode", None) or "")


def _require_rpc_url(ctx: click.Context, param: click.Parameter, provider: Any) -> Any:
    """Network callback: a live network needs its RPC URL variable set, checked before ape connects."""
    network = getattr(provider, "network", None)
    if network is None or network.name in ("local", "custom"):
        return provider
    try:
        require_rpc_url(network.ecosystem.name, network.name)
    except DeployError as err:
        raise click.BadParameter(str(err), ctx=ctx, param=param) from None
    return provider


@contextmanager
def _clear_errors() -> Iterator[None]:
    """Turn the tooling's errors (and ape's) into a one-line `Error: ...` and exit status 1."""
    try:
        yield
    except DeployError as err:
        raise click.ClickException(str(err)) from None
    except ApeException as err:
        raise click.ClickException(f"{type(err).__name__}: {err}") from None


def _deployer(account: AccountAPI | None, provider: ProviderAPI, *, yes: bool) -> ApeDeployer:
    if account is None:
        raise click.UsageError(
            "--account is required: an alias from `ape accounts list`, or TEST::0 on a local network"
        )
    if yes and hasattr(account, "set_autosign"):
        # Reads the passphrase from APE_ACCOUNTS_<alias>_PASSPHRASE, else asks for it once.
        account.set_autosign(True)
    return ApeDeployer(account, provider)


def _deployments_dir(value: Path | None, provider: ProviderAPI) -> Path:
    return value if value is not None else default_deployments_dir(provider.network.name)


def _common_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--deployments-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Where records go. Default: deployments/ (live networks), .devnet/deployments/ (local chains).",
    )(f)
    f = click.option(
        "--yes", is_flag=True, help="Sign without asking per transaction (keystore accounts: autosign)."
    )(f)
    return account_option(prompt=False)(f)


def _deterministic_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--salt",
        default=DEFAULT_SALT,
        show_default=True,
        help='CREATE2 salt (32 bytes, 0x-hex); the default is "dm3 v1" zero-padded. Another salt, other addresses.',
    )(f)
    f = click.option(
        "--owner",
        default=None,
        help="Owner of the contracts (a constructor argument, part of the address). Default: the --account.",
    )(f)
    return f


def _print_record(path: Path) -> None:
    click.echo(f"Recorded in {path}:")
    click.echo(path.read_text())


@click.group()
def cli() -> None:
    """Deploy the dm3 contracts and record them (deployments/<ecosystem>-<network>.json)."""


@cli.command(cls=ConnectedProviderCommand, network_callback=_require_rpc_url)
@_common_options
@click.option(
    "--parent", "parent_name", required=True, help="Parent ENS name of the registry, e.g. op.dm3.eth."
)
@click.option("--token", default=None, help="Use this existing ERC-20 instead of deploying Dm3Token.")
@click.option(
    "--cooldown", type=int, default=DEFAULT_COOLDOWN, show_default=True, help="Withdrawal cooldown (s)."
)
@_deterministic_options
@click.option("--force", is_flag=True, help="Deploy anew even if the record already has these contracts.")
def l2(
    provider: ProviderAPI,
    account: AccountAPI | None,
    deployments_dir: Path | None,
    yes: bool,
    parent_name: str,
    token: str | None,
    cooldown: int,
    owner: str | None,
    salt: str,
    force: bool,
) -> None:
    """Deploy Dm3Token (or use --token), InboxDeposits and ProfileRegistry on an L2, at deterministic addresses."""
    with _clear_errors():
        deployer = _deployer(account, provider, yes=yes)
        directory = _deployments_dir(deployments_dir, provider)
        plan.deploy_l2(
            deployer,
            deployments_dir=directory,
            parent_name=parent_name,
            owner=owner,
            cooldown=cooldown,
            token=token,
            salt=salt,
            force=force,
        )
        _print_record(record_path(directory, deployer.network))


@cli.command("l1-resolver", cls=ConnectedProviderCommand, network_callback=_require_rpc_url)
@_common_options
@click.option(
    "--url", "urls", multiple=True, help="Gateway URL template (repeatable), e.g. .../{sender}/{data}.json"
)
@click.option("--signer", "signers", multiple=True, help="Trusted gateway signer address (repeatable).")
@_deterministic_options
@click.option("--force", is_flag=True, help="Deploy anew even if the record already has a Dm3Resolver.")
def l1_resolver(
    provider: ProviderAPI,
    account: AccountAPI | None,
    deployments_dir: Path | None,
    yes: bool,
    urls: tuple[str, ...],
    signers: tuple[str, ...],
    owner: str | None,
    salt: str,
    force: bool,
) -> None:
    """Deploy the CCIP-read Dm3Resolver on L1 at a deterministic address, owned by --owner (default: --account)."""
    with _clear_errors():
        deployer = _deployer(account, provider, yes=yes)
        directory = _deployments_dir(deployments_dir, provider)
        plan.deploy_l1_resolver(
            deployer,
            deployments_dir=directory,
            urls=urls,
            signers=signers,
            owner=owner,
            salt=salt,
            force=force,
        )
        _print_record(record_path(directory, deployer.network))


@cli.command(cls=ConnectedProviderCommand, network_callback=_require_rpc_url)
@_common_options
@click.option("--url", "urls", multiple=True, help="Replace the gateway URL list with these (repeatable).")
@click.option("--add-signer", "add", multiple=True, help="Trust this gateway signer (repeatable).")
@click.option(
    "--remove-signer", "remove", multiple=True, help="Stop trusting this gateway signer (repeatable)."
)
def configure(
    provider: ProviderAPI,
    account: AccountAPI | None,
    deployments_dir: Path | None,
    yes: bool,
    urls: tuple[str, ...],
    add: tuple[str, ...],
    remove: tuple[str, ...],
) -> None:
    """Change the recorded Dm3Resolver's gateway URLs and signers (owner only)."""
    with _clear_errors():
        if not (urls or add or remove):
            raise DeployError("nothing to change: give --url, --add-signer or --remove-signer")
        deployer = _deployer(account, provider, yes=yes)
        directory = _deployments_dir(deployments_dir, provider)
        url_list = parse_gateway_urls(urls) if urls else []
        to_add = parse_addresses(add, what="--add-signer", at_most=MAX_SIGNERS) if add else []
        to_remove = parse_addresses(remove, what="--remove-signer", at_most=MAX_SIGNERS) if remove else []
        entry = plan.recorded_contract(deployer, deployments_dir=directory, contract="Dm3Resolver")
        resolver = deployer.contract(entry.address, "Dm3Resolver")
        owner = str(resolver.owner())
        if owner != deployer.address:
            raise DeployError(
                f"Dm3Resolver at {entry.address} is owned by {owner}, not by {deployer.address}"
            )
        if to_add:
            resolver.add_signers(to_add, sender=account)
        if to_remove:
            resolver.remove_signers(to_remove, sender=account)
        if url_list:
            resolver.set_urls(url_list, sender=account)
        click.echo(f"Dm3Resolver at {entry.address}: urls={list(resolver.urls())}")
        for signer in [*to_add, *to_remove]:
            click.echo(f"  signer {signer}: {'trusted' if resolver.signers(signer) else 'not trusted'}")


@cli.command("transfer-ownership", cls=ConnectedProviderCommand, network_callback=_require_rpc_url)
@_common_options
@click.option("--contract", type=click.Choice(OWNED_CONTRACTS), default="Dm3Resolver", show_default=True)
@click.option("--to", "new_owner", required=True, help="The new owner's address.")
def transfer_ownership(
    provider: ProviderAPI,
    account: AccountAPI | None,
    deployments_dir: Path | None,
    yes: bool,
    contract: str,
    new_owner: str,
) -> None:
    """Start moving a recorded contract's ownership; two-step contracts then need accept-ownership."""
    with _clear_errors():
        new_owner = parse_address(new_owner, what="--to")
        deployer = _deployer(account, provider, yes=yes)
        directory = _deployments_dir(deployments_dir, provider)
        entry = plan.recorded_contract(deployer, deployments_dir=directory, contract=contract)
        instance = deployer.contract(entry.address, contract)
        owner = str(instance.owner())
        if owner != deployer.address:
            raise DeployError(f"{contract} at {entry.address} is owned by {owner}, not by {deployer.address}")
        instance.transfer_ownership(new_owner, sender=account)
        if hasattr(instance, "pending_owner"):
            click.echo(
                f"{contract}: {new_owner} is now the pending owner; it must run accept-ownership "
                f"(owner is still {owner})"
            )
        else:
            click.echo(f"{contract}: owner is now {instance.owner()}")


@cli.command("accept-ownership", cls=ConnectedProviderCommand, network_callback=_require_rpc_url)
@_common_options
@click.option("--contract", type=click.Choice(OWNED_CONTRACTS), default="Dm3Resolver", show_default=True)
def accept_ownership(
    provider: ProviderAPI,
    account: AccountAPI | None,
    deployments_dir: Path | None,
    yes: bool,
    contract: str,
) -> None:
    """Accept the ownership of a recorded two-step contract; run it from the pending owner's account."""
    with _clear_errors():
        deployer = _deployer(account, provider, yes=yes)
        directory = _deployments_dir(deployments_dir, provider)
        entry = plan.recorded_contract(deployer, deployments_dir=directory, contract=contract)
        instance = deployer.contract(entry.address, contract)
        if not hasattr(instance, "pending_owner"):
            raise DeployError(f"{contract} has one-step ownership; transfer-ownership already moved it")
        pending = str(instance.pending_owner())
        if pending != deployer.address:
            raise DeployError(
                f"{contract} at {entry.address}: the pending owner is {pending}, not {deployer.address}"
            )
        instance.accept_ownership(sender=account)
        click.echo(f"{contract}: owner is now {instance.owner()}")


@cli.command()
@click.option("--network", "network", required=True, help="<ecosystem>:<network>, e.g. optimism:sepolia.")
@click.option("--deployments-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
def show(network: str, deployments_dir: Path | None) -> None:
    """Print the recorded deployment of a network (no connection needed)."""
    parts = network.split(":")
    if len(parts) < 2 or not all(parts[:2]):
        raise click.BadParameter(f"{network!r}: expected <ecosystem>:<network>, e.g. optimism:sepolia")
    choice = ":".join(parts[:2])
    directory = deployments_dir if deployments_dir is not None else default_deployments_dir(parts[1])
    path = record_path(directory, choice)
    with _clear_errors():
        if load_record(path) is None:
            raise RecordNotFound(f"no deployment recorded for {choice}: {path} does not exist")
        click.echo(json.dumps(json.loads(path.read_text()), indent=2))
