"""`/chuadoc`: the notices a member missed while no channel could reach them (a closed Zalo OA
window, the Zalo bot out of quota), shown as they were sent, oldest first."""

from __future__ import annotations

from bot.engine.messages import Reply
from bot.engine.router import Outcome, Request, Router

PER_CALL = 5  # notices shown per /chuadoc; the rest on the next one


async def show_missed(request: Request) -> Outcome:
    """Show up to 5 missed notices and mark them seen."""
    outbox = request.deps.outbox
    pending = await outbox.pending(request.me.id)
    if not pending:
        return Outcome([Reply("Đồng chí không có thông báo nào chưa đọc.")])
    shown, left = pending[:PER_CALL], len(pending) - PER_CALL
    replies: list[Reply] = []
    for job_id in shown:
        replies += await outbox.messages(job_id)
    await outbox.forget_pending(request.me.id, shown)
    if left > 0:
        replies.append(Reply(f"Còn {left} thông báo chưa đọc. Gõ /chuadoc để xem tiếp."))
    return Outcome(replies)


def register(router: Router) -> None:
    """Register /chuadoc."""
    router.command("chuadoc", show_missed, description="Thông báo chưa đọc")
