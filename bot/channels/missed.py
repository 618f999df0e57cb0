"""Notices a member could not be sent (no channel reached them then) are offered the next time
the member writes: "Đồng chí có 2 thông báo chưa đọc", at most once every few hours."""

from __future__ import annotations

from bot.deps import Deps
from bot.engine.messages import Incoming, Reply

TELL_AGAIN_AFTER = 6 * 3600
COMMAND = "/chuadoc"


async def with_missed(deps: Deps, incoming: Incoming, replies: list[Reply]) -> list[Reply]:
    """`replies`, and after them the offer of missed notices when there are any."""
    if (incoming.text or "").strip().startswith(COMMAND):
        return replies
    member = await deps.members.by_account(incoming.channel, incoming.user_id)
    if member is None:
        return replies
    pending = await deps.outbox.pending(member.id)
    if not pending:
        return replies
    told = await deps.redis.set(deps.keys.pending_offered(member.id), 1, nx=True,
                                ex=TELL_AGAIN_AFTER)
    if not told:
        return replies
    offer = (f"Đồng chí có {len(pending)} thông báo chưa đọc (gửi khi chưa liên lạc được với "
             f"đồng chí). Gõ {COMMAND} để xem.")
    return [*replies, Reply(offer)]
