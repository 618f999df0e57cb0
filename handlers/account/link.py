"""`/lienket`: use the bot on a second platform (Telegram ↔ Zalo) as the same member.

On the platform where the member is registered, `/lienket` gives a one-time code (10 minutes,
single use); on the other one, `/lienket CODE` (or the bare code) links that account.
"""

from __future__ import annotations

from bot.engine.conversation import Dialog
from bot.engine.messages import Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.org.account_links import TTL_SECONDS, LinkStatus, normalize_link_code
from bot.org.guesses import CodeGuesses, wait_text
from handlers.account.cancel import CANCEL
from handlers.account.menu import BACK, main_menu

FLOW = "link"
CHANNEL_NAMES = {"telegram": "Telegram", "zalo": "Zalo", "zalo_oa": "Zalo OA",
                 "console": "dòng lệnh"}
ASK_CODE = (
    "Để dùng bot trên tài khoản này với tư cách thành viên đã đăng ký, đồng chí mở bot trên "
    "ứng dụng đã đăng ký, gõ <code>/lienket</code> để lấy mã liên kết (8 ký tự), rồi gửi mã đó "
    "vào đây."
)
STATUS_TEXT = {
    LinkStatus.INVALID: "Mã liên kết không đúng, đã hết hạn hoặc đã được dùng. Đồng chí gõ "
                        "/lienket trên ứng dụng đã đăng ký để lấy mã mới.",
    LinkStatus.TAKEN: "Tài khoản này đã gắn với một thành viên khác nên không liên kết được. "
                      "Đồng chí liên hệ cán bộ phụ trách nếu cần hỗ trợ.",
    LinkStatus.HAS_CHANNEL: "Thành viên này đã có một tài khoản {channel} khác. Đồng chí liên "
                            "hệ cán bộ phụ trách nếu muốn đổi tài khoản.",
}


async def link(request: Request) -> Outcome:
    """`/lienket [code]`: give a code (member), or link this account with one (newcomer)."""
    if request.args:
        return await with_code(request, " ".join(request.args))
    if request.member is None:
        return Outcome([Reply(ASK_CODE, buttons=rows(CANCEL))],
                       dialog=Dialog(flow=FLOW, step="link.code"))
    code = await request.deps.account_links.create(request.me.id)
    await request.deps.audit.record(request.me.id, "link_code", channel=request.incoming.channel)
    text = (f"Mã liên kết của đồng chí: <code>{code}</code>\n"
            f"Mã dùng được một lần, trong {TTL_SECONDS // 60} phút. Trên ứng dụng còn lại "
            f"(Telegram hoặc Zalo), đồng chí gửi <code>/lienket {code}</code> cho bot. "
            "Không đưa mã này cho người khác.")
    return Outcome([Reply(text, buttons=rows(BACK))])


async def code_step(request: Request) -> Outcome:
    """The newcomer typed something after being asked for a link code."""
    return await with_code(request, request.text)


async def with_code(request: Request, typed: str) -> Outcome:
    """Link this account to the member behind the code, or say why not."""
    code = normalize_link_code(typed)
    if code is None:
        return Outcome([Reply("Mã liên kết gồm 8 chữ cái và chữ số. Xin đồng chí gửi lại.",
                              buttons=rows(CANCEL))], dialog=Dialog(flow=FLOW, step="link.code"))
    if request.member is not None:
        return Outcome([await main_menu(request, lead="Tài khoản này đã đăng ký rồi, "
                                                     "không cần liên kết.")])
    channel, user_id = request.incoming.channel, request.incoming.user_id
    guesses = CodeGuesses(request.deps.redis, request.deps.keys)
    wait = await guesses.wait_seconds(channel, user_id)
    if wait:
        return Outcome([Reply(wait_text(wait), buttons=rows(CANCEL))],
                       dialog=Dialog(flow=FLOW, step="link.code"))
    status, member = await request.deps.account_links.redeem(code, channel, user_id)
    if status is LinkStatus.INVALID:
        await guesses.wrong(channel, user_id)
    if status is not LinkStatus.OK or member is None:
        text = STATUS_TEXT[status].format(channel=CHANNEL_NAMES.get(channel, channel))
        return Outcome([Reply(text)])
    await request.deps.audit.record(member.id, "link", channel=channel)
    linked = Request(request.incoming, request.deps, request.router, member, None)
    lead = (f"Đã liên kết tài khoản {CHANNEL_NAMES.get(channel, channel)} này với thành viên "
            "đã đăng ký. Từ nay đồng chí dùng bot ở cả hai nơi.")
    return Outcome([await main_menu(linked, lead=lead)])


def register(router: Router) -> None:
    """Register /lienket and its code step (public: the new account is not a member yet)."""
    router.command("lienket", link, description="Liên kết tài khoản Telegram và Zalo",
                   public=True, keywords=("liên kết",))
    router.step("link.code", code_step, public=True)
