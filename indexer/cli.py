"""``dm3-indexer``: run, sync, status, migrate. User errors print one clear line and exit non-zero."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError

from indexer import cli_errors, metrics
from indexer.cli_errors import USER_ERRORS, Fail
from indexer.redact import RedactingFilter, redact_urls
from indexer.settings.indexer import IndexerSettings, load_settings, resolve_chains
from indexer.store import models
from indexer.store.db import create_db_engine
from indexer.store.migrate import current_revision, upgrade
from indexer.store.retry import retry_sync
from indexer.sync.chain_indexer import Progress
from indexer.sync.runner import index_chains

log = logging.getLogger("indexer")

PROGRAM = "dm3-indexer"


def user_errors() -> AbstractContextManager[None]:
    return cli_errors.user_errors(PROGRAM)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="DM3_CONFIG",
    help="TOML or YAML settings file (env: DM3_CONFIG).",
)
@click.option("--database-url", help="Overrides DM3_DATABASE_URL / DATABASE_URL.")
@click.option("--log-level", help="DEBUG, INFO, WARNING (env: DM3_LOG_LEVEL).")
@click.pass_context
def main(
    ctx: click.Context, config_file: Path | None, database_url: str | None, log_level: str | None
) -> None:
    """dm3 registry event indexer: mirrors ProfileRegistry and InboxDeposits events into SQL."""
    overrides: dict[str, Any] = {}
    if database_url:
        overrides["database_url"] = database_url
    if log_level:
        overrides["log_level"] = log_level
    with user_errors():
        ctx.obj = load_settings(config_file, **overrides)


def _settings(ctx: click.Context) -> IndexerSettings:
    settings: IndexerSettings = ctx.obj
    return settings


@main.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Create or upgrade the database schema, then exit."""
    settings = _settings(ctx)
    with user_errors():
        engine = create_db_engine(settings.database_url, role="writer")
        retry_sync(lambda: upgrade(engine), what="migrate", seconds=settings.db_retry_seconds)
        click.echo(
            f"schema at revision {current_revision(engine)} ({engine.url.render_as_string(hide_password=True)})"
        )


@main.command()
@click.option("--progress/--no-progress", default=None, help="Progress bars (default: when stderr is a TTY).")
@click.pass_context
def sync(ctx: click.Context, progress: bool | None) -> None:
    """Backfill every chain up to its current head, then exit."""
    _index(_settings(ctx), follow=False, progress=progress, metrics_port=None)


@main.command()
@click.option("--progress/--no-progress", default=None, help="Progress bars (default: when stderr is a TTY).")
@click.option("--metrics-port", type=int, default=None, help="Serve Prometheus metrics on this port.")
@click.pass_context
def run(ctx: click.Context, progress: bool | None, metrics_port: int | None) -> None:
    """Backfill every chain, then follow the heads until SIGINT/SIGTERM."""
    settings = _settings(ctx)
    _index(settings, follow=True, progress=progress, metrics_port=metrics_port or settings.metrics_port)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Per-chain checkpoint, head, lag, finality tips, reorgs and errors."""
    settings = _settings(ctx)
    with user_errors():
        engine = create_db_engine(settings.database_url, role="reader")
        try:
            with engine.connect() as conn:
                rows = [models.Chain(**r) for r in conn.execute(select(models.Chain.__table__)).mappings()]  # type: ignore[attr-defined]
        except (OperationalError, ProgrammingError) as exc:
            if "no such table" in str(exc) or "does not exist" in str(exc):
                raise Fail(
                    "the database has no indexer schema yet: run `dm3-indexer migrate` or `sync`",
                    program=PROGRAM,
                ) from exc
            raise
    data = [
        {
            "chain": r.name,
            "chain_id": r.chain_id,
            "status": r.status,
            "indexed_block": r.indexed_block,
            "head_block": r.head_block,
            "lag": (r.head_block - r.indexed_block)
            if r.head_block is not None and r.indexed_block is not None
            else None,
            "safe_block": r.safe_block,
            "finalized_block": r.finalized_block,
            "reorg_count": r.reorg_count,
            "updated_at": r.updated_at.isoformat() if r.updated_at else None,
            "error": redact_urls(r.error) if r.error else r.error,
        }
        for r in rows
    ]
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="dm3 indexer")
    for column in (
        "chain",
        "chain_id",
        "status",
        "indexed_block",
        "head_block",
        "lag",
        "safe_block",
        "finalized_block",
        "reorg_count",
        "updated_at",
        "error",
    ):
        table.add_column(column)
    for item in data:
        table.add_row(*("" if v is None else str(v) for v in item.values()))
    Console().print(table)


def _index(
    settings: IndexerSettings, *, follow: bool, progress: bool | None, metrics_port: int | None
) -> None:
    use_bars = sys.stderr.isatty() if progress is None else progress
    _setup_logging(settings.log_level, rich=use_bars)
    with user_errors():
        specs = resolve_chains(settings)
        engine = create_db_engine(settings.database_url, role="writer")
        # Migrations are serialised (store/migrate.py): the first process to get there runs them.
        retry_sync(lambda: upgrade(engine), what="migrate", seconds=settings.db_retry_seconds)
        if metrics_port:
            metrics.serve(metrics_port)
        with _progress_display(enabled=use_bars) as on_progress:
            outcome = asyncio.run(
                _main(
                    specs,
                    engine=engine,
                    follow=follow,
                    on_progress=on_progress,
                    db_retry_seconds=settings.db_retry_seconds,
                )
            )
        engine.dispose()
    failed = {name: exc for name, exc in outcome.items() if exc is not None}
    for name, exc in failed.items():
        if not isinstance(exc, USER_ERRORS):
            log.error("chain %s failed", name, exc_info=exc)
    if failed:
        lines = "; ".join(f"{name}: {exc}" for name, exc in failed.items())
        raise Fail(f"{len(failed)} of {len(outcome)} chain(s) stopped: {lines}", program=PROGRAM)


async def _main(
    specs: list[Any],
    *,
    engine: Any,
    follow: bool,
    on_progress: Callable[[Progress], None] | None,
    db_retry_seconds: float,
) -> dict[str, BaseException | None]:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def request_stop(signame: str) -> None:
        if stop.is_set():
            log.warning("second %s: exiting now", signame)
            raise SystemExit(130)
        log.info("%s received: stopping after the current batch", signame)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, request_stop, sig.name)
    return await index_chains(
        specs,
        engine=engine,
        follow=follow,
        stop=stop,
        on_progress=on_progress,
        db_retry_seconds=db_retry_seconds,
    )


def _setup_logging(level: str, *, rich: bool) -> None:
    handler: logging.Handler
    if rich:
        from rich.logging import RichHandler

        handler = RichHandler(show_path=False, rich_tracebacks=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class RateMeter:
    """One chain's events/s and ETA over a sliding time window, and its average over the whole run.

    A rate means something only over a span of time: the first report of a chain can come after a long first
    batch, and a rate "since that first report" showed ~900k ev/s for a backfill that averaged 11k. So every rate
    here is (change over the last ``window`` seconds) / (those seconds), measured from the run's start until the
    window has filled; the ETA divides the blocks left by the block rate over the same window; and the line left
    on screen when a chain is done shows the run's true average.
    """

    def __init__(self, started: float, *, window: float = 10.0) -> None:
        self.started = started
        self.window = window
        self._samples: deque[tuple[float, int, int | None]] = deque([(started, 0, None)])
        self.finished: tuple[str, str] | None = None  # the figures shown once the chain is done

    def add(self, now: float, *, events: int, blocks: int) -> None:
        """Record the totals at ``now``: events applied and blocks done so far."""
        if len(self._samples) == 1 and self._samples[0][2] is None:
            # The run's start knew no block count: a chain's first report (its checkpoint) stands in for it.
            self._samples[0] = (self.started, 0, blocks if events == 0 else None)
        self._samples.append((now, events, blocks))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.window:
            self._samples.popleft()

    def rate(self) -> float:
        """Events per second over the window."""
        (then, before, _), (now, events, _) = self._samples[0], self._samples[-1]
        return (events - before) / max(now - then, 1e-3)

    def average(self, now: float) -> float:
        """Events per second since the run's start."""
        return self._samples[-1][1] / max(now - self.started, 1e-3)

    def eta(self, blocks_left: int) -> float | None:
        """Seconds until ``blocks_left`` more blocks are done at the window's block rate (None: unknown)."""
        if blocks_left <= 0:
            return 0.0
        known = [(t, b) for t, _, b in self._samples if b is not None]
        if len(known) < 2 or known[-1][1] <= known[0][1]:
            return None
        (then, before), (now, done) = known[0], known[-1]
        return blocks_left * (now - then) / (done - before)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-:--:--"
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@contextmanager
def _progress_display(
    *, enabled: bool, clock: Callable[[], float] = time.monotonic, console: Any = None
) -> Iterator[Callable[[Progress], None] | None]:
    """Progress bars on stderr: per chain, blocks done of the target, events, events/s and ETA (both over a
    sliding window); once a chain is done its line shows the run's average rate and the time it took."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn
    from rich.progress import Progress as Bars

    bars = Bars(
        TextColumn("[bold]{task.fields[chain]}[/] {task.fields[status]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("blocks  {task.fields[events]} events  {task.fields[rate]}  {task.fields[eta]}"),
        get_time=clock,
        console=console,
    )
    started = clock()  # the run's start, not a chain's first report
    tasks: dict[str, tuple[TaskID, RateMeter]] = {}

    def update(p: Progress) -> None:
        if p.chain not in tasks:
            task_id = bars.add_task("", chain=p.chain, status=p.status, events=0, rate="", eta="", total=None)
            tasks[p.chain] = (task_id, RateMeter(started))
        task_id, meter = tasks[p.chain]
        now = clock()
        done = max(0, p.indexed_block - p.start_block + 1)
        meter.add(now, events=p.events, blocks=done)
        if p.status in ("live", "stopped"):  # done (or given up): the backfill's figures, kept from then on
            if meter.finished is None:
                meter.finished = (f"{meter.average(now):,.0f} ev/s average", f"in {_duration(now - started)}")
            rate, eta = meter.finished
        else:
            rate = f"{meter.rate():,.0f} ev/s"
            eta = f"ETA {_duration(meter.eta(p.target_block - p.indexed_block))}"
        bars.update(
            task_id,
            total=max(1, p.target_block - p.start_block + 1),
            completed=done,
            status=p.status,
            events=f"{p.events:,}",
            rate=rate,
            eta=eta,
        )

    with bars:
        yield update
