"""`python -m indexer.devnet up|down|status`: the local devnet from a shell (see `indexer.devnet`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import click

from indexer.cli_errors import user_errors
from indexer.devnet import services
from indexer.devnet.constants import DEFAULT_BASE_PORT, DEFAULT_GATEWAY_PORT
from indexer.devnet.core import DevnetOptions, down, load, status, up


def _clear_errors() -> AbstractContextManager[None]:
    return user_errors("python -m indexer.devnet")


def _options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Pid files, logs, records and config (default: .devnet/).")(f)  # fmt: skip
    f = click.option("--base-port", type=int, default=DEFAULT_BASE_PORT, show_default=True,
                     help="L1 port; the L2s take the next three.")(f)  # fmt: skip
    return f


@click.group()
def cli() -> None:
    """The dm3 local devnet: anvil L1 with ENS, and Optimism/Arbitrum/Base-like L2s with the dm3 contracts."""


@cli.command("up")
@_options
@click.option("--gateway-port", type=int, default=DEFAULT_GATEWAY_PORT, show_default=True,
              help="Port of the API/CCIP gateway the Dm3Resolver points at.")  # fmt: skip
@click.option("--services", "with_services", is_flag=True, help="Also start the indexer and the API.")
def up_command(state_dir: Path | None, base_port: int, gateway_port: int, with_services: bool) -> None:
    """Start the chains and deploy (idempotent: what is up stays up)."""
    options = DevnetOptions(state_dir=state_dir, base_port=base_port, gateway_port=gateway_port)
    with _clear_errors():
        state = up(options)
        for chain in state.chains:
            click.echo(
                f"{chain.ecosystem:9} chain {chain.chain_id:>6}  {chain.rpc_url}  {chain.parent_name or ''}"
            )
        click.echo(
            f"ENS registry {state.ens_registry}, Dm3Resolver {state.dm3_resolver} -> {state.gateway_url}"
        )
        for name, address, chains in state.addresses():
            click.echo(f"  {name:16} {address}  {', '.join(chains)}")
        click.echo(f"state: {options.state_file}\nindexer config: {state.config_file}\nenv: {state.env_file}")
        if with_services:
            pids = services.start(
                state, state_dir=options.directory, project_root=options.root, api_port=gateway_port
            )
            for name, pid in pids.items():
                click.echo(f"{name} pid {pid} (log: {options.directory / 'logs' / name}.log)")
            if "api" in pids:
                click.echo(f"API and CCIP gateway on http://127.0.0.1:{gateway_port}")


@cli.command("proposer")
@_options
@click.option("--interval", type=float, default=1.0, show_default=True, help="Seconds between two rounds.")
@click.option("--challenge-seconds", type=float, default=1.0, show_default=True,
              help="A game resolves DEFENDER_WINS after standing this long unchallenged.")  # fmt: skip
def proposer_command(
    state_dir: Path | None, base_port: int, interval: float, challenge_seconds: float
) -> None:
    """Post the proven L2's output roots as dispute games on the L1 harness, and resolve them (runs until
    stopped; `up --services` starts it)."""
    from indexer.devnet.constants import DEPLOYER_INDEX, dev_account
    from indexer.devnet.proofs import run_proposer

    with _clear_errors():
        state = load(DevnetOptions(state_dir=state_dir, base_port=base_port))
        if state is None or "proof" not in state.extra:
            raise click.ClickException(
                "no devnet with proof mode is up: run `python -m indexer.devnet up` first"
            )
        proof = state.extra["proof"]
        click.echo(
            f"proposing output roots of chain {proof['chain_id']} to {proof['HarnessDisputeGameFactory']} "
            f"every {interval:g} s",
        )
        run_proposer(
            l1_url=state.l1.rpc_url,
            l2_url=proof["l2_rpc_url"],
            factory=proof["HarnessDisputeGameFactory"],
            account=dev_account(DEPLOYER_INDEX),
            interval=interval,
            challenge_seconds=challenge_seconds,
        )


@cli.command("down")
@_options
def down_command(state_dir: Path | None, base_port: int) -> None:
    """Stop the services and the chains (records and config stay)."""
    stopped = down(DevnetOptions(state_dir=state_dir, base_port=base_port))
    click.echo("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@cli.command("status")
@_options
@click.option("--json", "as_json", is_flag=True, help="Print the full devnet state as JSON.")
def status_command(state_dir: Path | None, base_port: int, as_json: bool) -> None:
    """Which chains run; exit status 1 when any is down."""
    options = DevnetOptions(state_dir=state_dir, base_port=base_port)
    running = status(options)
    if as_json:
        state = load(options)
        click.echo(
            json.dumps(
                {"running": running, "state": state and state.__dict__},
                default=lambda o: o.__dict__,
                indent=2,
            )
        )
    else:
        for name, ok in running.items():
            click.echo(f"{name:9} {'up' if ok else 'down'}")
    if not all(running.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    cli()
