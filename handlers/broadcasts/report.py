"""`/thongbao`: a cadre's broadcasts with live progress, the per-unit report, cancel, remind;
and the members' "Đã nhận" button. Scope is re-checked on every press."""

from __future__ import annotations

from datetime import datetime

from bot.broadcasts.service import Broadcast, Report
from bot.delivery.models import Tally
from bot.delivery.reach import BOT, OFFER_LATER
from bot.engine.actions import act
from bot.engine.messages import Button, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import VIETNAM, esc, vn_datetime
from bot.org import access
from bot.org.models import Role
from handlers.account.menu import BACK
from handlers.shared.picker import arg

NEW = Button("Soạn thông báo mới", act("bc"))
LIST = Button("Danh sách thông báo", act("bc.ls"))


def number(value: int) -> str:
    """11000 -> "11.000", as Vietnamese readers write it."""
    return f"{value:,}".replace(",", ".")


def status_line(report: Report) -> str:
    """Where a broadcast stands, in one line."""
    tally = report.stats.overall
    if report.status == "cancelled":
        return f"Đã hủy (đã gửi {number(tally.sent)})"
    if report.status == "scheduled":
        return f"Hẹn gửi lúc {vn_datetime(report.broadcast.at)}"
    done = tally.sent + tally.failed + tally.blocked
    if report.status == "sending":
        return f"Đang gửi: {number(done)}/{number(tally.total)}"
    return f"Đã gửi xong: {number(tally.sent)}/{number(tally.total)} người nhận được"


async def list_mine(request: Request) -> Outcome:
    """The cadre's latest broadcasts with progress."""
    if not access.has_any(request.me, Role.CADRE):
        raise access.Forbidden("Chức năng này dành cho đồng chí được phân công phụ trách đơn vị.")
    service = request.deps.broadcasts
    mine = await service.by_author(request.me.id)
    if not mine:
        return _say(request, "Đồng chí chưa gửi thông báo nào.", [NEW, BACK])
    tree = await request.tree()
    lines, buttons = ["<b>Thông báo đồng chí đã gửi</b>"], []
    for b in mine:
        report = await service.report(b)
        unit = tree.get(b.unit)
        lines.append(f"#{b.id} · {vn_datetime(b.created_at)} · {esc(unit.name if unit else b.unit)}"
                     f"\n   {status_line(report)}")
        buttons.append(Button(f"#{b.id}: xem báo cáo", act("bc.v", b.id)))
    return _say(request, "\n".join(lines), [*buttons, NEW, BACK])


async def show(request: Request) -> Outcome:
    """One broadcast's report, per child unit."""
    b = await _mine(request)
    report = await request.deps.broadcasts.report(b)
    buttons = [Button("↻ Làm mới", act("bc.v", b.id))]
    if report.status in ("scheduled", "sending"):
        buttons.append(Button("Hủy gửi", act("bc.x", b.id)))
    pending = report.stats.overall.sent - report.stats.overall.confirmed
    if b.ack and report.status == "done" and pending > 0:
        buttons.append(Button(f"Nhắc {number(pending)} người chưa xác nhận", act("bc.r", b.id)))
    text = _report_text(report) + await _reasons(request, b)
    if report.status == "sending" and night(request.now()):
        text += f"\n\n{NIGHT_NOTE}"
    if await request.deps.broadcasts.reach.exhausted(BOT):
        text += f"\n\n{QUOTA_NOTE}"
    return _say(request, text, [*buttons, LIST, BACK])


# Why deliveries failed, as cadres read it (with each documented Zalo refusal on its own).
REASONS = {"blocked": "chặn bot", "deactivated": "tài khoản đã xóa",
           "chat_not_found": "không tìm thấy cuộc trò chuyện", "forbidden": "không được phép",
           "bad_request": "nền tảng từ chối tin", "no_account": "chưa có tài khoản nhận tin",
           "gave_up": "lỗi mạng kéo dài",
           "zalo_window_closed": "Zalo OA: đã quá thời hạn được nhắn tin (người nhận lâu không "
                                 "tương tác với OA)",
           "zalo_oa_billed_off": "Zalo OA: chỉ nhắn được nếu trả phí (người nhận không nhắn "
                                 "cho OA từ 48 giờ đến 7 ngày), mà cấu hình chưa cho phép",
           "zalo_oa_billing": "Zalo OA: tin có tính phí cần tài khoản Zalo Cloud còn tiền",
           "zalo_not_follower": "Zalo OA: người nhận chưa quan tâm OA",
           "zalo_inactive": "Zalo OA: người nhận bị khóa hoặc không dùng Zalo quá 45 ngày",
           "zalo_oa_tier": "Zalo OA: OA cần nâng cấp gói dịch vụ để gửi loại tin này",
           "zalo_oa_receive_quota": "Zalo OA: người nhận đã nhận đủ số tin cho phép",
           "zalo_quota": "Zalo OA: hết hạn mức gửi tin",
           "zalo_bot_quota": "Zalo (bot): đã hết số tin nhắn được gửi trong tháng"}
UNREACHABLE_NOTE = ("Những đồng chí chưa nhận được vì lâu không tương tác sẽ được báo có thông "
                    "báo chưa đọc khi nhắn lại cho bot.")
QUOTA_NOTE = ("Zalo (bot) đã hết số tin nhắn được gửi trong tháng này: đến đầu tháng sau, các "
              "đồng chí có ứng dụng khác được gửi qua ứng dụng đó.")
NIGHT_NOTE = ("Zalo OA không cho gửi tin từ 22:00 đến 6:00: tin còn lại gửi qua Zalo OA sẽ "
              "được gửi sau 6:00 sáng.")


async def _reasons(request: Request, b: Broadcast) -> str:
    counts = await request.deps.outbox.failure_reasons(b.job_id)
    counts.pop("blocked", None)  # already its own column
    if not counts:
        return ""
    lines = [f"• {REASONS.get(reason, esc(reason))}: {number(n)}"
             for reason, n in counts.most_common()]
    later = any(reason in OFFER_LATER for reason in counts)
    return "\n\n<b>Lý do lỗi</b>\n" + "\n".join(lines) + (
        f"\n{UNREACHABLE_NOTE}" if later else "")


async def ask_cancel(request: Request) -> Outcome:
    """Make sure before stopping a broadcast."""
    b = await _mine(request)
    text = (f"Hủy thông báo #{b.id}? Những đồng chí chưa nhận được sẽ không nhận nữa; "
            "tin đã gửi thì không thu hồi được.")
    return _say(request, text, [Button("Xác nhận hủy", act("bc.xx", b.id)),
                                Button("Không hủy", act("bc.v", b.id))])


async def cancel(request: Request) -> Outcome:
    """Stop it."""
    b = await _mine(request)
    before = await request.deps.broadcasts.cancel(b, request.me.id)
    text = {"done": f"Thông báo #{b.id} đã gửi xong trước khi hủy; không còn gì để dừng.",
            "cancelled": f"Thông báo #{b.id} đã được hủy trước đó.",
            "scheduled": f"Đã hủy thông báo #{b.id}; chưa gửi tới ai.",
            }.get(before, f"Đã dừng gửi thông báo #{b.id}. Xem báo cáo để biết số đã gửi.")
    return Outcome([Reply(text, buttons=rows(Button("Xem báo cáo", act("bc.v", b.id)), LIST))])


async def ask_remind(request: Request) -> Outcome:
    """Make sure before reminding."""
    b = await _mine(request)
    text = (f"Gửi lại thông báo #{b.id} (ghi «Nhắc lại») tới những đồng chí đã nhận nhưng chưa "
            "bấm «Đã nhận»?")
    return _say(request, text, [Button("Gửi nhắc", act("bc.rr", b.id)),
                                Button("Không gửi", act("bc.v", b.id))])


async def remind(request: Request) -> Outcome:
    """Re-send to those who have not confirmed."""
    b = await _mine(request)
    service = request.deps.broadcasts
    report = await service.report(b)
    if not b.ack or report.status != "done":
        raise access.Forbidden("Chỉ nhắc được khi thông báo có nút «Đã nhận» và đã gửi xong.")
    if await service.reminder_running(b):
        raise access.Forbidden("Lời nhắc trước vẫn đang được gửi. Đồng chí đợi gửi xong.")
    count = await service.remind(b, request.me.id)
    text = (f"Đang gửi nhắc tới {number(count)} đồng chí chưa xác nhận." if count
            else "Mọi người nhận đã xác nhận; không cần nhắc.")
    return Outcome([Reply(text, buttons=rows(Button("Xem báo cáo", act("bc.v", b.id)), LIST))])


async def received(request: Request) -> Outcome:
    """A member pressed "Đã nhận" under an announcement."""
    broadcast_id = arg(request, 0)
    if broadcast_id == "preview":
        text = "Đây là bản xem trước: người nhận bấm nút này để xác nhận đã đọc thông báo."
    else:
        result = await request.deps.broadcasts.confirm(broadcast_id, request.me.id)
        text = {1: f"Đã ghi nhận đồng chí đã nhận thông báo #{esc(broadcast_id)}. "
                   "Cảm ơn đồng chí.",
                0: "Đồng chí đã xác nhận thông báo này rồi. Cảm ơn đồng chí."}.get(
            result if result is not None else -1,
            "Thông báo này không gửi tới đồng chí, hoặc đã hết hạn lưu.")
    return Outcome([Reply(text)], dialog=request.dialog, replace_options=False)


async def _mine(request: Request) -> Broadcast:
    """The broadcast named by the button, if the actor is a cadre over its unit."""
    b = await request.deps.broadcasts.get(arg(request, 0))
    if b is None:
        raise access.Forbidden("Không tìm thấy thông báo này.")
    access.require(request.me, Role.CADRE, b.unit, await request.tree())
    return b


def _report_text(report: Report) -> str:
    b, tally = report.broadcast, report.stats.overall
    lines = [f"<b>Thông báo #{b.id}</b> — {status_line(report)}",
             f"Người gửi: {esc(b.author_name)}; tạo lúc {vn_datetime(b.created_at)}",
             f"Nội dung: {esc(_excerpt(b))}", "",
             f"Tổng: {_counts(tally, b.ack)}"]
    if report.reminder is not None:
        lines.append(f"Lần nhắc gần nhất ({b.reminders}): đã gửi "
                     f"{number(report.reminder.overall.sent)}/"
                     f"{number(report.reminder.overall.total)}")
    rows_ = [(name, report.stats.groups.get(unit)) for unit, name in report.groups]
    shown = [(name, t) for name, t in rows_ if t is not None and t.total]
    if shown:
        lines += ["", "<b>Theo đơn vị</b>"]
        lines += [f"• {esc(name)}: {_counts(t, b.ack)}" for name, t in shown]
    return "\n".join(lines)


def night(moment: datetime) -> bool:
    """Is it the hours (22:00–6:00, Vietnam time) when the Zalo OA does not send?"""
    hour = moment.astimezone(VIETNAM).hour
    return hour >= 22 or hour < 6


def _counts(t: Tally, ack: bool) -> str:
    parts = [f"đã gửi {number(t.sent)}/{number(t.total)}"]
    parts += [f"có tính phí {number(t.billed)}"] if t.billed else []
    parts += [f"chờ gửi {number(t.pending)}"] if t.pending else []
    parts += [f"lỗi {number(t.failed)}", f"chặn bot {number(t.blocked)}"]
    parts += [f"đã nhận {number(t.confirmed)}"] if ack else []
    parts += [f"hủy {number(t.cancelled)}"] if t.cancelled else []
    return " · ".join(parts)


def _excerpt(b: Broadcast) -> str:
    text = " ".join(b.text.split())
    attached = " [kèm ảnh]" if b.file and b.file.kind == "photo" else " [kèm tệp]" if b.file \
        else ""
    return (text[:80] + "…" if len(text) > 80 else text) + attached


def _say(request: Request, text: str, buttons: list[Button]) -> Outcome:
    edit = request.incoming.action is not None
    return Outcome([Reply(text, buttons=rows(*buttons), edit=edit)])


def register(router: Router) -> None:
    """Register /thongbao, the report buttons and "Đã nhận"."""
    router.command("thongbao", list_mine, description="Thông báo đã gửi (cán bộ)",
                   visible=lambda m: access.has_any(m, Role.CADRE))
    router.action("bc.ls", list_mine)
    router.action("bc.v", show)
    router.action("bc.x", ask_cancel)
    router.action("bc.xx", cancel)
    router.action("bc.r", ask_remind)
    router.action("bc.rr", remind)
    router.action("bc.ok", received)
