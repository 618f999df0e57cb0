"""Members propose a "Dân vận khéo" model: a guided form (name, field, unit, who carries it
out, how it works, results, up to 5 photos), a review screen, then sending.

The draft is kept in its own key for a month (not only in the dialog), so it survives
restarts and an expired dialog, and "Đề xuất mô hình" offers to resume it. Editing a returned
proposal uses the same form with the proposal's code in the draft.
"""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.conversation import Dialog
from bot.engine.messages import Button, FileUnavailable, NotAnImage, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, fold, nfc
from bot.library.files import human_size
from bot.org import access
from bot.proposals.models import MAX_PHOTOS, Area, Draft, Limits, State
from bot.proposals.photos import BadPhoto, keep
from bot.proposals.render import content_lines
from bot.proposals.service import Refused
from handlers.account.cancel import CANCEL
from handlers.proposals.ui import arg, refused

FLOW = "dvk"
TEXTS = {  # key: (label, prompt, limits)
    "name": ("tên mô hình", "Tên mô hình (5–150 ký tự), ví dụ: «Dân vận khéo trong cải cách "
             "thủ tục hành chính».", Limits.NAME),
    "executor": ("chủ thể thực hiện", "Ai thực hiện mô hình (3–300 ký tự): tập thể, cá nhân, "
                 "các đoàn thể phối hợp.", Limits.EXECUTOR),
    "method": ("cách làm", "Cách làm (20–3.000 ký tự): mô hình được triển khai như thế nào.",
               Limits.METHOD),
    "results": ("hiệu quả", "Hiệu quả (20–3.000 ký tự), có số liệu cụ thể: số hộ, số người, "
                "tỷ lệ, giá trị…", Limits.RESULTS),
}
STEPS = ("name", "area", "unit", "executor", "method", "results")
DONE_WORDS = {"xong", "bo qua", "khong", "khong co", "het"}
SEND = "✓ Gửi đề xuất"
REVIEW = Button("Xong, xem lại đề xuất ›", act("dvk.rv"))
STALE = "Không có đề xuất nào đang soạn. Đồng chí chọn «Đề xuất mô hình Dân vận khéo» để bắt đầu."


async def begin(request: Request) -> Outcome:
    """Menu entry: resume a saved draft or start a new one."""
    draft = await request.deps.proposals.store.draft(request.me.id)
    if draft is not None and (draft.name or draft.code):
        what = f"«{esc(draft.name)}»" if draft.name else "chưa có tên"
        text = (f"<b>Đề xuất mô hình Dân vận khéo</b>\nĐồng chí có một bản nháp chưa gửi "
                f"({what}). Đồng chí muốn tiếp tục bản nháp hay soạn mới?")
        buttons = rows(Button("Tiếp tục bản nháp", act("dvk.go")),
                       Button("Soạn mới (xóa bản nháp)", act("dvk.new")), CANCEL)
        return Outcome([Reply(text, buttons=buttons)])
    return await fresh(request)


async def fresh(request: Request) -> Outcome:
    """Start an empty form."""
    await request.deps.proposals.store.save_draft(request.me.id, Draft())
    intro = ("<b>Đề xuất mô hình Dân vận khéo</b>\nĐồng chí điền 6 mục và ảnh minh họa "
             f"(7 bước; tối đa {MAX_PHOTOS} ảnh), xem lại rồi mới gửi. Bản nháp được lưu sau "
             "mỗi bước; gõ /huy để dừng, lần sau chọn lại chức năng này để tiếp tục.")
    return await _ask_next(request, Draft(), lead=intro)


async def resume(request: Request) -> Outcome:
    """"Tiếp tục bản nháp"."""
    return await _ask_next(request, await _draft(request))


async def typed(request: Request) -> Outcome:
    """A text answer for the field the dialog is at."""
    draft = await _draft(request)
    key = str(_dialog(request).data.get("key", ""))
    if key not in TEXTS:
        raise access.Forbidden(STALE)
    label, prompt, (low, high) = TEXTS[key]
    value = nfc(request.text).strip()
    if not low <= len(value) <= high:
        problem = (f"Mục {label} cần từ {low} đến {high} ký tự; nội dung vừa gửi có "
                   f"{len(value)} ký tự. Xin đồng chí nhập lại.\n{prompt}")
        return Outcome([Reply(problem, buttons=rows(CANCEL))], dialog=request.dialog)
    draft = draft.model_copy(update={key: value})
    return await _saved_then_next(request, draft)


async def pick_area(request: Request) -> Outcome:
    """A field (lĩnh vực) button."""
    draft = await _draft(request)
    raw = arg(request, 0)
    if raw not in {a.value for a in Area}:
        raise access.Forbidden("Lĩnh vực không hợp lệ.")
    return await _saved_then_next(request, draft.model_copy(update={"area": Area(raw)}))


async def pick_unit(request: Request) -> Outcome:
    """A unit button: only the member's own unit or a unit above it (checked here)."""
    draft = await _draft(request)
    unit = arg(request, 0)
    tree = await request.tree()
    if unit not in tree.ancestors(request.me.unit):
        raise access.Forbidden("Đồng chí chỉ đề xuất được mô hình của đơn vị mình hoặc cấp trên "
                               "trực tiếp của đơn vị mình.")
    return await _saved_then_next(request, draft.model_copy(update={"unit": unit}))


async def photo(request: Request) -> Outcome:
    """A photo (or an image sent as a file) at the photo step; "xong" typed goes on."""
    draft = await _draft(request)
    file = request.incoming.file
    if file is None:
        if fold(request.text) in DONE_WORDS:
            return await review(request)
        return _photo_prompt(request, draft, "Xin đồng chí gửi ảnh, hoặc bấm «Xong».")
    limit = int(request.deps.settings.proposal_photo_mb * 1024 * 1024)
    problem = _photo_problem(file.kind, file.mime_type, file.filename, file.size, limit,
                             len(draft.photos), file.fetch is not None)
    if problem is None:
        assert file.fetch is not None
        try:
            data = await file.fetch()
            kept = await keep(request.deps.library.files, data, limit, len(draft.photos) + 1)
        except NotAnImage:  # a link (Zalo) that led to a page or a PDF
            problem = ("Tệp này không phải ảnh. Bot chỉ nhận ảnh JPEG, PNG hoặc WebP. "
                       "Ảnh này chưa được lưu.")
        except FileUnavailable:
            problem = "Bot chưa tải được ảnh này về. Xin đồng chí gửi lại."
        except BadPhoto as exc:
            problem = (f"{exc} Bot chỉ nhận ảnh JPEG, PNG hoặc WebP, mỗi ảnh tối đa "
                       f"{human_size(limit)}. Ảnh này chưa được lưu.")
        else:
            draft = draft.model_copy(update={"photos": [*draft.photos, kept]})
            await request.deps.proposals.store.save_draft(request.me.id, draft)
    return _photo_prompt(request, draft, problem)


async def clear_photos(request: Request) -> Outcome:
    """"Xóa hết ảnh"."""
    draft = (await _draft(request)).model_copy(update={"photos": []})
    await request.deps.proposals.store.save_draft(request.me.id, draft)
    return _photo_prompt(request, draft, "Đã xóa các ảnh đã gửi.")


async def review(request: Request) -> Outcome:
    """The review screen: everything the reviewers will see, and the send button."""
    draft = await _draft(request)
    missing = draft.missing()
    if missing:
        return await _ask_next(request, draft)
    draft = draft.model_copy(update={"step": "review"})
    await request.deps.proposals.store.save_draft(request.me.id, draft)
    tree = await request.tree()
    head = "<b>Xem lại đề xuất trước khi gửi</b>"
    if draft.code:
        head += f"\n(Chỉnh sửa đề xuất {draft.code} đã được trả lại)"
    edits = [Button(f"Sửa {TEXTS[k][0] if k in TEXTS else label}", act("dvk.e", k))
             for k, label in (("name", ""), ("area", "lĩnh vực"), ("unit", "đơn vị"),
                              ("executor", ""), ("method", ""), ("results", ""),
                              ("photos", "ảnh"))]
    text = "\n".join([head, *content_lines(draft, tree)])
    # The draft's id rides on the button: a second tap, after the first sent it, finds the code.
    send_button = Button(SEND, act("dvk.send", draft.id))
    return Outcome([Reply(text, buttons=rows(send_button, *edits, CANCEL))],
                   dialog=Dialog(flow=FLOW, step="dvk.wait"))


async def edit(request: Request) -> Outcome:
    """"Sửa …" on the review screen: ask that one field again, then come back."""
    draft = await _draft(request)
    key = arg(request, 0)
    if key not in (*STEPS, "photos"):
        raise access.Forbidden(STALE)
    return await _ask(request, draft, key, back=True)


async def send(request: Request) -> Outcome:
    """Submit (or resend after a return); confirmed only once the proposal is on disk."""
    draft = await request.deps.proposals.store.draft(request.me.id)
    if draft is None or (request.args and request.args[0] != draft.id):
        return await _sent_already(request)
    if draft.missing():
        return await _ask_next(request, draft)
    tree = await request.tree()
    if draft.unit not in tree.ancestors(request.me.unit):
        raise access.Forbidden("Đơn vị đã chọn không còn là đơn vị của đồng chí. Xin chọn lại.")
    service, now = request.deps.proposals, request.now()
    try:
        if draft.code:
            proposal = await service.resend(request.me, draft.code, draft, tree, now,
                                            draft_id=draft.id)
        else:
            proposal = await service.submit(request.me, draft, tree, now, draft_id=draft.id)
    except Refused as exc:
        return refused(request, exc)
    await service.store.save_draft(request.me.id, None)
    text = (f"<b>Đã gửi đề xuất {proposal.code}</b> «{esc(proposal.name)}».\n"
            f"Trạng thái: {State.SUBMITTED.label}. Đồng chí theo dõi ở «Đề xuất của tôi» "
            "(/dexuat); bot sẽ báo khi có kết quả.")
    buttons = rows(Button("Đề xuất của tôi", act("my")), Button("« Về menu chính", act("menu")))
    return Outcome([Reply(text, buttons=buttons)])


async def _sent_already(request: Request) -> Outcome:
    """«Gửi» tapped again after the draft was sent: the same code, nothing sent twice."""
    sent = request.args[0] if request.args else ""
    code = await request.deps.proposals.store.sent_code(request.me.id, sent) if sent else None
    if code is None:
        raise access.Forbidden(STALE)
    text = (f"Đề xuất này đã được gửi với mã <b>{code}</b>; không gửi lại lần nữa. Đồng chí "
            "theo dõi ở «Đề xuất của tôi» (/dexuat).")
    buttons = rows(Button("Đề xuất của tôi", act("my")), Button("« Về menu chính", act("menu")))
    return Outcome([Reply(text, buttons=buttons)])


async def waiting(request: Request) -> Outcome:
    """Text typed where a button is expected."""
    return Outcome([Reply("Xin đồng chí chọn một trong các nút ở trên (hoặc gõ /huy để dừng; "
                          "bản nháp vẫn được giữ).")],
                   dialog=request.dialog, replace_options=False)


# ------------------------------------------------------------------------------ helpers
async def _draft(request: Request) -> Draft:
    draft = await request.deps.proposals.store.draft(request.me.id)
    if draft is None:
        raise access.Forbidden(STALE)
    return draft


def _dialog(request: Request) -> Dialog:
    if request.dialog is None or request.dialog.flow != FLOW:
        raise access.Forbidden(STALE)
    return request.dialog


async def _saved_then_next(request: Request, draft: Draft) -> Outcome:
    await request.deps.proposals.store.save_draft(request.me.id, draft)
    back = bool(request.dialog and request.dialog.flow == FLOW and request.dialog.data.get("back"))
    if back or draft.step == "review":
        return await review(request)
    return await _ask_next(request, draft)


async def _ask_next(request: Request, draft: Draft, lead: str = "") -> Outcome:
    missing = draft.missing()
    if missing:
        return await _ask(request, draft, missing[0], lead=lead)
    if draft.step == "review":
        return await review(request)
    return await _ask(request, draft, "photos", lead=lead)


async def _ask(request: Request, draft: Draft, key: str, *, back: bool = False,
               lead: str = "") -> Outcome:
    """The question for one field."""
    number = STEPS.index(key) + 1 if key in STEPS else 7
    head = f"{lead}\n\n" if lead else ""
    head += f"<b>Bước {number}/7</b> "
    dialog = Dialog(flow=FLOW, step="dvk.wait", data={"back": back})
    if key in TEXTS:
        current = getattr(draft, key)
        now = f"\n(Hiện tại: {esc(current[:200])})" if current else ""
        return Outcome([Reply(head + TEXTS[key][1] + now, buttons=rows(CANCEL))],
                       dialog=dialog.at("dvk.text", key=key))
    if key == "area":
        buttons = [Button(a.label, act("dvk.area", a.value)) for a in Area]
        return Outcome([Reply(head + "Lĩnh vực của mô hình:", buttons=rows(*buttons, CANCEL))],
                       dialog=dialog)
    if key == "unit":
        tree = await request.tree()
        buttons = [Button(tree.units[u].name, act("dvk.unit", u))
                   for u in tree.ancestors(request.me.unit)]
        return Outcome([Reply(head + "Mô hình được thực hiện ở đơn vị nào?",
                              buttons=rows(*buttons, CANCEL))], dialog=dialog)
    reply = _photo_prompt(request, draft, None)
    return Outcome([Reply(head + reply.replies[0].text, buttons=reply.replies[0].buttons)],
                   dialog=reply.dialog)


def _photo_prompt(request: Request, draft: Draft, problem: str | None) -> Outcome:
    limit = int(request.deps.settings.proposal_photo_mb * 1024 * 1024)
    count = len(draft.photos)
    lines = [problem] if problem else []
    lines.append(f"Ảnh minh họa: đã có {count}/{MAX_PHOTOS} ảnh. Đồng chí gửi thêm ảnh (JPEG, "
                 f"PNG hoặc WebP, mỗi ảnh tối đa {human_size(limit)}), hoặc bấm «Xong» "
                 "(gõ «xong») để xem lại. Ảnh không bắt buộc.")
    buttons = [REVIEW, *([Button("Xóa hết ảnh", act("dvk.nophoto"))] if count else []), CANCEL]
    return Outcome([Reply("\n".join(lines), buttons=rows(*buttons))],
                   dialog=Dialog(flow=FLOW, step="dvk.photo"))


def _photo_problem(kind: str, mime: str, filename: str, size: int, limit: int, count: int,
                   fetchable: bool) -> str | None:
    """Why a sent file cannot be taken as a photo (checked before downloading anything)."""
    if count >= MAX_PHOTOS:
        return f"Đề xuất đã đủ {MAX_PHOTOS} ảnh. Bấm «Xóa hết ảnh» nếu muốn gửi lại ảnh khác."
    image_name = filename.lower().endswith((".jpg", ".jpeg", ".png", ".webp"))
    if kind != "photo" and not (mime.startswith("image/") or image_name):
        return "Tệp này không phải ảnh. Bot chỉ nhận ảnh JPEG, PNG hoặc WebP."
    if size > limit:
        return (f"Ảnh nặng {human_size(size)}, vượt giới hạn {human_size(limit)}. Chưa có gì "
                "được lưu; xin đồng chí gửi ảnh nhỏ hơn.")
    if not fetchable:
        return "Ứng dụng này chưa hỗ trợ gửi ảnh cho bot. Đồng chí bấm «Xong» để tiếp tục."
    return None


def register(router: Router) -> None:
    """Register the form and its menu item (every member)."""
    router.action("dvk", begin)
    router.action("dvk.new", fresh)
    router.action("dvk.go", resume)
    router.action("dvk.area", pick_area)
    router.action("dvk.unit", pick_unit)
    router.action("dvk.rv", review)
    router.action("dvk.e", edit)
    router.action("dvk.nophoto", clear_photos)
    router.action("dvk.send", send)
    router.step("dvk.text", typed)
    router.step("dvk.photo", photo, files=True)
    router.step("dvk.wait", waiting, text=False)
    router.menu_item("Đề xuất mô hình Dân vận khéo", act("dvk"), order=30)
