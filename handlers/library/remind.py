""""Nhắc nhở" from the coverage report: remind exactly the members of a unit's subtree who have
not acknowledged a directive. The cadre sees the exact count first; the reminder then goes
through the delivery engine.

"Exactly" means the report's "not yet" list, less those without an account the bot can
deliver to (counted, not sent) — the cadre too, if they are in it. Both steps re-check the
document's audience and the cadre's scope over the unit in the payload (payloads can be
forged). One reminder window (an hour) per document and unit makes a double press, or another
cadre's press, a no-op that says when the last reminder went out.
"""

from __future__ import annotations

from bot.delivery.address import later_line
from bot.engine.actions import act
from bot.engine.messages import Button
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, vn_number
from bot.library import reminders
from bot.library.audience import reach
from bot.library.models import Entry
from bot.library.notices import REMIND_WINDOW, clock_time, reminder_job
from bot.library.status import require_current
from bot.org import access
from bot.org.models import Role
from handlers.account.menu import BACK
from handlers.library.ui import arg, readable, screen


async def ask(request: Request) -> Outcome:
    """"Gửi nhắc nhở tới N đồng chí?" with the exact number who will get it."""
    entry, unit_id = await _checked(request)
    plan = await reminders.plan(request.deps, await request.tree(), entry, unit_id)
    if plan.window is not None:
        return await _already(request, entry, unit_id, plan.window)
    targets, skipped = plan.targets, plan.skipped
    if not targets and not plan.kept:
        return await _nobody(request, entry, unit_id, skipped)
    path = esc((await request.tree()).path(unit_id))
    lines = [f"Gửi nhắc nhở tới <b>{vn_number(len(targets))}</b> đồng chí?",
             f"Văn bản: <b>{esc(entry.label)}</b> — {esc(entry.title)}", f"Đơn vị: {path}",
             "Những đồng chí chưa xác nhận đã nghiên cứu văn bản sẽ nhận tin nhắc kèm nút mở "
             "văn bản."]
    if skipped:
        lines.append(f"({skipped} đồng chí khác chưa có tài khoản nhận tin nên sẽ không nhận "
                     "được.)")
    if plan.kept:
        lines.append(later_line(len(plan.kept)))
    send_button = Button("Gửi nhắc nhở", act("cov.rr", entry.id, unit_id))
    return screen(request, "\n".join(lines), [send_button, _report(entry, unit_id)])


async def send(request: Request) -> Outcome:
    """Enqueue the reminder (a no-op inside the last one's window) and report the count."""
    entry, unit_id = await _checked(request)
    tree = await request.tree()
    sent = await reminders.send(request.deps, tree, entry, unit_id, request.me.id, request.now())
    if not sent.queued and not sent.kept and not sent.window:
        return await _nobody(request, entry, unit_id, sent.skipped)
    if not sent.queued and not sent.kept:
        return await _already(request, entry, unit_id, sent.window)
    text = (f"Đang gửi nhắc nhở tới <b>{vn_number(sent.queued)}</b> đồng chí chưa nghiên cứu "
            f"<b>{esc(entry.label)}</b> ({esc(tree.path(unit_id))}).")
    if sent.kept:
        text += "\n" + later_line(sent.kept)
    return screen(request, text, [_report(entry, unit_id), BACK])


async def _checked(request: Request) -> tuple[Entry, str]:
    """The document and unit of the payload, once the cadre's scope covers both."""
    doc_id, unit_id = arg(request, 0), arg(request, 1)
    _library, entry = await readable(request, doc_id)
    require_current(entry)
    tree = await request.tree()
    access.require(request.me, Role.CADRE, unit_id, tree)
    if not reach(tree, entry.audience, unit_id):
        raise access.Forbidden("Văn bản này không dành cho đơn vị đã chọn.")
    return entry, unit_id


async def _already(request: Request, entry: Entry, unit_id: str, stamp: int) -> Outcome:
    """"Đã gửi nhắc nhở lúc HH:MM, vui lòng chờ" with how far sending has got."""
    tally = (await request.deps.outbox.stats(reminder_job(entry.id, unit_id, stamp))).overall
    text = (f"Đã gửi nhắc nhở nghiên cứu <b>{esc(entry.label)}</b> lúc {clock_time(stamp)}. "
            f"Tin nhắc đã tới {vn_number(tally.sent)}/{vn_number(tally.total)} đồng chí. "
            f"Đồng chí có thể nhắc lại sau {clock_time(stamp + REMIND_WINDOW)}.")
    return screen(request, text, [_report(entry, unit_id), BACK])


async def _nobody(request: Request, entry: Entry, unit_id: str, skipped: int) -> Outcome:
    """Nobody left to remind: say why, send nothing."""
    path = esc((await request.tree()).path(unit_id))
    text = (f"{skipped} đồng chí chưa nghiên cứu <b>{esc(entry.label)}</b> ({path}) đều chưa "
            "có tài khoản nhận tin, nên không gửi được nhắc nhở." if skipped else
            f"Tất cả đảng viên trong {path} đã nghiên cứu <b>{esc(entry.label)}</b>; không cần "
            "nhắc nhở, không có tin nào được gửi.")
    return screen(request, text, [_report(entry, unit_id), BACK])


def _report(entry: Entry, unit_id: str) -> Button:
    return Button("« Về báo cáo", act("cov.u", entry.id, unit_id))


def register(router: Router) -> None:
    """Register the reminder's question and its confirmation."""
    router.action("cov.r", ask)
    router.action("cov.rr", send)
