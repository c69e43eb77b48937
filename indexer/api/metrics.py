"""Prometheus metrics of the API: requests by route template and status, latency, and chain gauges read on
scrape. Each app has its own registry, so several apps (tests) never collide."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "dm3_api_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "dm3_api_request_seconds",
            "Time to answer an HTTP request",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.chain_lag = Gauge(
            "dm3_api_chain_lag_blocks",
            "Indexed block behind the chain head",
            ["chain_id"],
            registry=self.registry,
        )
        self.chain_indexed = Gauge(
            "dm3_api_chain_indexed_block", "Last indexed block", ["chain_id"], registry=self.registry
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def count(self, method: str, template: str, status: int, started: float) -> None:
        """One answered request: its count by method, route template and status, and its latency since
        `started` (`time.perf_counter()`)."""
        key = (method, template, status)
        children = self._children.get(key)
        if children is None:  # `labels()` looks the child up anew each time: keep it
            children = self._children[key] = (
                self.requests.labels(method, template, str(status)),
                self.latency.labels(template),
            )
        children[0].inc()
        children[1].observe(time.perf_counter() - started)


class MetricsMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware overhead on the hot path)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.count(scope["method"], template, status["code"], started)
