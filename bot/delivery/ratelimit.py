"""One rate limiter per bot token, kept in Redis so every worker in every process shares it.

GCRA ("virtual scheduling"): each send reserves the next free slot on the token's timeline,
`1/rate` seconds after the previous one, and the chat's own slot at most once per
`chat_interval`. The clock is the Redis server's (TIME inside the script), so processes on
different machines agree. A 429 sets a pause-until key that every reservation honours.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from bot.storage.keys import Keys

# KEYS: lane timeline, chat timeline, pause-until.  ARGV: lane interval, chat interval,
# horizon (all in microseconds). Returns {reserved, wait, now}. Numbers are formatted with
# %.0f because Lua would otherwise write 1.7e15 in exponent form and lose precision.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local pause = tonumber(redis.call('GET', KEYS[3]) or '0')
if pause > now then return {0, string.format('%.0f', pause - now), string.format('%.0f', now)} end
local chat_interval = tonumber(ARGV[2])
if chat_interval > 0 then
  local chat = tonumber(redis.call('GET', KEYS[2]) or '0')
  if chat > now then return {0, string.format('%.0f', chat - now), string.format('%.0f', now)} end
end
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
local horizon = tonumber(ARGV[3])
if slot - now > horizon then
  return {0, string.format('%.0f', slot - now - horizon), string.format('%.0f', now)}
end
local interval = tonumber(ARGV[1])
local ttl = math.ceil((slot + interval - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', slot + interval), 'PX', ttl)
if chat_interval > 0 then
  ttl = math.ceil((slot + chat_interval - now) / 1000) + 1000
  redis.call('SET', KEYS[2], string.format('%.0f', slot + chat_interval), 'PX', ttl)
end
return {1, string.format('%.0f', slot - now), string.format('%.0f', now)}
"""

# KEYS: pause-until. ARGV: seconds (µs). Extends the pause, never shortens it.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1])
if until_ > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], string.format('%.0f', until_), 'PX', math.ceil(ARGV[1] / 1000) + 1000)
end
return string.format('%.0f', until_ - now)
"""

# KEYS: pause-until. Returns the pause left, in µs (0 when not paused).
_PAUSED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local pause = tonumber(redis.call('GET', KEYS[1]) or '0')
return string.format('%.0f', math.max(0, pause - now))
"""

MICRO = 1_000_000


@dataclass(frozen=True)
class Reservation:
    """A slot: when `reserved`, send after `wait` seconds; otherwise ask again after `wait`."""

    reserved: bool
    wait: float
    at: float  # server time of the slot (or of the retry), epoch seconds


class RateLimiter:
    """Shared limit for one bot token: `rate` msg/s in total (a separate `paid_rate` lane for
    paid broadcasts), at most one message per `chat_interval` seconds to a chat."""

    def __init__(self, redis: Redis, keys: Keys, name: str, *, rate: float,
                 paid_rate: float = 0.0, chat_interval: float = 1.0,
                 horizon: float = 5.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.name = name
        self.rate = rate
        self.paid_rate = paid_rate or rate
        self._keys = keys
        self._chat_us = round(chat_interval * MICRO)
        self.horizon = horizon
        self._horizon_us = round(horizon * MICRO)
        self._reserve = redis.register_script(_RESERVE)
        self._pause = redis.register_script(_PAUSE)
        self._paused = redis.register_script(_PAUSED)

    async def reserve(self, chat: str, *, paid: bool = False) -> Reservation:
        """Try to reserve the next slot for a message to `chat` (one round trip)."""
        rate = self.paid_rate if paid else self.rate
        keys = [self._keys.rate(self.name, "paid" if paid else "all"),
                self._keys.rate(self.name, f"chat:{chat}"), self._keys.rate(self.name, "pause")]
        reserved, wait, now = await self._reserve(
            keys=keys, args=[round(MICRO / rate), self._chat_us, self._horizon_us])
        wait_s = int(wait) / MICRO
        return Reservation(bool(int(reserved)), wait_s, int(now) / MICRO + wait_s)

    async def pause(self, seconds: float) -> None:
        """Stop every sender of this token for `seconds` (after a 429 RetryAfter)."""
        await self._pause(keys=[self._keys.rate(self.name, "pause")],
                          args=[round(seconds * MICRO)])

    async def paused_for(self) -> float:
        """Seconds left of a pause, 0.0 when sending may go on."""
        left = await self._paused(keys=[self._keys.rate(self.name, "pause")])
        return int(left) / MICRO
