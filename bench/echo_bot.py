"""A bare python-telegram-bot echo bot (long polling), the baseline of bench/throughput.py.

    python -m bench.echo_bot --api http://127.0.0.1:8081 --token TOKEN [--concurrent N]

PTB's defaults (one update at a time, httpx); --concurrent N lets PTB handle N at once
(`concurrent_updates`), the fair baseline for dvbot, which handles accounts side by side.
"""

from __future__ import annotations

import argparse

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer with the same text."""
    assert update.message is not None
    await update.message.reply_text(update.message.text or "")


def main() -> None:
    """Poll the stand-in until killed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--concurrent", type=int, default=0)
    args = parser.parse_args()
    builder = (Application.builder().token(args.token).base_url(f"{args.api}/bot")
               .base_file_url(f"{args.api}/file/bot"))
    if args.concurrent:
        # PTB's httpx pool holds one connection by default: 16, like dvbot's aiohttp pool.
        builder = builder.concurrent_updates(args.concurrent).connection_pool_size(16)
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(allowed_updates=["message"])


if __name__ == "__main__":
    main()
