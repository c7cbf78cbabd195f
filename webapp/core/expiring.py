"""A per-process map whose entries expire: what a hot path may reuse for a second or two."""

import time


class ExpiringMap:
    """Values kept for `ttl` seconds each; emptied whole when it reaches `max_entries`.

    A plain dict under the GIL: a reader may see an entry that another thread is replacing,
    which is harmless for values that are only ever reloaded, never changed in place.
    """

    def __init__(self, max_entries: int = 10_000):
        self.max_entries = max_entries
        self._entries: dict = {}

    def get(self, key):
        """The value stored under key, or None when there is none or it has expired."""
        hit = self._entries.get(key)
        if hit is None or hit[0] <= time.monotonic():
            return None
        return hit[1]

    def put(self, key, value, ttl: float) -> None:
        """Keep value for ttl seconds (nothing is kept when ttl is 0 or less)."""
        if ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + ttl, value)

    def pop(self, key) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
