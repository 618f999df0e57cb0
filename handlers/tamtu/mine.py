""""Tâm tư của tôi": the member's threads with their state and answers; add to one, say whether
the answer satisfied them, close it.

Buttons here name a thread by its place in the member's own sealed list ("tt.v|3"), never by
its code, and offer the same actions whatever the thread's state: on channels without buttons
the options on screen are stored under the member's account, and they must not say which
thread, or which kind of thread, the member was looking at. The addition's dialog is sealed."""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.conversation import Dialog
from bot.engine.messages import Button, FileUnavailable, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, nfc
from bot.library.models import StoredFile
from bot.org import access
from bot.tamtu.models import TEXT_LIMITS
from bot.tamtu.photos import BadPhoto, keep
from bot.tamtu.service import Refused
from handlers.account.cancel import CANCEL
from handlers.account.menu import BACK
from handlers.tamtu.ui import MINE, NEW, member_view, photos, refused, today, vn_day

PAGE = 20
FLOW = "tt.add"


async def mine(request: Request) -> Outcome:
    """The member's threads, newest first."""
    found = await request.deps.tamtu.mine(request.me)
    if not found:
        text = ("<b>Tâm tư của tôi</b>\nĐồng chí chưa gửi tâm tư, kiến nghị nào. Chọn «Gửi tâm "
                "tư, kiến nghị» để gửi.")
        return Outcome([Reply(text, buttons=rows(NEW, BACK))])
    topic = request.deps.tamtu.topic_name
    lines = ["<b>Tâm tư của tôi</b>"]
    lines += [f"• Số {n}: {t.code} — {esc(topic(t.topic))}, gửi {vn_day(t.day)}: "
              f"<b>{t.state.label}</b>" for n, t in found[:PAGE]]
    if len(found) > PAGE:
        lines.append(f"(Hiện {PAGE} tâm tư gần nhất trong tổng số {len(found)}.)")
    lines.append("Chọn một tâm tư để xem trả lời, bổ sung hoặc đánh giá.")
    buttons = [Button(f"Xem tâm tư số {n}", act("tt.v", str(n))) for n, _t in found[:PAGE]]
    edit = request.incoming.action is not None
    return Outcome([Reply("\n".join(lines), buttons=rows(*buttons, NEW, BACK), edit=edit)])


async def view(request: Request) -> Outcome:
    """One thread: its posts and the same four actions whatever its state."""
    n = _n(request)
    try:
        thread = await request.deps.tamtu.nth(request.me, n)
    except Refused as exc:
        return refused(request, exc)
    buttons = rows(Button("Bổ sung", act("tt.add", n)),
                   Button("Hài lòng", act("tt.ok", n, "1")),
                   Button("Chưa hài lòng", act("tt.ok", n, "0")),
                   Button("Đóng tâm tư", act("tt.close", n)), MINE, BACK)
    text = member_view(thread, request.deps.tamtu, await request.tree())
    return Outcome([*photos(thread, request), Reply(text, buttons=buttons)])


async def ask_add(request: Request) -> Outcome:
    """Ask for the text (or a photo) to add."""
    try:
        thread = await request.deps.tamtu.nth(request.me, _n(request))
    except Refused as exc:
        return refused(request, exc)
    low, high = TEXT_LIMITS
    text = (f"Xin đồng chí viết nội dung bổ sung cho {thread.code} ({low}–{high} ký tự), "
            "hoặc gửi một ảnh.")
    sealed = request.deps.tamtu.anonymity.seal_draft({"code": thread.code}, request.account)
    return Outcome([Reply(text, buttons=rows(CANCEL))],
                   dialog=Dialog(flow=FLOW, step="tt.add", data={"s": sealed}))


async def added(request: Request) -> Outcome:
    """The addition: stored, and the thread waits for an answer again."""
    dialog = request.dialog
    draft = (request.deps.tamtu.anonymity.open_draft(dialog.data.get("s"), request.account)
             if dialog is not None and dialog.flow == FLOW else {})
    if "code" not in draft:
        raise access.Forbidden("Không có nội dung nào đang bổ sung. Đồng chí mở «Tâm tư của "
                               "tôi».")
    text, photo = nfc(request.text).strip(), None
    low, high = TEXT_LIMITS
    file = request.incoming.file
    if file is not None and file.fetch is not None:
        limit = int(request.deps.settings.proposal_photo_mb * 1024 * 1024)
        try:
            photo = await keep(request.deps.library.files, await file.fetch(), limit)
        except (FileUnavailable, BadPhoto) as exc:
            return Outcome([Reply(f"Chưa nhận được ảnh ({exc}). Xin đồng chí gửi lại.",
                                  buttons=rows(CANCEL))], dialog=dialog)
        text = text or "(ảnh bổ sung)"
    elif not low <= len(text) <= high:
        return Outcome([Reply(f"Nội dung cần từ {low} đến {high} ký tự (vừa nhập {len(text)}).",
                              buttons=rows(CANCEL))], dialog=dialog)
    return await _added(request, str(draft["code"]), text, photo)


async def _added(request: Request, code: str, text: str, photo: StoredFile | None) -> Outcome:
    try:
        thread = await request.deps.tamtu.add(request.me, code, text, photo, today(request))
    except Refused as exc:
        return Outcome([Reply(str(exc), buttons=rows(MINE))])
    return Outcome([Reply(f"Đã bổ sung vào tâm tư <b>{thread.code}</b>; cấp ủy sẽ xem và trả "
                          "lời.", buttons=rows(MINE, BACK))])


async def rate(request: Request) -> Outcome:
    """Hài lòng / chưa hài lòng."""
    n = _n(request)
    if len(request.args) < 2 or request.args[1] not in {"0", "1"}:
        return refused(request, Refused("Nút đánh giá không hợp lệ."))
    try:
        thread = await request.deps.tamtu.nth(request.me, n)
        thread = await request.deps.tamtu.rate(request.me, thread.code, request.args[1] == "1")
    except Refused as exc:
        return refused(request, exc)
    word = "hài lòng" if thread.satisfied else "chưa hài lòng"
    lead = "" if thread.satisfied else " Đồng chí có thể bấm «Bổ sung» để nêu điều chưa rõ."
    return Outcome([Reply(f"Đã ghi nhận đánh giá «{word}» cho {thread.code}. Cảm ơn đồng chí!"
                          f"{lead}", buttons=rows(MINE, BACK))])


async def ask_close(request: Request) -> Outcome:
    """Confirm before closing (a closed thread takes no more additions or answers)."""
    n = _n(request)
    try:
        thread = await request.deps.tamtu.nth(request.me, n)
    except Refused as exc:
        return refused(request, exc)
    text = (f"Đồng chí chắc chắn đóng tâm tư <b>{thread.code}</b>? Tâm tư đã đóng không bổ "
            "sung và không nhận trả lời được nữa.")
    return Outcome([Reply(text, buttons=rows(Button("Xác nhận đóng", act("tt.closey", n)),
                                             Button("Không đóng", act("tt.v", n))))])


async def close(request: Request) -> Outcome:
    """Close the thread (no more answers expected)."""
    try:
        thread = await request.deps.tamtu.nth(request.me, _n(request))
        thread = await request.deps.tamtu.close(request.me, thread.code, today(request))
    except Refused as exc:
        return refused(request, exc)
    return Outcome([Reply(f"Đã đóng tâm tư <b>{thread.code}</b>.", buttons=rows(MINE, BACK))])


def _n(request: Request) -> str:
    raw = request.args[0] if request.args else ""
    if not raw.isdigit() or len(raw) > 5:
        raise access.Forbidden("Nút bấm thiếu thông tin hoặc không hợp lệ. Đồng chí gõ /menu "
                               "để bắt đầu lại.")
    return raw


def register(router: Router) -> None:
    """Register the member's list and its actions."""
    router.action("tt.mine", mine)
    router.action("tt.v", view)
    router.action("tt.add", ask_add)
    router.action("tt.ok", rate)
    router.action("tt.close", ask_close)
    router.action("tt.closey", close)
    router.step("tt.add", added, files=True)
    router.menu_item("Tâm tư của tôi", act("tt.mine"), order=36)
