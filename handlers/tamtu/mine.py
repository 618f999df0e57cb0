""""Tâm tư của tôi": the member's threads with their state and answers; add to one, say whether
the answer satisfied them, close it. Only codes in the member's own sealed list open here."""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.conversation import Dialog
from bot.engine.messages import Button, FileUnavailable, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import nfc, short
from bot.library.models import StoredFile
from bot.tamtu.models import FINAL, TEXT_LIMITS, State
from bot.tamtu.photos import BadPhoto, keep
from bot.tamtu.service import Refused
from handlers.account.cancel import CANCEL
from handlers.account.menu import BACK
from handlers.tamtu.ui import MINE, NEW, code_arg, member_view, photos, refused, today

PAGE = 20


async def mine(request: Request) -> Outcome:
    """The member's threads, newest first."""
    threads = await request.deps.tamtu.mine(request.me)
    if not threads:
        text = ("<b>Tâm tư của tôi</b>\nĐồng chí chưa gửi tâm tư, kiến nghị nào. Chọn «Gửi tâm "
                "tư, kiến nghị» để gửi.")
        return Outcome([Reply(text, buttons=rows(NEW, BACK))])
    topic = request.deps.tamtu.topic_name
    buttons = [Button(short(f"{t.code} — {topic(t.topic)} ({t.state.label})"),
                      act("tt.v", t.code)) for t in threads[:PAGE]]
    text = "<b>Tâm tư của tôi</b>\nChọn một tâm tư để xem trả lời, bổ sung hoặc đánh giá:"
    if len(threads) > PAGE:
        text += f"\n(Hiện {PAGE} tâm tư gần nhất trong tổng số {len(threads)}.)"
    edit = request.incoming.action is not None
    return Outcome([Reply(text, buttons=rows(*buttons, NEW, BACK), edit=edit)])


async def view(request: Request) -> Outcome:
    """One thread: its posts and what the member can do with it."""
    try:
        thread = await request.deps.tamtu.owned(request.me, code_arg(request))
    except Refused as exc:
        return refused(request, exc)
    buttons: list[Button] = []
    if thread.state not in FINAL:
        buttons.append(Button("Bổ sung", act("tt.add", thread.code)))
    if thread.answered_day is not None and thread.state is not State.BLOCKED:
        buttons += [Button("Hài lòng", act("tt.ok", thread.code, "1")),
                    Button("Chưa hài lòng", act("tt.ok", thread.code, "0"))]
    if thread.state not in FINAL:
        buttons.append(Button("Đóng tâm tư", act("tt.close", thread.code)))
    text = member_view(thread, request.deps.tamtu, await request.tree())
    return Outcome([*photos(thread, request), Reply(text, buttons=rows(*buttons, MINE, BACK))])


async def ask_add(request: Request) -> Outcome:
    """Ask for the text (or a photo) to add."""
    code = code_arg(request)
    try:
        await request.deps.tamtu.owned(request.me, code)
    except Refused as exc:
        return refused(request, exc)
    low, high = TEXT_LIMITS
    text = f"Xin đồng chí viết nội dung bổ sung cho {code} ({low}–{high} ký tự), hoặc gửi một ảnh."
    return Outcome([Reply(text, buttons=rows(CANCEL))],
                   dialog=Dialog(flow="tt.add", step="tt.add", data={"code": code}))


async def added(request: Request) -> Outcome:
    """The addition: stored, and the thread waits for an answer again."""
    code = str(request.dialog.data.get("code", "")) if request.dialog else ""
    text, photo = nfc(request.text).strip(), None
    low, high = TEXT_LIMITS
    file = request.incoming.file
    if file is not None and file.fetch is not None:
        limit = int(request.deps.settings.proposal_photo_mb * 1024 * 1024)
        try:
            photo = await keep(request.deps.library.files, await file.fetch(), limit)
        except (FileUnavailable, BadPhoto) as exc:
            return Outcome([Reply(f"Chưa nhận được ảnh ({exc}). Xin đồng chí gửi lại.",
                                  buttons=rows(CANCEL))], dialog=request.dialog)
        text = text or "(ảnh bổ sung)"
    elif not low <= len(text) <= high:
        return Outcome([Reply(f"Nội dung cần từ {low} đến {high} ký tự (vừa nhập {len(text)}).",
                              buttons=rows(CANCEL))], dialog=request.dialog)
    return await _added(request, code, text, photo)


async def _added(request: Request, code: str, text: str, photo: StoredFile | None) -> Outcome:
    try:
        thread = await request.deps.tamtu.add(request.me, code, text, photo, today(request))
    except Refused as exc:
        return Outcome([Reply(str(exc), buttons=rows(MINE))])
    return Outcome([Reply(f"Đã bổ sung vào tâm tư <b>{thread.code}</b>; cấp ủy sẽ xem và trả "
                          "lời.", buttons=rows(Button("Xem tâm tư", act("tt.v", thread.code)),
                                               MINE))])


async def rate(request: Request) -> Outcome:
    """Hài lòng / chưa hài lòng."""
    code = code_arg(request)
    if len(request.args) < 2 or request.args[1] not in {"0", "1"}:
        return refused(request, Refused("Nút đánh giá không hợp lệ."))
    try:
        thread = await request.deps.tamtu.rate(request.me, code, request.args[1] == "1")
    except Refused as exc:
        return refused(request, exc)
    word = "hài lòng" if thread.satisfied else "chưa hài lòng"
    lead = "" if thread.satisfied else " Đồng chí có thể bấm «Bổ sung» để nêu điều chưa rõ."
    return Outcome([Reply(f"Đã ghi nhận đánh giá «{word}» cho {thread.code}. Cảm ơn đồng chí!"
                          f"{lead}", buttons=rows(Button("Xem tâm tư", act("tt.v", thread.code)),
                                                  MINE))])


async def close(request: Request) -> Outcome:
    """Close the thread (no more answers expected)."""
    try:
        thread = await request.deps.tamtu.close(request.me, code_arg(request), today(request))
    except Refused as exc:
        return refused(request, exc)
    return Outcome([Reply(f"Đã đóng tâm tư <b>{thread.code}</b>.", buttons=rows(MINE, BACK))])


def register(router: Router) -> None:
    """Register the member's list and its actions."""
    router.action("tt.mine", mine)
    router.action("tt.v", view)
    router.action("tt.add", ask_add)
    router.action("tt.ok", rate)
    router.action("tt.close", close)
    router.step("tt.add", added, files=True)
    router.menu_item("Tâm tư của tôi", act("tt.mine"), order=36)
