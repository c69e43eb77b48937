"""``dm3-relayer run --chain-id N``: the sender of one chain. User errors print one clear line and exit non-zero."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import Any

import click
from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy.exc import ArgumentError, OperationalError

from indexer import metrics
from indexer.chain.rpc import RetryPolicy, RpcClient, RpcError
from indexer.relayer.lease import LeaseLost, SenderLocked
from indexer.relayer.sender import Sender, SenderError
from indexer.settings.relayer import RelayerKeyError, RelayerSettings, redact
from indexer.store.db import create_db_engine
from indexer.store.migrate import upgrade

USER_ERRORS: tuple[type[BaseException], ...] = (
    RelayerKeyError,
    SenderLocked,
    LeaseLost,
    SenderError,
    RpcError,
    OperationalError,
    ArgumentError,
)


class Fail(click.ClickException):
    def show(self, file: Any = None) -> None:
        click.echo(f"dm3-relayer: error: {self.message}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """dm3 relayer: carries EIP-712 signed writes to the chain from its own account (one process per chain)."""


@main.command()
@click.option("--chain-id", type=int, required=True, help="The chain to send on (one of DM3_RELAYER_CHAINS).")
@click.option("--log-level", default="INFO", show_default=True)
def run(chain_id: int, log_level: str) -> None:
    """Send queued requests of one chain until interrupted (SIGINT/SIGTERM stop it cleanly)."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = RelayerSettings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise Fail(f"invalid configuration: {problems}") from None
    except SettingsError as exc:  # e.g. DM3_RELAYER_CHAINS that is not JSON
        raise Fail(f"invalid configuration: {exc}") from None
    chain = settings.chain(chain_id)
    if chain is None:
        raise Fail(f"chain {chain_id} is not in DM3_RELAYER_CHAINS")
    try:
        account = settings.account()
        engine = create_db_engine(settings.database_url, role="writer")
        upgrade(engine)
        if settings.metrics_port:
            metrics.serve(settings.metrics_port)
        asyncio.run(_run(settings, chain_id, chain.rpc_url, engine, account))
    except USER_ERRORS as exc:
        message = redact(str(exc).splitlines()[0], chain.rpc_url)
        if isinstance(exc, OperationalError):
            message = f"database unavailable: {message}"
        raise Fail(message) from None


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
