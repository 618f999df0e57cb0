"""The end of the publish form: the optional PDF, the preview, and publishing itself.

A PDF over the platform's limit is refused before anything is downloaded; a PDF that is
accepted is stored by its hash, and the directive itself is written only on "Đăng văn bản".
Publishing then notifies the audience through the delivery engine (see `notify`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from bot.delivery.address import addressees, later_line
from bot.engine.actions import act
from bot.engine.conversation import Dialog
from bot.engine.messages import Button, FileRef, FileUnavailable, Reply, rows
from bot.engine.router import Outcome, Request
from bot.formatting import esc, fold, vn_number
from bot.library.audience import can_manage, recipients
from bot.library.files import FileTooBig, human_size, upload_limit
from bot.library.loader import explain
from bot.library.models import Directive, Record
from bot.library.notices import publication_job, publication_message
from bot.library.sohieu import BadSoHieu
from bot.library.store import Saved
from bot.org import access
from bot.org.models import Role
from bot.org.tree import OrgTree
from handlers.account.cancel import CANCEL
from handlers.account.menu import BACK
from handlers.library.ui import log, vn_date

FLOW = "pub"
SKIP = Button("Bỏ qua", act("pub.skip"))
SKIP_WORDS = {"bo qua", "khong", "khong co", "skip"}


async def file_step(request: Request) -> Outcome:
    """A PDF (checked, downloaded, stored) or "bỏ qua" typed."""
    dialog = _dialog(request, "pub.file")
    file = request.incoming.file
    if file is None:
        if fold(request.text) in SKIP_WORDS:
            return preview(dialog, await request.tree())
        return _again(dialog, "Xin đồng chí gửi tệp PDF, hoặc bấm <b>Bỏ qua</b>.", SKIP)
    problem = _file_problem(file, request.incoming.channel)
    if problem:
        return _again(dialog, problem, SKIP)
    assert file.fetch is not None
    limit = upload_limit(request.incoming.channel)
    try:
        data = await file.fetch()
        stored = await request.deps.library.files.put(data, _pdf_name(file), limit=limit)
    except (FileUnavailable, FileTooBig) as exc:
        log.info("could not take a PDF from %s: %s", request.account, exc)
        return _again(dialog, _too_big(exc.size, limit) if isinstance(exc, FileTooBig) else
                      "Bot chưa tải được tệp này về. Xin đồng chí gửi lại, hoặc bấm Bỏ qua.",
                      SKIP)
    return preview(dialog.at("pub.file", attachment=stored.model_dump()), await request.tree())


async def skip_file(request: Request) -> Outcome:
    """"Bỏ qua": no PDF."""
    return preview(_dialog(request, "pub.file"), await request.tree())


def _file_problem(file: FileRef, channel: str) -> str | None:
    limit = upload_limit(channel)
    if file.kind != "document" or not (file.mime_type == "application/pdf"
                                       or file.filename.lower().endswith(".pdf")):
        return "Bot chỉ nhận tệp PDF làm toàn văn. Xin đồng chí gửi tệp .pdf, hoặc bấm Bỏ qua."
    if file.size > limit:
        return _too_big(file.size, limit)
    if file.fetch is None:
        return "Ứng dụng này chưa hỗ trợ gửi tệp cho bot. Xin đồng chí bấm Bỏ qua."
    return None


def _too_big(size: int, limit: int) -> str:
    return (f"Tệp nặng {human_size(size)}, vượt giới hạn {human_size(limit)} mà nền tảng cho "
            "phép bot nhận. Chưa có gì được lưu. Xin đồng chí gửi bản nén nhỏ hơn, hoặc bấm "
            "Bỏ qua.")


def _pdf_name(file: FileRef) -> str:
    name = file.filename.strip() or "van-ban.pdf"
    return name if name.lower().endswith(".pdf") else f"{name}.pdf"


async def confirm(request: Request) -> Outcome:
    """Publish the previewed draft, re-checking scope and validation once more."""
    dialog = _dialog(request, "pub.confirm")
    tree = await request.tree()
    directive = draft(dialog.data)
    if isinstance(directive, list):
        return _again(dialog, "Văn bản chưa hợp lệ:\n" + esc("\n".join(directive)))
    access.require(request.me, Role.CADRE, str(dialog.data["unit"]), tree)
    try:  # the id it has, or will have: same số hiệu and year is the same document
        directive = await request.deps.library.place(directive)
    except BadSoHieu as exc:
        return _again(dialog, esc(str(exc)))
    existing = await request.deps.library.get(directive.id)
    if existing is not None and not can_manage(request.me, existing.doc.audience, tree):
        raise access.Forbidden("Văn bản số này thuộc cấp khác quản lý; đồng chí không cập nhật "
                               "được.")
    outcome = await request.deps.library.save(directive, origin=f"chat:{request.me.id}",
                                              now=request.now())
    await request.deps.audit.record(request.me.id, "directive_publish", doc=directive.id,
                                    unit=str(directive.audience), outcome=outcome)
    record = await request.deps.library.get(directive.id)
    assert record is not None  # saved just now, or already there unchanged
    notice = await notify(request, record, outcome)
    text = _published(directive, record.version, esc(tree.path(str(directive.audience))), notice)
    buttons = rows(Button("Mở văn bản", act("doc", directive.id)),
                   Button("Báo cáo nghiên cứu", act("cov.d", directive.id)), BACK)
    return Outcome([Reply(text, buttons=buttons)])


async def publish_recipients(request: Request, directive: Directive) -> list[str]:
    """Members a new directive concerns, except its author: who the notification goes to."""
    deps = request.deps
    ids = await recipients(deps.redis, deps.keys, await request.tree(), directive.audience)
    # The author has just written it: "Văn bản mới" in their own chat would only be noise.
    return [i for i in ids if i != request.me.id]


async def notify(request: Request, record: Record, outcome: Saved
                 ) -> tuple[int, int, int] | None:
    """Hand the notification to the delivery engine: (members it goes to now, members skipped
    for lack of an account, members it waits for), or None when nobody is notified (again)."""
    # NOTIFY. The job id is the document and its version (bumped only when the
    # content changes), so a retry or a double press never notifies twice. A new số hiệu
    # notifies its audience; a changed version notifies again as "Văn bản được cập nhật",
    # because members may have studied the old text; the same content published again changes
    # nothing and notifies nobody (reminders are the coverage report's "Nhắc nhở"). The one
    # exception is a retry of this cadre's own publication after a crash between saving and
    # enqueueing: it still finds the version "unchanged", and the same job id is enqueued
    # (a no-op when it went out already).
    doc = record.doc
    if not isinstance(doc, Directive):
        return None
    if outcome == "unchanged" and not _own_recent(request, record):
        return None
    deps = request.deps
    ids = await publish_recipients(request, doc)
    found = await addressees(deps.outbox.reach, deps.members, await request.tree(), ids,
                             doc.audience)
    paid = deps.settings.telegram_paid_rate > 0
    if not await deps.outbox.enqueue(publication_job(doc.id, record.version), found.job,
                                     [publication_message(doc, record.version)], paid=paid):
        return None
    return len(found.reached), found.without_account, len(found.kept)


def _own_recent(request: Request, record: Record) -> bool:
    """This cadre saved this version recently enough for this to be a retry of that dialog."""
    ttl = timedelta(hours=request.deps.settings.dialog_ttl_hours)
    return record.origin == f"chat:{request.me.id}" and request.now() - record.updated_at < ttl


def _published(directive: Directive, version: int, place: str,
               notice: tuple[int, int, int] | None) -> str:
    """The cadre's confirmation, with how many members are being notified."""
    label = f"<b>{esc(directive.label)}</b>"
    if notice is None:
        return (f"{label} đã có trong thư viện với đúng nội dung này; không có gì thay đổi nên "
                "không gửi thông báo lại. Muốn nhắc những đồng chí chưa nghiên cứu, đồng chí "
                "mở <b>Báo cáo nghiên cứu</b> và bấm <b>Nhắc nhở</b>.")
    count, skipped, kept = notice
    done = "Đã đăng" if version == 1 else "Đã cập nhật"
    lines = [f"{done} {label} cho {place}."]
    if count:
        kind = "văn bản mới" if version == 1 else "văn bản được cập nhật"
        lines.append(f"Đang gửi thông báo {kind} tới <b>{vn_number(count)}</b> đảng viên "
                     "trong đơn vị.")
    elif not kept:
        lines.append("Không có đảng viên nào khác trong đơn vị nhận được tin, nên không gửi "
                     "thông báo.")
    if skipped:
        lines.append(f"({skipped} đồng chí chưa có tài khoản nhận tin nên sẽ không nhận được.)")
    if kept:
        lines.append(later_line(kept))
    return "\n".join(lines)


async def waiting(request: Request) -> Outcome:
    """Text typed at the preview: point at the two buttons."""
    dialog = _dialog(request, "pub.confirm")
    return Outcome([Reply("Đồng chí bấm <b>Đăng văn bản</b> để đăng, hoặc <b>Hủy</b>.",
                          buttons=rows(PUBLISH, CANCEL))], dialog=dialog)


PUBLISH = Button("Đăng văn bản", act("pub.ok"))


def draft(data: dict[str, Any]) -> Directive | list[str]:
    """The draft as a validated Directive, or what is wrong with it."""
    fields = {key: data.get(key) for key in ("so_hieu", "title", "issued", "issuer", "summary",
                                             "attachment")}
    try:
        return Directive.model_validate({**fields, "audience": data.get("unit")})
    except ValidationError as exc:
        return explain(exc)


def preview(dialog: Dialog, tree: OrgTree) -> Outcome:
    """Show the draft and ask for confirmation."""
    directive = draft(dialog.data)
    if isinstance(directive, list):
        return _again(dialog, "Văn bản chưa hợp lệ:\n" + esc("\n".join(directive)))
    file = directive.attachment
    lines = ["<b>Xem lại trước khi đăng</b>", f"<b>{esc(directive.label)}</b>",
             f"<b>{esc(directive.title)}</b>",
             f"Ngày ban hành: {vn_date(directive.issued)} — {esc(directive.issuer)}",
             f"Đối tượng: {esc(tree.path(str(directive.audience)))}",
             f"Tệp đính kèm: {esc(file.filename) if file else 'không có'}", "",
             esc(directive.summary)]
    return Outcome([Reply("\n".join(lines), buttons=rows(PUBLISH, CANCEL))],
                   dialog=dialog.at("pub.confirm"))


def _dialog(request: Request, step: str) -> Dialog:
    dialog = request.dialog
    if dialog is None or dialog.flow != FLOW or dialog.step != step:
        raise access.Forbidden("Không có văn bản nào đang soạn. Đồng chí gõ /menu để bắt đầu.")
    return dialog


def _again(dialog: Dialog, problem: str, *extra: Button) -> Outcome:
    return Outcome([Reply(problem, buttons=rows(*extra, CANCEL))], dialog=dialog)
