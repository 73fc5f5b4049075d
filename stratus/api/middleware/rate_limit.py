"""Optional per-caller rate limiting (``api_rate_limit`` requests per second,
``api_rate_burst`` burst) with a token bucket per caller and worker.

The caller is identified by its token (hashed) or, unauthenticated, by its
address.  Over the limit the request gets a 429 in the service's error format
with ``Retry-After``.  Buckets idle long enough to be full again are dropped,
so memory stays bounded by the number of active callers.
"""
from __future__ import annotations

import hashlib
import time

from stratus.api import errors as api_errors
from stratus.common import errors


class TokenBucket:
    """Pure token-bucket arithmetic; ``now`` is passed in so tests control time."""

    def __init__(self, rate: float, burst: int, now: float):
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = float(burst), now

    def take(self, now: float) -> float:
        """Consume one token; returns 0 on success or the seconds to wait."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class RateLimitMiddleware:
    def __init__(self, app, rate: int, burst: int, clock=time.monotonic):
        self.app = app
        self.rate, self.burst = rate, max(burst, 1)
        self.clock = clock
        self.buckets: dict[str, TokenBucket] = {}
        self._last_sweep = clock()

    def _key(self, scope) -> str:
        for k, v in scope["headers"]:
            if k == b"x-auth-token":
                return "t:" + hashlib.sha1(v).hexdigest()
        client = scope.get("client") or ("?", 0)
        return f"a:{client[0]}"

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.rate <= 0:
            return await self.app(scope, receive, send)
        now = self.clock()
        if now - self._last_sweep > 60:
            full_after = self.burst / self.rate
            self.buckets = {k: b for k, b in self.buckets.items() if now - b.stamp < full_after}
            self._last_sweep = now
        key = self._key(scope)
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = TokenBucket(self.rate, self.burst, now)
        wait = bucket.take(now)
        if wait > 0:
            exc = errors.TooManyRequests(
                "Rate limit exceeded: more than "
                f"{self.rate} requests per second (api_rate_limit). Retry later.",
                headers={"Retry-After": str(max(1, round(wait)))})
            response = api_errors.render(api_errors.service_of(scope["path"]), exc)
            return await response(scope, receive, send)
        await self.app(scope, receive, send)
