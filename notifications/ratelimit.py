"""How fast each channel may send, held across every worker: a token bucket in Redis.

Providers cap how fast we may hand them messages: GOV.UK Notify accepts 3,000 a minute
per service by default and answers 429 beyond that; an SMTP relay or a bulk email
provider has its own cap. CHANNEL_RATE_LIMITS gives each channel's messages per
minute. Every batch takes a token per message before sending it, from one bucket per
channel that all workers on all machines share.

The bucket lives in Redis (REDIS_URL), updated by one Lua script so that taking
tokens is atomic however many workers ask at once, and timed by Redis's own clock so
that workers whose clocks disagree still share one timeline. Without Redis (the
zero-configuration default, where tasks run in the web process) the bucket is kept in
the process.

The limit holds for ANY sixty seconds, not only for clock minutes. A bucket that
refills at r tokens a second and holds at most b can give out b + 60·r in a minute,
so with b one second's worth, r is the limit divided by 61, not 60: 3,000 a minute
becomes 49.2 a second with bursts of 49, and no rolling minute sees more than 3,000.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from django.conf import settings

# Seconds of sending a full bucket allows at once.
BURST_SECONDS = 1.0

# KEYS[1] the bucket; ARGV rate (tokens a second), burst (most tokens held), want.
# Returns {granted, seconds until the next token as a string} (Redis turns Lua
# numbers into integers, so the fraction travels as text).
_TAKE_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate)
  at = now
end
local granted = math.min(want, math.floor(tokens))
if granted < 0 then granted = 0 end
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
local wait = 0
if tokens < 1 then wait = (1 - tokens) / rate end
return {granted, tostring(wait)}
"""


@dataclass(frozen=True)
class Rate:
    """A limit in messages per minute, as the bucket's refill rate and size."""

    per_minute: int

    @property
    def per_second(self) -> float:
        return self.per_minute / (60.0 + BURST_SECONDS)

    @property
    def burst(self) -> float:
        return max(1.0, math.floor(self.per_second * BURST_SECONDS))


@dataclass
class LocalBucket:
    """The same bucket in one process (no Redis): for development and eager tasks."""

    rate: Rate
    clock: Callable[[], float] = time.monotonic
    tokens: float | None = None
    at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, want: int) -> tuple[int, float]:
        """Take up to `want` tokens now: (how many were given, seconds until the next one)."""
        with self.lock:
            now = self.clock()
            if self.tokens is None:
                self.tokens, self.at = self.rate.burst, now
            if now > self.at:
                self.tokens = min(self.rate.burst, self.tokens + (now - self.at) * self.rate.per_second)
                self.at = now
            granted = max(0, min(want, math.floor(self.tokens)))
            self.tokens -= granted
            wait = (1 - self.tokens) / self.rate.per_second if self.tokens < 1 else 0.0
            return granted, wait


@dataclass
class RedisBucket:
    """The bucket every worker shares, in Redis."""

    rate: Rate
    key: str
    client: object

    def take(self, want: int) -> tuple[int, float]:
        granted, wait = _script(self.client)(
            keys=[self.key], args=[repr(self.rate.per_second), repr(self.rate.burst), int(want)]
        )
        return int(granted), float(wait)


@cache
def _script(client):
    return client.register_script(_TAKE_LUA)


@cache
def _redis_client(url: str):
    import redis

    # Short timeouts: a batch asking for tokens must not hang on a Redis that went away
    # (it treats the error as "no room now" and puts its deliveries back).
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


_local_buckets: dict[tuple[str, int], LocalBucket] = {}
_local_lock = threading.Lock()


def channel_bucket(channel: str) -> LocalBucket | RedisBucket | None:
    """The bucket holding `channel` to its CHANNEL_RATE_LIMITS entry; None when it has no limit."""
    per_minute = int(settings.CHANNEL_RATE_LIMITS.get(channel) or 0)
    if per_minute <= 0:
        return None
    rate = Rate(per_minute)
    if settings.REDIS_URL:
        prefix = settings.CACHES["default"].get("KEY_PREFIX") or "mcv"
        # The limit is part of the key: a changed setting starts a fresh bucket at once.
        key = f"{prefix}:ratelimit:{channel}:{per_minute}"
        return RedisBucket(rate=rate, key=key, client=_redis_client(settings.REDIS_URL))
    with _local_lock:
        return _local_buckets.setdefault((channel, per_minute), LocalBucket(rate=rate))


class RateGate:
    """The deliveries of one batch on one channel, handed out only as the channel's limit allows.

    Iterating it yields deliveries one by one, taking tokens a few at a time; when
    the channel is at its limit it sleeps for the next token if that comes within
    `max_wait` seconds, and otherwise stops early, leaving `wait` set: the caller
    puts what was not handed out back in line and queues the batch again for then.
    A Redis error counts as "no room now" (nothing is sent unlimited, nothing is lost).
    Slicing gives the plain deliveries (a backend that gives up on the rest of a batch
    marks them without sending them).
    """

    CHUNK = 50

    def __init__(self, deliveries, bucket, *, max_wait: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.deliveries = deliveries
        self.bucket = bucket
        self.max_wait = max_wait
        self.sleep = sleep
        self.handed_out = 0
        self.wait: float | None = None

    def __len__(self) -> int:
        return len(self.deliveries)

    def __getitem__(self, index):
        return self.deliveries[index]

    def __iter__(self):
        allowed = 0
        for delivery in self.deliveries:
            while allowed == 0:
                want = min(self.CHUNK, len(self.deliveries) - self.handed_out)
                try:
                    allowed, wait = self.bucket.take(want)
                except Exception:  # Redis unreachable: send nothing more unmetered
                    allowed, wait = 0, self.max_wait + 1
                if allowed == 0:
                    if wait > self.max_wait:
                        self.wait = max(wait, 1.0)
                        return
                    self.sleep(wait)
            allowed -= 1
            self.handed_out += 1
            yield delivery
