"""Fixed-window rate limiting per API key, in Redis (shared by replicas) or in memory as fallback."""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass

import redis

LOG = logging.getLogger("coffee_tracker.ratelimit")

# After Redis fails, requests skip it for this long instead of each paying a connect attempt.
REDIS_RETRY_AFTER_S = 5.0


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int
    backend: str


def identity_for(api_key: str) -> str:
    """The counter name for a key; the key itself never lands in Redis."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:16]


def counter_key(api_key: str) -> str:
    return f"ratelimit:{identity_for(api_key)}"


class RateLimiter:
    def __init__(self, redis_url: str, limit: int, window_s: int) -> None:
        self.limit = limit
        self.window_s = window_s
        self._redis = redis.Redis.from_url(
            redis_url, socket_timeout=0.5, socket_connect_timeout=0.5, health_check_interval=30
        )
        self._redis_retry_at = 0.0
        self._memory: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def ping(self) -> bool:
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False

    def hit(self, api_key: str) -> Decision:
        key = counter_key(api_key)
        backend = "memory"
        count, ttl = 0, self.window_s
        if time.monotonic() >= self._redis_retry_at:
            try:
                count, ttl = self._hit_redis(key)
                backend = "redis"
            except redis.RedisError as exc:
                LOG.warning("redis unavailable, rate limiting in memory: %s", exc)
                self._redis_retry_at = time.monotonic() + REDIS_RETRY_AFTER_S
        if backend == "memory":
            count, ttl = self._hit_memory(key)
        return Decision(
            allowed=count <= self.limit,
            limit=self.limit,
            remaining=max(self.limit - count, 0),
            reset_s=max(ttl, 0),
            backend=backend,
        )

    def _hit_redis(self, key: str) -> tuple[int, int]:
        # INCR then EXPIRE NX: the window starts at the first request and is never extended.
        pipe = self._redis.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, self.window_s, nx=True)
        pipe.ttl(key)
        count, _expire_set, ttl = pipe.execute()
        return int(count), int(ttl)

    def _hit_memory(self, key: str) -> tuple[int, int]:
        now = time.monotonic()
        with self._lock:
            count, resets_at = self._memory.get(key, (0, now + self.window_s))
            if now >= resets_at:
                count, resets_at = 0, now + self.window_s
            count += 1
            self._memory[key] = (count, resets_at)
        return count, int(resets_at - now + 0.999)
