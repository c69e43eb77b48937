"""Prometheus metrics of the indexer (the API exposes the default registry on /metrics).

All series carry a ``chain`` label (the configured chain name).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

HEAD_BLOCK = Gauge("dm3_indexer_head_block", "Latest block number reported by the node", ["chain"])
SAFE_BLOCK = Gauge("dm3_indexer_safe_block", "Safe block number reported by the node", ["chain"])
FINALIZED_BLOCK = Gauge(
    "dm3_indexer_finalized_block", "Finalized block number reported by the node", ["chain"]
)
INDEXED_BLOCK = Gauge("dm3_indexer_indexed_block", "Last block whose events are all applied", ["chain"])
LAG_BLOCKS = Gauge("dm3_indexer_lag_blocks", "head_block - indexed_block", ["chain"])
EVENTS = Counter("dm3_indexer_events_total", "Events applied", ["chain", "event"])
REORGS = Counter("dm3_indexer_reorgs_total", "Reorgs detected and repaired", ["chain"])
REORG_DEPTH = Histogram(
    "dm3_indexer_reorg_depth_blocks",
    "Depth of repaired reorgs",
    ["chain"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
RPC_ERRORS = Counter("dm3_indexer_rpc_errors_total", "RPC errors by kind (before retries)", ["chain", "kind"])
RPC_LATENCY = Histogram(
    "dm3_indexer_rpc_latency_seconds",
    "JSON-RPC request latency",
    ["chain", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BATCH_SECONDS = Histogram(
    "dm3_indexer_apply_seconds",
    "Time to write one block batch to the database",
    ["chain"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def serve(port: int, host: str = "127.0.0.1") -> None:
    """Serve the default registry on http://host:port/metrics (background thread)."""
    start_http_server(port, addr=host)
