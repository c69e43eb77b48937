"""Prometheus metrics of the API: requests by route template and status, latency, and chain gauges read on
scrape. Each app has its own registry, so several apps (tests) never collide."""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Latency buckets of `dm3_api_request_seconds` (upper bounds; +Inf after them).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class _RequestCollector:
    """`dm3_api_requests_total` and `dm3_api_request_seconds` from plain counts kept by `ApiMetrics.count`: a
    Prometheus child's `inc` and `observe` take a lock and several calls each, ~10 µs of a hot-path answer's ~30
    (bench/api); the counts here cost a dictionary lookup and two additions, and become samples on scrape."""

    def __init__(self, metrics: ApiMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "dm3_api_requests", "HTTP requests answered", labels=["method", "route", "status"]
        )
        for (method, route, status), count in list(self.metrics.requests.items()):
            requests.add_metric([method, route, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "dm3_api_request_seconds", "Time to answer an HTTP request", labels=["route"]
        )
        for route, counts in list(self.metrics.latencies.items()):
            cumulative, buckets = 0.0, []
            for bound, in_bucket in zip((*LATENCY_BUCKETS, math.inf), counts[:-1], strict=True):
                cumulative += in_bucket
                buckets.append((floatToGoString(bound), cumulative))
            latency.add_metric([route], buckets, counts[-1])
        yield latency


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        #: (method, route template, status) -> requests answered
        self.requests: dict[tuple[str, str, int], int] = {}
        #: route template -> [count per bucket (the last one +Inf)..., sum of seconds]
        self.latencies: dict[str, list[float]] = {}
        self.registry.register(_RequestCollector(self))
        self.chain_lag = Gauge(
            "dm3_api_chain_lag_blocks",
            "Indexed block behind the chain head",
            ["chain_id"],
            registry=self.registry,
        )
        self.chain_indexed = Gauge(
            "dm3_api_chain_indexed_block", "Last indexed block", ["chain_id"], registry=self.registry
        )

    def count(self, method: str, template: str, status: int, started: float) -> None:
        """One answered request: its count by method, route template and status, and its latency since
        `started` (`time.perf_counter()`). Called on the event loop only."""
        elapsed = time.perf_counter() - started
        key = (method, template, status)
        requests = self.requests
        requests[key] = requests.get(key, 0) + 1
        counts = self.latencies.get(template)
        if counts is None:
            counts = self.latencies[template] = [0.0] * (len(LATENCY_BUCKETS) + 2)
        counts[bisect_left(LATENCY_BUCKETS, elapsed)] += 1
        counts[-1] += elapsed


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
