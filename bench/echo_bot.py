"""A bare python-telegram-bot echo bot (long polling), the baseline of bench/throughput.py.

    python -m bench.echo_bot --api http://127.0.0.1:8081 --token TOKEN
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
    args = parser.parse_args()
    app = (Application.builder().token(args.token).base_url(f"{args.api}/bot")
           .base_file_url(f"{args.api}/file/bot").build())
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(allowed_updates=["message"])


if __name__ == "__main__":
    main()
