"""Cadres read a survey's results (text with k-anonymity suppression, bar chart, CSV/XLSX),
remind those who have not answered (seeing only a count), and close a survey early.

Every press re-checks that the survey's unit is in the cadre's scope and honours the survey's
visibility policy (results only after closing, if so chosen).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.delivery.address import addressees
from bot.engine.actions import act
from bot.engine.messages import Attachment, Button, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, short, split_html, vn_datetime, vn_number
from bot.org import access
from bot.org.models import Role
from bot.privacy.files import private_dir, sweep, write_private
from bot.surveys.charts import chart_png
from bot.surveys.export import to_csv, to_xlsx
from bot.surveys.models import Answer, Survey
from bot.surveys.notices import REMIND_WINDOW, reminder_message
from bot.surveys.report import Report, gather, render
from handlers.account.menu import BACK
from handlers.shared.picker import arg
from handlers.surveys.ui import CREATED, managed, screen

LISTED = 15
PART = 3800  # characters per message, under Telegram's 4,096


async def created(request: Request) -> Outcome:
    """"Khảo sát đã tạo": latest surveys whose unit is in the cadre's scope."""
    tree, deps, now = await request.tree(), request.deps, request.now()
    if not access.top_scopes(request.me, Role.CADRE, tree):
        raise access.Forbidden("Chức năng này dành cho đồng chí được phân công phụ trách đơn vị.")
    buttons: list[Button] = []
    for survey_id in await deps.surveys.recent_ids():
        survey = await deps.surveys.get(survey_id)
        if survey and access.can(request.me, Role.CADRE, survey.unit, tree):
            state = ("hẹn mở" if survey.pending else "đang mở" if survey.is_open(now)
                     else "đã đóng")
            buttons.append(Button(f"#{survey.id} {short(survey.title, 40)} ({state})",
                                  act("sv.r", survey.id)))
        if len(buttons) >= LISTED:
            break
    text = "<b>Khảo sát đã tạo</b>\n" + ("Chọn khảo sát để xem kết quả:" if buttons
                                          else "Chưa có khảo sát nào trong phạm vi của đồng chí.")
    return screen(request, text, [*buttons, Button("Tạo khảo sát", act("svc")), BACK])


async def results(request: Request) -> Outcome:
    """The results as text (split if long), with the actions under the last part."""
    survey = await managed(request)
    now = request.now()
    await _retire_if_closed(request, survey, now)
    tools = _tools(survey, now)
    if survey.pending:  # nothing to count yet: not "đã đóng", not "0/0"
        text = (f"<b>{esc(survey.title)}</b>\nHẹn mở lúc {vn_datetime(survey.opens_at)}, hạn "
                f"trả lời {vn_datetime(survey.closes_at)}. Danh sách người trả lời được chốt "
                "và thông báo được gửi khi mở; chưa có câu trả lời nào.")
        return screen(request, text, tools)
    if not survey.results_visible(now):
        answered = await request.deps.surveys.answered(survey)
        why = ("Khảo sát ẩn danh: kết quả chỉ xem được sau khi đóng, để không ai suy ra câu trả "
               "lời của từng người bằng cách so sánh hai lần xem" if survey.anonymous
               else "Theo cài đặt của khảo sát, kết quả chỉ xem được sau khi đóng")
        text = (f"<b>{esc(survey.title)}</b>\nĐã trả lời: "
                f"<b>{vn_number(answered)}/{vn_number(survey.audience)}</b>. "
                f"{why} ({vn_datetime(survey.closes_at)}).")
        return screen(request, text, tools)
    report = await gather(request.deps.surveys, survey, await request.tree())
    parts = split_html(render(report, now), PART)
    replies = [Reply(p) for p in parts[:-1]]
    replies.append(Reply(parts[-1], buttons=rows(*tools)))
    return Outcome(replies)


async def chart(request: Request) -> Outcome:
    """The bar chart as a photo."""
    survey, report = await _visible_report(request)
    path = _out_path(request, survey, "png")
    write_private(path, chart_png(report))
    caption = f"Biểu đồ kết quả: {esc(survey.title[:150])}"
    return Outcome([Reply("", photo=Attachment(path, path.name, caption=caption),
                          buttons=rows(_back(survey)))])


async def export(request: Request) -> Outcome:
    """CSV or XLSX as a document."""
    survey, report = await _visible_report(request, all_texts=True)
    kind = arg(request, 1)
    if kind not in ("csv", "xlsx"):
        raise access.Forbidden("Định dạng tệp không hợp lệ.")
    people = await _people(request, survey)
    path = _out_path(request, survey, kind)
    write_private(path, to_csv(report, people) if kind == "csv" else to_xlsx(report, people))
    caption = f"Kết quả khảo sát «{esc(survey.title[:150])}» ({kind.upper()})"
    return Outcome([Reply("", document=Attachment(path, path.name, caption=caption),
                          buttons=rows(_back(survey)))])


async def remind(request: Request) -> Outcome:
    """Remind those in the snapshot who have not answered; the cadre sees only the count."""
    survey = await managed(request)
    deps, now, tree = request.deps, request.now(), await request.tree()
    if not survey.is_open(now):
        raise access.Forbidden("Khảo sát đã đóng; không gửi nhắc nhở.")
    stamp = int(now.timestamp())
    held = await deps.redis.set(deps.keys.survey_reminder(survey.id), stamp, nx=True,
                                ex=REMIND_WINDOW, get=True)
    if held is not None:
        return screen(request, "Đã gửi nhắc nhở trong vòng một giờ qua; đồng chí vui lòng "
                               "nhắc lại sau.", [_back(survey)])
    pending = await deps.surveys.unanswered(survey, await deps.surveys.audience_ids(
        tree, survey.unit, without=await deps.surveys.author_of(survey.id)))
    found = await addressees(deps.outbox.reach, deps.members, tree, pending, survey.unit)
    targets, skipped = found.reached, found.skipped
    # Sealed: who is reminded is who has not answered (see bot.delivery.outbox); for the same
    # reason those no channel reaches now are not kept for later (bot.delivery.missed).
    await deps.outbox.enqueue(f"sv-{survey.id}.rm-{stamp}", targets, [reminder_message(survey)],
                              paid=deps.settings.telegram_paid_rate > 0, sealed=True)
    text = (f"Đang gửi nhắc nhở tới <b>{vn_number(len(targets))}</b> đồng chí chưa trả lời."
            if targets else "Không còn đồng chí nào cần nhắc (hoặc chưa có tài khoản nhận tin).")
    if skipped:
        text += (f" ({skipped} đồng chí chưa liên lạc được lúc này: chưa có tài khoản nhận tin, "
                 "hoặc ngoài thời hạn nhắn tin của Zalo.)")
    if survey.anonymous:
        text += "\nKhảo sát ẩn danh: danh sách người chưa trả lời không được hiển thị."
    return screen(request, text, [_back(survey), BACK])


async def close(request: Request) -> Outcome:
    """"Đóng khảo sát": ask first."""
    survey = await managed(request)
    text = (f"Đóng khảo sát <b>{esc(survey.title)}</b> ngay bây giờ? Sau khi đóng không nhận "
            "thêm câu trả lời" + ("; thông tin ai đã trả lời được xóa hẳn." if survey.anonymous
                                  else "."))
    return screen(request, text, [Button("Đóng khảo sát", act("sv.cl2", survey.id)),
                                  _back(survey)])


async def close_now(request: Request) -> Outcome:
    """Close, retire the marks, and show the results."""
    survey = await managed(request)
    await request.deps.surveys.close(survey, request.now())
    if survey.anonymous:  # the history of who was marked as answered goes too
        await request.deps.rewrites.at(request.now())
    await request.deps.audit.record(request.me.id, "survey_close", id=survey.id)
    return await results(request)


# ---------------------------------------------------------------------------- helpers
async def _visible_report(request: Request, *, all_texts: bool = False
                          ) -> tuple[Survey, Report]:
    survey = await managed(request)
    now = request.now()
    if not survey.results_visible(now):
        raise access.Forbidden("Kết quả khảo sát này chỉ xem được sau khi đóng.")
    await _retire_if_closed(request, survey, now)
    return survey, await gather(request.deps.surveys, survey, await request.tree(),
                                all_texts=all_texts)


async def _retire_if_closed(request: Request, survey: Survey, now: datetime) -> None:
    if now >= survey.closes_at:
        await request.deps.surveys.retire(survey)


async def _people(request: Request, survey: Survey) -> list[tuple[str, str, list[Answer]]]:
    """Named surveys: (name, unit name, answers) of each respondent."""
    if survey.anonymous:
        return []
    answers = await request.deps.surveys.named_answers(survey.id)
    tree = await request.tree()
    members = await request.deps.members.many(sorted(answers, key=int))
    return [(m.name, tree.units[m.unit].name if m.unit in tree.units else m.unit,
             answers[m.id]) for m in members]


def _out_path(request: Request, survey: Survey, ext: str) -> Path:
    folder = private_dir(request.deps.settings.data_dir / "exports")
    sweep(folder)  # also swept every minute by the running bot (ExportSweeper)
    stamp = request.now().strftime("%Y%m%d-%H%M%S")
    return folder / f"khao-sat-{survey.id}-{stamp}.{ext}"


def _tools(survey: Survey, now: datetime) -> list[Button]:
    buttons: list[Button] = []
    if survey.results_visible(now):
        buttons += [Button("Biểu đồ", act("sv.ch", survey.id)),
                    Button("Tải CSV", act("sv.x", survey.id, "csv")),
                    Button("Tải Excel (XLSX)", act("sv.x", survey.id, "xlsx"))]
    if survey.is_open(now):
        buttons += [Button("Nhắc người chưa trả lời", act("sv.rm", survey.id)),
                    Button("Đóng khảo sát", act("sv.cl", survey.id))]
    return [*buttons, CREATED, BACK]


def _back(survey: Survey) -> Button:
    return Button("« Về kết quả", act("sv.r", survey.id))


def register(router: Router) -> None:
    """Register the list, results, chart, export, reminder and closing."""
    router.action("sv.ls", created)
    router.action("sv.r", results)
    router.action("sv.ch", chart)
    router.action("sv.x", export)
    router.action("sv.rm", remind)
    router.action("sv.cl", close)
    router.action("sv.cl2", close_now)
