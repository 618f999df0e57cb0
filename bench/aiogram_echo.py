"""A bare aiogram 3 echo bot (long polling), a peer of bench/throughput.py.

    python -m bench.aiogram_echo --api http://127.0.0.1:8081 --token TOKEN [--tasks]

Text is echoed back; a button press is answered and its message edited. By default aiogram
handles one update at a time (`handle_as_tasks=False`), the peer the issue names; --tasks
lets it handle each update as its own task. Needs the `bench` extra (pip install -e .[bench]).
"""

from __future__ import annotations

import argparse
import asyncio

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message


async def echo(message: Message) -> None:
    """Answer with the same text."""
    await message.answer(message.text or "")


async def press(query: CallbackQuery) -> None:
    """Stop the spinner and edit the message the button was on."""
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(f"Đã chọn: {query.data}")


async def main() -> None:
    """Poll the stand-in until killed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--tasks", action="store_true")
    args = parser.parse_args()
    session = AiohttpSession(api=TelegramAPIServer.from_base(args.api))
    bot = Bot(args.token, session=session)
    dispatcher = Dispatcher()
    dispatcher.message.register(echo)
    dispatcher.callback_query.register(press)
    await dispatcher.start_polling(bot, handle_as_tasks=args.tasks, handle_signals=True,
                                   allowed_updates=["message", "callback_query"])


if __name__ == "__main__":
    asyncio.run(main())
