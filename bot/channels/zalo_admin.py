"""Telling the admins in chat when a Zalo channel needs an operator (the OA's tokens died), and
the /healthz detail that says the same to monitoring."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.delivery.reach import OA
from bot.deps import Deps
from bot.engine.messages import Reply
from bot.formatting import VIETNAM, esc
from bot.org import access
from bot.org.models import Member, Role

log = logging.getLogger("dvbot.zalo")

BATCH = 500


async def admins(deps: Deps) -> list[Member]:
    """Every member with the admin role somewhere."""
    found: list[Member] = []
    total = await deps.members.count()
    for start in range(0, total, BATCH):
        ids = [str(i) for i in await deps.redis.zrange(deps.keys.members_all(), start,
                                                         start + BATCH - 1)]
        found += [m for m in await deps.members.many(ids) if access.has_any(m, Role.ADMIN)]
    return found


def token_alert(deps: Deps) -> Callable[[str], Awaitable[None]]:
    """An alert that tells the admins, once a day at most, on a channel other than the OA."""

    async def alert(why: str) -> None:
        now: datetime = deps.clock()
        people = await admins(deps)
        recipients = [r for r in await deps.outbox.reach.recipients(people, avoid={OA})
                      if r.channel]
        if not recipients:
            log.error("no admin can be told about the Zalo OA tokens on another channel")
            return
        text = ("<b>Zalo OA ngừng gửi được tin</b>\nBot không làm mới được mã truy cập của "
                f"Zalo OA ({esc(why)}). Đồng chí quản trị cần lấy mã làm mới (refresh token) "
                "mới trong trang quản lý ứng dụng Zalo, đặt vào DVBOT_ZALO_OA_REFRESH_TOKEN "
                "rồi khởi động lại bot. Trong lúc chờ, các đồng chí chỉ dùng Zalo OA sẽ không "
                "nhận được tin.")
        day = now.astimezone(VIETNAM).strftime("%Y%m%d")
        await deps.outbox.enqueue(f"zoa-token-{day}", recipients, [Reply(text)])

    return alert
