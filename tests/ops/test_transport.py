"""The aiohttp Bot API transport against the stand-in: form and multipart bodies, and the
errors PTB's retry code expects (NetworkError, TimedOut) without the token in them."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.channels.telegram_transport import AiohttpRequest
from tests.conftest import free_port
from tests.standin.botapi import BotApiStandin


async def test_text_and_file_uploads_reach_the_standin(standin: BotApiStandin) -> None:
    bot = Bot(standin.token, base_url=f"{standin.url}/bot", request=AiohttpRequest())
    async with bot:
        assert bot.username == standin.username  # getMe during initialize
        await bot.send_message(42, "Chào <b>đồng chí</b>", parse_mode="HTML")
        await bot.send_document(42, b"%PDF-1.4 test", filename="nghi-quyet.pdf",
                                caption="Tệp đính kèm")
    [text, document] = standin.messages_to(42)
    assert text.text == "Chào <b>đồng chí</b>"
    assert document.text == "Tệp đính kèm"
    assert document.method.lower() == "senddocument"


async def test_an_unreachable_server_is_a_network_error_without_the_token() -> None:
    token = "5550123:AAHs3cr3t-Token_ForDvbotTests"
    request = AiohttpRequest()
    bot = Bot(token, base_url=f"http://127.0.0.1:{free_port()}/bot", request=request)
    try:
        with pytest.raises(NetworkError) as caught:
            await bot.initialize()
    finally:
        await request.shutdown()
    assert "AAHs3cr3t" not in str(caught.value)
    assert not isinstance(caught.value, TimedOut)


async def test_a_silent_server_times_out() -> None:
    async def hang(_request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.Response()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hang)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        request = AiohttpRequest(read_timeout=0.2, write_timeout=0.2)
        bot = Bot("1:xyz", base_url=f"http://127.0.0.1:{port}/bot", request=request)
        with pytest.raises(TimedOut):
            await bot.initialize()
    finally:
        await request.shutdown()
        await runner.cleanup()
