"""Guessing invite or link codes: a burst of wrong codes from one account is stopped after
10 a minute with a polite wait message; other accounts and the next minute are unaffected."""

from __future__ import annotations

import secrets

from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.org import account_links
from bot.org.guesses import LIMIT
from bot.org.invites import ALPHABET, CODE_LENGTH
from bot.org.models import Role
from tests.conftest import Clock
from tests.handlers.chat import Chat


def _random_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


async def test_a_burst_of_wrong_invite_codes_is_stopped(dispatcher: Dispatcher, deps: Deps,
                                                        clock: Clock) -> None:
    real = await deps.invites.create(unit="cb-a1", role=Role.MEMBER, created_by="t",
                                     max_uses=5, days=7, now=clock())
    guesser = Chat(dispatcher, "666")
    answers = []
    for _ in range(3 * LIMIT):
        await guesser.say(f"/start {_random_code()}")
        answers.append(guesser.text)
    assert all("Mã mời không đúng" in a for a in answers[:LIMIT])
    assert all("nhập sai mã quá nhiều lần" in a for a in answers[LIMIT:]), answers[LIMIT]
    assert "giây" in answers[-1]
    # Even the right code waits: a guesser cannot tell a hit from a miss while blocked.
    await guesser.say(real.code)
    assert "nhập sai mã quá nhiều lần" in guesser.text
    # Another account is not affected.
    honest = Chat(dispatcher, "667")
    await honest.say(f"/start {real.code}")
    assert "họ và tên" in honest.text
    # The window passes (the counter's TTL): the guesser may try again.
    await deps.redis.delete(deps.keys.code_guesses("telegram", "666"))
    await guesser.say(real.code)
    assert "họ và tên" in guesser.text


async def test_a_burst_of_wrong_link_codes_is_stopped(dispatcher: Dispatcher, deps: Deps) -> None:
    zalo = Chat(dispatcher, "z9", channel="zalo", buttons=False)
    for _ in range(LIMIT):
        code = "".join(secrets.choice(account_links.ALPHABET)
                       for _ in range(account_links.CODE_LENGTH))
        await zalo.say(f"/lienket {code}")
        assert "Mã liên kết không đúng" in zalo.text
    await zalo.say("/lienket ABCDEFGH")
    assert "nhập sai mã quá nhiều lần" in zalo.text


async def test_the_counter_expires_within_the_minute(dispatcher: Dispatcher, deps: Deps) -> None:
    guesser = Chat(dispatcher, "668")
    await guesser.say(f"/start {_random_code()}")
    ttl = await deps.redis.ttl(deps.keys.code_guesses("telegram", "668"))
    assert 0 < ttl <= 60
