"""The Telegram reply path on its own, over real HTTP to the Bot API stand-in: long HTML texts
are cut between tags (a tag a cut leaves open is closed and reopened), buttons go under the
last part, and Telegram's refusal of unbalanced HTML is what the stand-in answers too."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import BadRequest

from bot.channels.telegram import build_bot
from bot.channels.telegram_send import Replies
from bot.channels.telegram_start import initialized
from bot.engine.messages import Button, Reply
from bot.formatting import split_text, to_plain
from bot.ops.metrics import Metrics
from tests.standin.botapi import BotApiStandin

CHAT = 424242


@pytest.fixture
async def bot(standin: BotApiStandin) -> AsyncIterator[Bot]:
    async with initialized(build_bot(standin.token, standin.url), standin.url) as ready:
        yield ready


def long_bold_reply() -> Reply:
    """A reply over 4,096 characters whose bold run crosses the place a cut must fall."""
    bold = " ".join(f"đậm{n}" for n in range(700))
    text = "<b>Tài liệu</b>\n" + "mở đầu " * 300 + "<b>" + bold + "</b>\n" + "kết thúc " * 100
    assert len(text) > 4096
    return Reply(text, buttons=((Button("« Về menu chính", "menu"),),))


async def test_long_html_reply_is_cut_between_tags(bot: Bot, standin: BotApiStandin) -> None:
    reply = long_bold_reply()
    await Replies(bot, Metrics()).send(CHAT, [reply])

    sent = standin.messages_to(CHAT)
    assert len(sent) >= 2
    assert all(c.status == 200 for c in standin.calls_of("sendMessage"))
    for message in sent:
        assert message.text is not None and len(message.text) <= 4096
        assert message.parse_mode == "HTML"
        assert not re.search(r"<[^>]*$", message.text)  # no tag cut in half at the end
    # Nothing lost: every word arrives once, in order.
    words = to_plain(" ".join(m.text or "" for m in sent)).split()
    assert words == to_plain(reply.text).split()
    # The buttons sit under the last part only.
    assert [standin.buttons(m) for m in sent[:-1]] == [[]] * (len(sent) - 1)
    assert standin.buttons(sent[-1]) == [[("« Về menu chính", "menu")]]


async def test_the_stand_in_refuses_what_a_plain_split_would_send(
        bot: Bot, standin: BotApiStandin) -> None:
    """Regression: the reply path cut HTML like plain text, so a bold run crossing the
    4,096-character mark left "<b>" open in one part and "</b>" alone in the next."""
    first, *_ = split_text(long_bold_reply().text, 4096)
    assert first.count("<b>") > first.count("</b>")
    replies = Replies(bot, Metrics())
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await replies.call("sendMessage", chat_id=CHAT, text=first, parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)unsupported start tag"):
        await replies.call("sendMessage", chat_id=CHAT, text="<script>x</script>",
                           parse_mode="HTML")
    # Without parse_mode the text is taken as it is.
    await replies.call("sendMessage", chat_id=CHAT, text=first)
