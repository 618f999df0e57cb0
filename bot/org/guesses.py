"""A cap on wrong invite and link codes per account: guessing codes by brute force stops at
a few attempts a minute, while a person who mistypes a code a couple of times never notices."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.storage.keys import Keys

LIMIT = 10  # wrong codes per account per window
WINDOW = 60  # seconds

WAIT_TEXT = ("Đồng chí đã nhập sai mã quá nhiều lần. Xin đồng chí chờ khoảng {seconds} giây "
             "rồi thử lại, hoặc liên hệ cán bộ chi bộ để được cấp lại mã.")


class CodeGuesses:
    """Wrong-code counters in a fixed window per account (one key each, with a TTL)."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def wait_seconds(self, channel: str, user_id: str) -> int:
        """0 when the account may try a code now; otherwise how long until it may."""
        key = self._keys.code_guesses(channel, user_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.ttl(key)
            count, ttl = await pipe.execute()
        if count is None or int(count) < LIMIT:
            return 0
        return max(1, int(ttl))

    async def wrong(self, channel: str, user_id: str) -> None:
        """Count one wrong code; the window starts with the first one."""
        key = self._keys.code_guesses(channel, user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, WINDOW, nx=True)
            await pipe.execute()


def wait_text(seconds: int) -> str:
    """The polite "too many wrong codes" answer."""
    return WAIT_TEXT.format(seconds=seconds)
