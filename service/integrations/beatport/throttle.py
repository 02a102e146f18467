"""A token bucket in Redis, shared by every worker and web process that talks to Beatport.

Beatport documents no rate-limit headers, so we keep our own pace: ``rate`` requests per second on
average, bursts up to ``burst``. The bucket lives in one Redis hash (tokens, last refill time) and is
updated by one Lua script, so concurrent processes never both take the last token. The script uses
Redis's own clock (``TIME``), so processes with skewed clocks still share one pace.
"""

from __future__ import annotations

import time

import redis

# KEYS[1] bucket; ARGV: rate (tokens/s), burst, cost. Returns 0 when taken, else ms to wait.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
else
  wait = math.ceil((cost - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return wait
"""


class TokenBucket:
    """``acquire()`` blocks until a request may be sent under the shared pace."""

    def __init__(
        self, connection: redis.Redis, key: str, *, rate: float, burst: int, max_wait_s: float = 60
    ) -> None:
        self.connection = connection
        self.key = key
        self.rate = float(rate)
        self.burst = max(1, int(burst))
        self.max_wait_s = max_wait_s
        self._script = connection.register_script(_TAKE)

    def try_acquire(self) -> float:
        """Take a token if one is there: 0.0, else the seconds to wait before asking again."""
        wait_ms = int(self._script(keys=[self.key], args=[self.rate, self.burst, 1]))
        return wait_ms / 1000

    def acquire(self) -> float:
        """Wait for a token; returns the seconds waited. Raises TimeoutError past ``max_wait_s``."""
        waited = 0.0
        while True:
            wait = self.try_acquire()
            if wait <= 0:
                return waited
            if waited + wait > self.max_wait_s:
                raise TimeoutError(f"Beatport throttle: no slot within {self.max_wait_s:.0f} s")
            time.sleep(wait)
            waited += wait
