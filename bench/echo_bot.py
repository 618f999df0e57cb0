"""A bare python-telegram-bot echo bot (long polling), a peer of bench/throughput.py.

    python -m bench.echo_bot --api http://127.0.0.1:8081 --token TOKEN [--concurrent N]
                             [--aiohttp]

Text is echoed back; a button press is answered and its message edited. PTB's defaults handle
one update at a time on httpx; --concurrent N lets PTB handle N at once (`concurrent_updates`,
16 pooled connections, as dvbot); --aiohttp swaps httpx for the aiohttp transport dvbot uses
(bot/channels/telegram_transport.py), so the comparison is transport for transport.
"""

from __future__ import annotations

import argparse

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.channels.telegram_transport import AiohttpRequest


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer with the same text."""
    assert update.message is not None
    await update.message.reply_text(update.message.text or "")


async def press(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop the spinner and edit the message the button was on."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_text(f"Đã chọn: {query.data}")


def main() -> None:
    """Poll the stand-in until killed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--concurrent", type=int, default=0)
    parser.add_argument("--aiohttp", action="store_true")
    args = parser.parse_args()
    builder = (Application.builder().token(args.token).base_url(f"{args.api}/bot")
               .base_file_url(f"{args.api}/file/bot"))
    if args.aiohttp:
        builder = (builder.request(AiohttpRequest())
                   .get_updates_request(AiohttpRequest(pool_size=1)))
    if args.concurrent:
        builder = builder.concurrent_updates(args.concurrent)
        if not args.aiohttp:  # PTB's httpx pool holds one connection by default: 16, as dvbot
            builder = builder.connection_pool_size(16)
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(press))
    app.run_polling(allowed_updates=["message", "callback_query"])


if __name__ == "__main__":
    main()
