"""Rate limits of the SCIM endpoint: requests per API key, failed bearer attempts per client IP.

- Per key (never global: one company must never slow another): a token bucket of
  QA_SCIM_RATE_LIMIT requests/second (0 turns it off) holding BURST_SECONDS seconds' worth of
  requests, so Entra's documented floor of 25 requests/second is always met with room for a
  burst.
- Per client IP: more than QA_SCIM_AUTH_FAILURE_LIMIT failed bearer attempts (no key, not a
  key, or an unknown key) in AUTH_FAILURE_WINDOW seconds answer 429 instead of 401. Revoked and
  expired keys do not count: those are Entra still holding an old key, logged for the company.

State lives in Redis when REDIS_URL is set (one Lua script per decision, so concurrent web
processes share one atomic bucket), otherwise in this process (the embedded default of
`make run`: one process, so the limit holds; with several workers each gets its own bucket).
When Redis fails (down, hung past REDIS_TIMEOUT), the same limits are kept in this process
until Redis answers again: a client can then get up to the limit once per web process, never
unlimited, and Redis being down still refuses no request that is within the limits. A warning
is logged at most once a minute per process. No decision here costs an SQL query.
"""

import logging
import math
import threading
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

# A full bucket holds this many seconds of the per-key rate (a burst of twice QA_SCIM_RATE_LIMIT).
BURST_SECONDS = 2
AUTH_FAILURE_WINDOW = 60
# A refused request is logged to the activity log once per key per this many seconds at most,
# so a client that ignores Retry-After cannot turn the limiter into a flood of INSERTs.
REFUSAL_LOG_INTERVAL = 1.0
# After Redis fails, it is not asked again for this long (the in-process limits apply).
REDIS_RETRY_AFTER_FAILURE = 5.0
REDIS_WARNING_INTERVAL = 60.0
# A throttle must never slow a request noticeably, even when Redis hangs.
REDIS_TIMEOUT = 0.25
KEY_PREFIX = "qa:scim:throttle:"

# KEYS[1] the bucket; ARGV rate, capacity, refusal-log interval. Returns {allowed, wait, note}:
# wait is a string (a Lua number reply would be truncated to an integer). Redis's own clock is
# used, so every web process agrees on it. Once the bucket would be full it carries no
# information, so it expires then.
_BUCKET_SCRIPT = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local log_interval = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'noted_until')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
local noted_until = tonumber(state[3]) or 0
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local allowed, wait, note = 0, 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / rate
  if now >= noted_until then
    note = 1
    noted_until = now + math.max(log_interval, wait)
  end
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now),
           'noted_until', tostring(noted_until))
redis.call('EXPIRE', KEYS[1], math.ceil(math.max(capacity / rate, noted_until - now)) + 1)
return {allowed, tostring(wait), note}
"""

# KEYS[1] the counter; ARGV[1] the window. Returns {count, seconds left in the window}.
_COUNTER_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


@dataclass(frozen=True)
class Decision:
    """Whether a request may go on; if not, when to retry and whether to log the refusal."""

    allowed: bool
    retry_after: int = 0
    log_refusal: bool = False


ALLOWED = Decision(allowed=True)


class _LocalStore:
    """In-process buckets and counters: the store without Redis, and the fallback when it fails."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float, float]] = {}
        self._counters: dict[str, tuple[int, float]] = {}

    def take(self, key: str, *, rate: float, capacity: float) -> tuple[bool, float, bool]:
        now = time.monotonic()
        with self._lock:
            self._forget_old(now)
            tokens, at, noted_until = self._buckets.get(key, (capacity, now, 0.0))
            tokens = min(capacity, tokens + max(0.0, now - at) * rate)
            allowed, wait, note = False, 0.0, False
            if tokens >= 1:
                tokens -= 1
                allowed = True
            else:
                wait = (1 - tokens) / rate
                if now >= noted_until:
                    note = True
                    noted_until = now + max(REFUSAL_LOG_INTERVAL, wait)
            self._buckets[key] = (tokens, now, noted_until)
        return allowed, wait, note

    def count(self, key: str, *, window: int) -> tuple[int, int]:
        now = time.monotonic()
        with self._lock:
            self._forget_old(now)
            count, ends_at = self._counters.get(key, (0, now + window))
            if ends_at <= now:
                count, ends_at = 0, now + window
            count += 1
            self._counters[key] = (count, ends_at)
        return count, math.ceil(ends_at - now)

    def _forget_old(self, now: float) -> None:
        # Bounded memory: drop full buckets and ended windows once the maps grow.
        if len(self._buckets) > 10_000:
            self._buckets = {
                k: v for k, v in self._buckets.items() if v[2] > now or now - v[1] < 60
            }
        if len(self._counters) > 10_000:
            self._counters = {k: v for k, v in self._counters.items() if v[1] > now}


class _RedisStore:
    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(
            url,
            socket_connect_timeout=REDIS_TIMEOUT,
            socket_timeout=REDIS_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
        )
        self._take = self.client.register_script(_BUCKET_SCRIPT)
        self._count = self.client.register_script(_COUNTER_SCRIPT)

    def take(self, key: str, *, rate: float, capacity: float) -> tuple[bool, float, bool]:
        allowed, wait, note = self._take(
            keys=[KEY_PREFIX + key], args=[rate, capacity, REFUSAL_LOG_INTERVAL]
        )
        return bool(allowed), float(wait), bool(note)

    def count(self, key: str, *, window: int) -> tuple[int, int]:
        count, ttl = self._count(keys=[KEY_PREFIX + key], args=[window])
        return int(count), int(ttl)


class _Stores:
    """The store for the current REDIS_URL, and the in-process fallback while Redis fails."""

    def __init__(self) -> None:
        self.local = _LocalStore()
        self._redis: dict[str, _RedisStore] = {}
        self._lock = threading.Lock()
        self._skip_redis_until = 0.0
        self._warned_at = -math.inf

    def current(self) -> "_LocalStore | _RedisStore":
        """The store to ask: Redis if configured and not failing, else this process's."""
        url = getattr(settings, "REDIS_URL", "")
        if not url or time.monotonic() < self._skip_redis_until:
            return self.local
        with self._lock:
            if url not in self._redis:
                self._redis[url] = _RedisStore(url)
            return self._redis[url]

    def redis_failed(self, exc: Exception) -> None:
        now = time.monotonic()
        self._skip_redis_until = now + REDIS_RETRY_AFTER_FAILURE
        if now - self._warned_at >= REDIS_WARNING_INTERVAL:
            self._warned_at = now
            logger.warning(
                "SCIM rate limits are kept per process: Redis is unavailable (%s). Each web "
                "process applies the limits on its own; Redis is tried again every %d s.",
                exc.__class__.__name__,
                REDIS_RETRY_AFTER_FAILURE,
            )


_stores = _Stores()


def _ask(operation):
    """`operation(store)` on the current store; on a Redis failure, on the in-process one."""
    store = _stores.current()
    try:
        return operation(store)
    except redis.RedisError as exc:
        _stores.redis_failed(exc)
        return operation(_stores.local)


def key_request_allow(*, key_id: str) -> Decision:
    """Take one request from the API key's bucket (QA_SCIM_RATE_LIMIT per second, read now).

    `key_id` is the key's public id: unique across databases, so processes sharing one Redis
    never share a bucket by accident. Never raises: with Redis failing, this process's own
    bucket of the same size decides.
    """
    rate = float(getattr(settings, "QA_SCIM_RATE_LIMIT", 0) or 0)
    if rate <= 0:
        return ALLOWED
    allowed, wait, note = _ask(
        lambda store: store.take(f"key:{key_id}", rate=rate, capacity=rate * BURST_SECONDS)
    )
    if allowed:
        return ALLOWED
    return Decision(allowed=False, retry_after=max(1, math.ceil(wait)), log_refusal=note)


def auth_failure_register(*, client_ip: str) -> Decision:
    """Count a failed bearer attempt from this IP; refused once over the limit in the window.

    QA_SCIM_AUTH_FAILURE_LIMIT failures per AUTH_FAILURE_WINDOW seconds (0 turns it off).
    A valid key is never refused because of its IP: Entra calls from shared Azure addresses,
    so someone else's bad attempts must not lock a tenant out; the key's entropy, not this
    counter, is what defeats guessing. Never raises: with Redis failing, this process counts.
    """
    limit = int(getattr(settings, "QA_SCIM_AUTH_FAILURE_LIMIT", 0) or 0)
    if limit <= 0:
        return ALLOWED
    count, seconds_left = _ask(
        lambda store: store.count(f"auth-failures:{client_ip}", window=AUTH_FAILURE_WINDOW)
    )
    if count <= limit:
        return ALLOWED
    if count == limit + 1:
        logger.warning(
            "SCIM bearer failures from %s passed %d in %d s; refusing them with 429.",
            client_ip,
            limit,
            AUTH_FAILURE_WINDOW,
        )
    return Decision(allowed=False, retry_after=max(1, seconds_left), log_refusal=False)


def rate_limit_text() -> str:
    """The per-key limit in words, for error details."""
    rate = float(getattr(settings, "QA_SCIM_RATE_LIMIT", 0) or 0)
    return f"{rate:g} requests/second per key, bursts up to {rate * BURST_SECONDS:g}"
