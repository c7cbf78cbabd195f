"""The per-process expiring map that hot paths use for keys and endpoint routes."""

from webapp.core import expiring
from webapp.core.expiring import ExpiringMap


def test_entries_expire_after_their_ttl(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(expiring.time, "monotonic", lambda: now[0])
    cache = ExpiringMap()
    cache.put("a", 1, ttl=2)
    now[0] = 101.9
    assert cache.get("a") == 1
    now[0] = 102.0
    assert cache.get("a") is None


def test_zero_ttl_keeps_nothing_and_pop_and_clear_forget():
    cache = ExpiringMap()
    cache.put("off", 1, ttl=0)
    assert cache.get("off") is None
    cache.put("a", 1, ttl=60)
    cache.put("b", 2, ttl=60)
    cache.pop("a")
    cache.pop("missing")
    assert (cache.get("a"), cache.get("b")) == (None, 2)
    cache.clear()
    assert cache.get("b") is None


def test_a_full_map_starts_again_empty():
    cache = ExpiringMap(max_entries=2)
    cache.put("a", 1, ttl=60)
    cache.put("b", 2, ttl=60)
    cache.put("c", 3, ttl=60)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, None, 3)
