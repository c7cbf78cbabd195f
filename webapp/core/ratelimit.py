"""A token bucket in Redis shared by every web process, so a limit holds across all of them.

During a Redis outage the limit is not enforced: calls that need nothing else from Redis keep
being answered instead of failing with it.
"""

import logging
import time

import django_rq
import redis

log = logging.getLogger(__name__)
# While Redis is down, skip it for this long after each failure instead of waiting on it per call.
_RETRY_AFTER_SECONDS = 2.0
_down_until = 0.0

# One round trip, atomic: refill by elapsed time (Redis's own clock, so hosts may disagree about
# the time), then take `cost` if the bucket holds at least min(cost, capacity). The balance may go
# negative: a large request passes when the bucket is full and later ones wait until it refills,
# so the sustained rate still holds and no request is too large to ever pass.
_SCRIPT = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local allowed = 0
if tokens >= math.min(cost, capacity) then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
return allowed
"""
_scripts: dict = {}


def _script():
    conn = django_rq.get_connection("default")
    script = _scripts.get(id(conn))
    if script is None:
        script = _scripts[id(conn)] = conn.register_script(_SCRIPT)
    return script


def take(key: str, cost: float, *, rate: float, capacity: float | None = None) -> bool:
    """Take `cost` from the bucket `key` refilled at `rate` per second; False when empty."""
    if rate <= 0:
        return False
    capacity = rate if capacity is None else capacity
    global _down_until
    if time.monotonic() < _down_until:
        return True
    try:
        return bool(_script()(keys=[f"textwheel:ratelimit:{key}"], args=[rate, capacity, cost]))
    except redis.RedisError as exc:
        _down_until = time.monotonic() + _RETRY_AFTER_SECONDS
        log.warning("rate limits are off while Redis is unreachable: %s", exc)
        return True
