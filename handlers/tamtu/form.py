""""Gửi tâm tư, kiến nghị" (/tamtu): the level, a topic, the text, an optional photo, named or
anonymous, a summary, then sending. The draft is sealed inside the dialog state (bound to the
account), so the dialog key never holds what the member wrote or whether it is anonymous."""

from __future__ import annotations

from typing import Any

from bot.engine.actions import act
from bot.engine.conversation import Dialog
from bot.engine.messages import Button, FileUnavailable, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, fold, nfc
from bot.library.files import human_size
from bot.library.models import StoredFile
from bot.org import access
from bot.tamtu.models import TEXT_LIMITS, Level
from bot.tamtu.photos import BadPhoto, keep
from bot.tamtu.routing import targets
from bot.tamtu.service import Draft, Refused
from handlers.account.cancel import CANCEL
from handlers.tamtu.ui import MINE, refused, today, unit_name

FLOW = "tt"
SKIP_WORDS = {"xong", "bo qua", "khong", "khong co", "khong gui anh"}
NO_PHOTO = Button("Không gửi ảnh", act("tt.nophoto"))
STALE = "Không có tâm tư nào đang soạn. Đồng chí gõ /tamtu để bắt đầu."


async def begin(request: Request) -> Outcome:
    """/tamtu: explain, then choose the level it goes to."""
    tree = await request.tree()
    levels = [Button(f"Cấp ủy {unit_name(tree, unit)}", act("tt.lv", level.value))
              for level, unit in targets(request.me, tree)]
    text = ("<b>Gửi tâm tư, kiến nghị</b>\nĐồng chí có thể nêu tâm tư, nguyện vọng, kiến nghị "
            "hoặc góp ý với cấp ủy, ghi tên hoặc ẩn danh, và theo dõi trả lời trong «Tâm tư "
            "của tôi».\nĐồng chí muốn gửi đến cấp ủy nào?")
    dialog = _at(request, "tt.level", {})
    return Outcome([Reply(text, buttons=rows(*levels, MINE, CANCEL))], dialog=dialog)


async def pick_level(request: Request) -> Outcome:
    """A level button: then the topic."""
    raw = request.args[0] if request.args else ""
    if raw not in {lv.value for lv in Level}:
        raise access.Forbidden(STALE)
    topics = [Button(t.name, act("tt.tp", t.id)) for t in request.deps.tamtu.topics]
    text = "Tâm tư, kiến nghị của đồng chí thuộc chủ đề nào?"
    return Outcome([Reply(text, buttons=rows(*topics, CANCEL, width=2))],
                   dialog=_at(request, "tt.topic", {"level": raw}))


async def pick_topic(request: Request) -> Outcome:
    """A topic button: then the text."""
    draft = _draft(request, "level")
    raw = request.args[0] if request.args else ""
    if raw not in {t.id for t in request.deps.tamtu.topics}:
        raise access.Forbidden(STALE)
    low, high = TEXT_LIMITS
    text = (f"Xin đồng chí viết nội dung tâm tư, kiến nghị ({low}–{high} ký tự). Nếu muốn "
            "ẩn danh, đồng chí đừng ghi tên mình hoặc chi tiết giúp người khác nhận ra.")
    return Outcome([Reply(text, buttons=rows(CANCEL))],
                   dialog=_at(request, "tt.text", {**draft, "topic": raw}))


async def typed(request: Request) -> Outcome:
    """The text: then an optional photo."""
    draft = _draft(request, "topic")
    value = nfc(request.text).strip()
    low, high = TEXT_LIMITS
    if not low <= len(value) <= high:
        return Outcome([Reply(f"Nội dung cần từ {low} đến {high} ký tự (vừa nhập {len(value)})."
                              " Xin đồng chí viết lại.", buttons=rows(CANCEL))],
                       dialog=request.dialog)
    return _ask_photo(request, {**draft, "text": value}, None)


async def photo(request: Request) -> Outcome:
    """A photo at the photo step (re-encoded: its metadata is dropped); "không" skips."""
    draft = _draft(request, "text")
    file = request.incoming.file
    if file is None:
        if fold(request.text) in SKIP_WORDS:
            return _ask_who(request, draft)
        return _ask_photo(request, draft, "Xin đồng chí gửi một ảnh, hoặc bấm «Không gửi ảnh».")
    limit = int(request.deps.settings.proposal_photo_mb * 1024 * 1024)
    if file.fetch is None:
        return _ask_photo(request, draft, "Ứng dụng này chưa gửi ảnh được cho bot.")
    if file.size > limit:
        return _ask_photo(request, draft, f"Ảnh vượt giới hạn {human_size(limit)}.")
    try:
        kept = await keep(request.deps.library.files, await file.fetch(), limit)
    except FileUnavailable:
        return _ask_photo(request, draft, "Bot chưa tải được ảnh này về. Xin đồng chí gửi lại.")
    except BadPhoto as exc:
        return _ask_photo(request, draft, f"{exc} Bot chỉ nhận ảnh JPEG, PNG hoặc WebP.")
    return _ask_who(request, {**draft, "photo": kept.model_dump()})


async def skip_photo(request: Request) -> Outcome:
    """«Không gửi ảnh» (pressed, or its number typed): on to named or anonymous."""
    return _ask_who(request, _draft(request, "text"))


async def pick_who(request: Request) -> Outcome:
    """Named or anonymous: then the summary."""
    draft = _draft(request, "text")
    raw = request.args[0] if request.args else ""
    if raw not in {"a", "n"}:
        raise access.Forbidden(STALE)
    draft = {**draft, "anonymous": raw == "a"}
    tree = await request.tree()
    made = _made(draft)
    try:
        unit, _shown = await request.deps.tamtu.route(request.me, made, tree)
    except Refused as exc:
        return refused(request, exc)
    lines = ["<b>Xem lại trước khi gửi</b>",
             f"Gửi đến: {esc(unit_name(tree, unit))}",
             f"Chủ đề: {esc(request.deps.tamtu.topic_name(made.topic))}",
             "Hình thức: " + ("<b>ẩn danh</b>" if made.anonymous else "ghi tên"),
             f"Ảnh: {'có' if made.photo else 'không'}", "", esc(made.text)]
    chosen = dict(targets(request.me, tree)).get(made.level)
    if made.anonymous and unit != chosen:
        lines += ["", f"Để không ai nhận ra đồng chí, tâm tư ẩn danh được gửi đến "
                      f"{esc(unit_name(tree, unit))} (đơn vị từ {request.deps.tamtu.policy.k} "
                      "đảng viên trở lên)."]
    send = Button("✓ Gửi", act("tt.send"))
    return Outcome([Reply("\n".join(lines), buttons=rows(send, CANCEL))],
                   dialog=_at(request, "tt.confirm", draft))


async def send(request: Request) -> Outcome:
    """Send: the thread code, and where to follow it."""
    draft = _draft(request, "anonymous")
    try:
        thread = await request.deps.tamtu.submit(request.me, _made(draft), await request.tree(),
                                                 today(request))
    except Refused as exc:
        return Outcome([Reply(str(exc), buttons=rows(MINE))])
    how = ("Cán bộ tiếp nhận không biết tên, tài khoản hay chi bộ của đồng chí. "
           if thread.anonymous else "")
    text = (f"Đã gửi tâm tư, kiến nghị. Mã: <b>{thread.code}</b>.\n{how}Khi có trả lời, bot sẽ "
            "báo đồng chí; đồng chí theo dõi, bổ sung và đánh giá trong «Tâm tư của tôi».")
    return Outcome([Reply(text, buttons=rows(MINE))])


async def waiting(request: Request) -> Outcome:
    """Text typed where a button is expected."""
    return Outcome([Reply("Xin đồng chí chọn một mục bên trên (hoặc gõ /huy để hủy).")],
                   dialog=request.dialog, replace_options=False)


# ------------------------------------------------------------------------------ helpers
def _ask_photo(request: Request, draft: dict[str, Any], problem: str | None) -> Outcome:
    text = ("Đồng chí có thể gửi kèm một ảnh (ảnh được làm sạch thông tin vị trí, thời gian, "
            "thiết bị trước khi lưu), hoặc bấm «Không gửi ảnh».")
    return Outcome([Reply(f"{problem}\n{text}" if problem else text,
                          buttons=rows(NO_PHOTO, CANCEL))],
                   dialog=_at(request, "tt.photo", draft))


def _ask_who(request: Request, draft: dict[str, Any]) -> Outcome:
    k = request.deps.tamtu.policy.k
    text = ("Đồng chí muốn gửi <b>ghi tên</b> hay <b>ẩn danh</b>?\n• Ghi tên: cán bộ tiếp nhận "
            "thấy họ tên và chi bộ của đồng chí.\n• Ẩn danh: cán bộ không thấy tên, tài khoản, "
            f"chi bộ hay giờ gửi; tâm tư chỉ gắn với đơn vị từ {k} đảng viên trở lên. Đồng chí "
            "vẫn nhận được trả lời qua bot.")
    buttons = rows(Button("Ghi tên", act("tt.who", "n")), Button("Ẩn danh", act("tt.who", "a")),
                   CANCEL)
    return Outcome([Reply(text, buttons=buttons)], dialog=_at(request, "tt.who", draft))


def _at(request: Request, step: str, draft: dict[str, Any]) -> Dialog:
    sealed = request.deps.tamtu.anonymity.seal_draft(draft, request.account)
    return Dialog(flow=FLOW, step=step, data={"s": sealed})


def _draft(request: Request, needs: str) -> dict[str, Any]:
    dialog = request.dialog
    draft = (request.deps.tamtu.anonymity.open_draft(dialog.data.get("s"), request.account)
             if dialog is not None and dialog.flow == FLOW else {})
    if needs not in draft:
        raise access.Forbidden(STALE)
    return draft


def _made(draft: dict[str, Any]) -> Draft:
    photo = draft.get("photo")
    return Draft(level=Level(str(draft["level"])), topic=str(draft["topic"]),
                 text=str(draft["text"]), anonymous=bool(draft.get("anonymous")),
                 photo=StoredFile.model_validate(photo) if photo else None)


def register(router: Router) -> None:
    """Register /tamtu, the form's buttons and steps, and the menu item."""
    router.command("tamtu", begin, description="Gửi tâm tư, kiến nghị")
    router.action("tt.new", begin)
    router.action("tt.lv", pick_level)
    router.action("tt.tp", pick_topic)
    router.action("tt.nophoto", skip_photo)
    router.action("tt.who", pick_who)
    router.action("tt.send", send)
    router.step("tt.level", waiting, text=False)
    router.step("tt.topic", waiting, text=False)
    router.step("tt.text", typed)
    router.step("tt.photo", photo, files=True)
    router.step("tt.who", waiting, text=False)
    router.step("tt.confirm", waiting, text=False)
    router.menu_item("Gửi tâm tư, kiến nghị", act("tt.new"), order=35)
