"""``dm3-relayer run --chain-id N``: the sender of one chain. User errors print one clear line and exit non-zero."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import Any

import click

from indexer import metrics
from indexer.chain.rpc import RetryPolicy, RpcClient
from indexer.cli_errors import Fail, user_errors
from indexer.relayer.sender import Sender
from indexer.settings.relayer import RelayerSettings
from indexer.store.db import create_db_engine
from indexer.store.migrate import upgrade

PROGRAM = "dm3-relayer"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """dm3 relayer: carries EIP-712 signed writes to the chain from its own account (one process per chain)."""


@main.command()
@click.option("--chain-id", type=int, required=True, help="The chain to send on (one of DM3_RELAYER_CHAINS).")
@click.option("--log-level", default="INFO", show_default=True)
def run(chain_id: int, log_level: str) -> None:
    """Send queued requests of one chain until interrupted (SIGINT/SIGTERM stop it cleanly)."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with user_errors(PROGRAM):
        settings = RelayerSettings.load()
        chain = settings.chain(chain_id)
        if chain is None:
            raise Fail(f"chain {chain_id} is not in DM3_RELAYER_CHAINS", program=PROGRAM)
        account = settings.account()
        engine = create_db_engine(settings.database_url, role="writer")
        upgrade(engine)
        if settings.metrics_port:
            metrics.serve(settings.metrics_port)
        asyncio.run(_run(settings, chain_id, chain.rpc_url, engine, account))


async def _run(settings: RelayerSettings, chain_id: int, rpc_url: str, engine: Any, account: Any) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Few retries per call: the sender's loop retries a failed step anyway, and a node that is down at start is
    # reported at once.
    retry = RetryPolicy(attempts=3, max_elapsed=5.0)
    async with RpcClient(rpc_url, chain=str(chain_id), timeout=settings.rpc_timeout, retry=retry) as rpc:
        sender = Sender(settings, chain_id=chain_id, engine=engine, account=account, rpc=rpc)
        click.echo(f"dm3-relayer: chain {chain_id}: relayer account {sender.address}", err=True)
        await sender.run(stop)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
