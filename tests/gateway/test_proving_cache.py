"""The gateway's proof caches: entries live for their TTL, and a flood of made-up senders cannot grow them."""

from __future__ import annotations

from indexer.gateway.proving import _TtlCache


def test_cache__reuses_within_ttl_and_asks_again_after():
    cache, calls = _TtlCache(), []

    def make() -> int:
        calls.append(1)
        return len(calls)

    assert cache.get("k", 60, make) == 1
    assert cache.get("k", 60, make) == 1
    assert cache.get("k", 0, make) == 2  # TTL 0: always asked


def test_cache__keeps_at_most_max_entries_dropping_the_oldest():
    cache = _TtlCache(max_entries=3)
    for key in range(10):
        cache.get(key, 60, lambda key=key: key)
    assert cache.get(9, 60, lambda: -1) == 9 and cache.get(7, 60, lambda: -1) == 7
    assert cache.get(0, 60, lambda: -1) == -1  # long gone
