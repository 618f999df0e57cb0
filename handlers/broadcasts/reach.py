"""The preview's breakdown of who a broadcast reaches: per app, free or billed, and who cannot
be reached now and why (bot.delivery.reach decides; this only words it)."""

from __future__ import annotations

from collections import Counter

from bot.delivery.models import Recipient
from bot.delivery.reach import BILLED, OFFER_LATER
from handlers.broadcasts.report import REASONS, number

APPS = {"telegram": "Telegram", "zalo_oa": "Zalo OA", "zalo": "Zalo (bot)",
        "console": "Thử trên máy (dòng lệnh)", "demo": "Dùng thử"}


def reach_lines(recipients: list[Recipient]) -> list[str]:
    """"• Zalo OA: 5 miễn phí, 2 có tính phí" per app, then the unreachable with reasons."""
    free: Counter[str] = Counter()
    billed: Counter[str] = Counter()
    missing: Counter[str] = Counter()
    for r in recipients:
        if r.channel is None:
            missing[r.reason or "no_account"] += 1
        elif r.cost == BILLED:
            billed[r.channel] += 1
        else:
            free[r.channel] += 1
    lines = ["Theo ứng dụng nhận tin:"] if free or billed else []
    for app, label in APPS.items():
        parts = [f"{number(free[app])} miễn phí"] if free[app] else []
        parts += [f"{number(billed[app])} có tính phí"] if billed[app] else []
        if parts:
            lines.append(f"• {label}: {', '.join(parts)}")
    if missing:
        lines.append(f"Không liên lạc được: <b>{number(sum(missing.values()))}</b> đồng chí")
        lines += [f"  – {REASONS.get(reason, reason)}: {number(n)}"
                  for reason, n in missing.most_common()]
        if any(reason in OFFER_LATER for reason in missing):
            lines.append("  (các đồng chí này sẽ được báo có thông báo chưa đọc khi nhắn lại "
                         "cho bot)")
    return lines
