"""Following chains: backfill with adaptive eth_getLogs ranges, realtime polling, reorg repair."""
