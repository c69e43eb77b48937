"""The read API and CCIP-read gateway as one FastAPI app: `create_app(settings)`."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from sqlalchemy.engine import Engine
from starlette.types import Receive, Scope, Send

from indexer.api.errors import install_error_handlers
from indexer.api.fastpath import PATH, EligibilityFastPath, HotPath
from indexer.api.guards import BodyGuard, ConcurrencyLimit, InFlight, UnexpectedErrors
from indexer.api.metrics import ApiMetrics, MetricsMiddleware
from indexer.api.routes import ccip, changes, deposits, eligibility, profiles, relay, status
from indexer.api.routes.relay import RelayFastPath
from indexer.api.state import EligibilityState, running
from indexer.api.webapp import mount_webapp
from indexer.gateway.proving import Prover
from indexer.gateway.signer import GatewaySigner
from indexer.proofs.rpc import UrlRpc
from indexer.relayer.accept import RelayService
from indexer.settings.api import ApiSettings
from indexer.store.db import create_db_engine

log = logging.getLogger(__name__)

#: Cyclic-GC thresholds of a serving process (Python's default: 700, 10, 10). A batch of 1,000 pairs parses and
#: keeps thousands of small containers while it is answered in slices; at the default they reached the oldest
#: generation and full collections ran every second or two under batch load, 20-70 ms each, collecting nothing
#: (bench/api). Answers create no reference cycles; what does (an exception's traceback) is still collected.
GC_THRESHOLDS = (10_000, 20, 50)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Every database read runs in anyio's default thread pool (never on the event loop): size it.
    anyio.to_thread.current_default_thread_limiter().total_tokens = app.state.settings.db_threads
    # Everything alive once the app serves (modules, the app, the engine) lives as long as the process: move it
    # out of the collector's reach. A full collection over it took ~40 ms and set the API's p99 (bench/api).
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    async with running(app.state.eligibility_state):
        yield
    if app.state.relay is not None:
        await app.state.relay.aclose()


def make_prover(settings: ApiSettings) -> Prover | None:
    """The gateway's proof path, when an L1 node is configured (`DM3_GATEWAY_L1_RPC_URL`)."""
    gateway = settings.gateway
    if gateway.l1_rpc_url is None:
        return None
    timeout = settings.proof_rpc_timeout
    return Prover(
        UrlRpc(gateway.l1_rpc_url.get_secret_value(), timeout=timeout),
        {
            chain_id: UrlRpc(url.get_secret_value(), timeout=timeout)
            for chain_id, url in settings.rpc_urls.items()
        },
        config_ttl=gateway.proof_config_ttl,
        commitment_ttl=gateway.proof_cache_seconds,
        max_games_scanned=gateway.max_games_scanned,
    )


class Dm3Api(FastAPI):
    """The app, with its hot path answered before the middleware stack (`fastpath.HotPath`): on the benchmark box
    the stack's layers cost several times the answer itself."""

    hot: HotPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hot = self.hot
        if hot is not None and scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "GET":
            started = time.perf_counter()
            try:
                body = hot.answer(scope)
            except Exception:  # the stack answers it (and turns what it cannot answer into a 500)
                log.debug("hot path failed; handing over to the stack", exc_info=True)
                body = None
            if body is not None:
                await hot.send(send, body, started)
                return
        await super().__call__(scope, receive, send)


def create_app(
    settings: ApiSettings | None = None, *, engine: Engine | None = None, signer: GatewaySigner | None = None
) -> Dm3Api:
    """Build the app. `engine` defaults to a reader engine on `settings.database_url`; `signer` to the gateway key
    from `settings.gateway` (when none is configured, the `/ccip` routes answer 503 and everything else works)."""
    settings = settings or ApiSettings()
    app = FastAPIOffline(
        title="dm3 registry read API",
        version="1",
        description="Eligibility, profiles, deposits and chain status from the dm3 registry indexer, and the "
        "CCIP-read (EIP-3668) gateway that links L2 profiles into ENS.",
        lifespan=_lifespan,
        # FastAPI's native OpenTelemetry: nothing here configures a provider, and asking whether one is cost
        # every request a few environment lookups (bench/api).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.__class__ = Dm3Api  # FastAPIOffline builds a FastAPI; this subclass only adds the hot path's entry
    assert isinstance(app, Dm3Api)
    app.state.settings = settings
    app.state.engine = engine or create_db_engine(settings.database_url, role="reader")
    if signer is None and settings.gateway.configured:
        signer = settings.gateway.signer()
    if signer is None:
        log.warning("no gateway key configured: /ccip answers 503")
    app.state.signer = signer
    app.state.prover = make_prover(settings)
    app.state.metrics = ApiMetrics()
    app.state.relay = None
    if settings.relayer.chains:  # the relay routes write the queue: they get a writer engine of their own
        writer = create_db_engine(settings.database_url, role="writer")
        app.state.relay = RelayService(settings.relayer, reader=app.state.engine, writer=writer)

    install_error_handlers(app)
    for router in (eligibility.router, profiles.router, deposits.router, status.router, ccip.router):
        app.include_router(router)
    app.include_router(changes.router)
    app.include_router(relay.router)
    mount_webapp(app, settings.webapp_dir)

    # Added innermost first. Everything inside CORS, so that every answer (413, 503, a 500) carries its headers.
    app.state.eligibility_state = None
    in_flight = InFlight(
        max_requests=settings.max_concurrent_requests, max_streams=settings.max_change_streams
    )
    if settings.fast_path:  # innermost: the guards, CORS and metrics still wrap it
        if settings.memory_state:
            state = app.state.eligibility_state = EligibilityState(
                app.state.engine,
                refresh_interval=settings.state_refresh_interval,
                max_age=settings.state_max_age,
            )
            app.hot = HotPath(state, metrics=app.state.metrics, in_flight=in_flight)
        app.add_middleware(
            EligibilityFastPath,
            engine=app.state.engine,
            state=app.state.eligibility_state,
            max_batch=settings.max_batch,
        )
    if app.state.relay is not None:  # innermost too: `POST /v1/relay` below FastAPI's routing
        app.add_middleware(RelayFastPath, service=app.state.relay)
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes, timeout=settings.body_timeout)
    app.add_middleware(ConcurrencyLimit, in_flight=in_flight, stream_prefix="/v1/changes")
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["*"],
    )
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app
