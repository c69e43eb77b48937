"""A local eligibility cache kept correct by the change stream: a delivery node answers from memory."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from indexer.api.queries.changes import ChangeOut
from indexer.client.changes import CachedPairs, Pair
from indexer.client.sync_client import Dm3Client


class EligibilityCache:
    """Eligibility of a set of (sender, recipient) address pairs, answered from memory and kept correct by the
    change stream (the `latest` tier, like `GET /v1/eligibility` by default).

        cache = EligibilityCache(api)
        cache.track(pairs)                                    # seeds from the batch API
        threading.Thread(target=cache.follow, daemon=True).start()
        cache.eligible(sender, recipient)                     # no request

    Deposit events carry the pair's absolute state, so they are applied locally; a price change updates every
    tracked pair of that recipient. A rollback (reorg) or a change kind this client does not know re-fetches the
    affected pairs from the API (`indexer.client.changes.CachedPairs`). Pairs are lowercase 0x addresses.
    """

    def __init__(self, api: Dm3Client, *, chain_id: int | None = None) -> None:
        self.api = api
        self.chain_id = chain_id
        self.cursor: int | None = None  # last change applied
        self.refetches = 0
        self._pairs = CachedPairs()
        self._lock = threading.RLock()

    def track(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Add pairs, seeded from the batch API. The stream cursor is taken first, so no change is missed."""
        wanted = [(s.lower(), r.lower()) for s, r in pairs]
        if self.cursor is None:
            self.cursor = self.api.poll_changes(timeout=0, chain_id=self.chain_id).next_cursor
        self._seed(wanted)

    def eligible(self, sender: str, recipient: str) -> bool:
        """Eligible on any chain where the recipient configured its inbox (on any chain when it configured none),
        like the API; an untracked pair is tracked (one API request) first."""
        key = (sender.lower(), recipient.lower())
        with self._lock:
            if key not in self._pairs:
                self.track([key])
            return self._pairs.eligible(key)

    def follow(self, stop: threading.Event | None = None) -> None:
        """Apply the change stream until `stop` is set (checked after each change); run it in a thread."""
        for change in self.api.changes(cursor=self.cursor, chain_id=self.chain_id):
            self.apply(change)
            if stop is not None and stop.is_set():
                return

    def apply(self, change: ChangeOut) -> None:
        with self._lock:
            self._seed(self._pairs.apply(change))
            self.cursor = change.id

    def _seed(self, pairs: list[Pair]) -> None:
        if not pairs:
            return
        answers = self.api.eligibility_batch(pairs, chain_id=self.chain_id)
        with self._lock:
            self.refetches += 1
            for pair, answer in zip(pairs, answers, strict=True):
                self._pairs.load(pair, answer)
