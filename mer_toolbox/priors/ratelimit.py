"""A token-bucket requests-per-minute limiter for asyncio callers."""
import asyncio
import time
from typing import Optional


class AsyncRateLimiter:
    """Let at most ``requests_per_minute`` calls start per minute.

    Tokens refill continuously; the bucket starts full. Waiters are served in
    arrival order (one lock), so no caller starves under load.

    Args:
        requests_per_minute: the limit; None or 0 disables limiting.
        burst: bucket size, i.e. how many calls may start back to back after
            an idle spell. Default 1: calls are spread evenly, which is what
            per-minute quotas reward.
    """

    def __init__(self, requests_per_minute: Optional[float],
                 burst: int = 1) -> None:
        if burst < 1:
            raise ValueError(f'burst must be >= 1, got {burst}')
        self.rate = (requests_per_minute or 0) / 60.0  # tokens per second
        self.burst = burst
        self._tokens = float(burst)
        self._last = time.monotonic()
        self._lock: Optional[asyncio.Lock] = None

    async def acquire(self) -> None:
        """Wait until a call may start, then take its token."""
        if self.rate <= 0:
            return
        if self._lock is None:  # created here so it binds the running loop
            self._lock = asyncio.Lock()
        async with self._lock:
            self._refill()
            if self._tokens < 1:
                await asyncio.sleep((1 - self._tokens) / self.rate)
                self._refill()
            self._tokens -= 1

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.burst,
                           self._tokens + (now - self._last) * self.rate)
        self._last = now
