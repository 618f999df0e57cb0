"""Open one directive or material: its card, "đọc thêm" / "toàn văn", and "đã nghiên cứu"."""

from __future__ import annotations

from bot.engine.actions import act
from bot.engine.messages import Attachment, Button, Reply, rows
from bot.engine.router import Outcome, Request, Router
from bot.formatting import esc, fold, split_html
from bot.library.audience import can_read
from bot.library.files import message_limit
from bot.library.markdown import link, render, without_title
from bot.library.models import Directive, Entry, Material
from bot.library.status import banner, status_line
from bot.library.store import Library, topic_slug
from bot.org import access
from bot.org.models import Role
from handlers.account.menu import BACK
from handlers.library.ui import arg, log, readable, record_of, screen, vn_date

PROGRESS = Button("Tiến độ học tập của tôi", act("prog"))
ACK_LABEL = "Xác nhận đã nghiên cứu"  # a button not yet pressed must not read "✓ Đã …"


def read_label(doc: Directive | Material) -> str | None:
    """A label that says what the reader gets: the full text only when a file carries it.

    Bodies written for the library are introductions (a few paragraphs), not the document
    itself; a document with neither body nor file has nothing beyond its card."""
    if doc.attachment is not None:
        return "Đọc toàn văn"
    return "Đọc thêm" if doc.body else None


async def open_doc(request: Request) -> Outcome:
    """The card: what it is, summary, key points, and what the member can do next."""
    doc_id = arg(request, 0)
    library, _entry = await readable(request, doc_id)
    record = await record_of(request, doc_id)
    acked = await request.deps.library.has_acked(doc_id, request.me.id)
    doc = record.doc
    text = banner(doc, library.entries) + _card(
        doc, acked, await _audience_name(request, doc.audience), library.entries)
    return screen(request, text, await _card_buttons(request, doc, acked, library))


async def read_full(request: Request) -> Outcome:
    """The full text in parts that fit the channel, then the attachment as a document."""
    record = await record_of(request, arg(request, 0))
    doc = record.doc
    channel = request.incoming.channel
    body = render(without_title(doc.body, doc.title), channel) if doc.body else esc(doc.summary)
    if doc.source_url:
        body += f"\n\nNguồn: {link(doc.source_url)}"
    library = await request.deps.library.snapshot()
    header = banner(doc, library.entries) + "\n".join(
        f"<b>{esc(line)}</b>" for line in dict.fromkeys([doc.label, doc.title]))
    header += "\n\n"
    attachment, note = _attachment(request, doc)
    parts = split_html(header + body + note, message_limit(request.incoming.channel))
    acked = await request.deps.library.has_acked(doc.id, request.me.id)
    # Buttons and the document ride on the last part: Telegram shows the buttons where the
    # reader finishes, and sends the file right after it.
    last = Reply(parts[-1], buttons=rows(*_after_reading(doc, acked)), document=attachment)
    return Outcome([*(Reply(part) for part in parts[:-1]), last])


async def acknowledge(request: Request) -> Outcome:
    """Record that the member studied the document, and show their progress."""
    doc_id = arg(request, 0)
    library, entry = await readable(request, doc_id)
    first = await request.deps.library.ack(doc_id, request.me.id, request.me.unit)
    lead = ("Đã ghi nhận: đồng chí đã nghiên cứu" if first
            else "Đồng chí đã xác nhận nghiên cứu trước đây:")
    progress = await progress_line(request, library)
    text = f"{lead} <b>{esc(entry.label)}</b>.\n\n{progress}"
    buttons = [Button("« Mở lại văn bản", act("doc", doc_id))]
    if entry.questions:
        buttons.insert(0, Button(f"Làm bài tự kiểm tra ({entry.questions} câu)",
                                 act("qz", doc_id)))
    return screen(request, text, [*buttons, PROGRESS, BACK])


async def progress_line(request: Request, library: Library) -> str:
    """'Đồng chí đã nghiên cứu 3/11 văn bản chỉ đạo và 2/6 tài liệu học tập.'"""
    tree = await request.tree()
    acked = await request.deps.library.acked(request.me.id)
    # Documents no longer in force are not counted as work left to do.
    mine = [e for e in library.entries.values()
            if e.current and can_read(request.me, e.audience, tree)]
    dirs = [e for e in mine if e.type == "directive"]
    mats = [e for e in mine if e.type == "material"]
    done_d = sum(1 for e in dirs if e.id in acked)
    done_m = sum(1 for e in mats if e.id in acked)
    return (f"Đồng chí đã nghiên cứu {done_d}/{len(dirs)} văn bản chỉ đạo "
            f"và {done_m}/{len(mats)} tài liệu học tập.")


def _card(doc: Directive | Material, acked: bool, audience: str | None,
          entries: dict[str, Entry]) -> str:
    lines = [f"<b>{esc(line)}</b>" for line in dict.fromkeys([doc.label, doc.title])]
    if isinstance(doc, Directive):
        lines.append(f"Ngày ban hành: {vn_date(doc.issued)}")
        # "Quốc hội khóa XV — cấp Quốc hội" says the level twice: omit it when the issuer does.
        level = "" if fold(doc.level) in fold(doc.issuer) else f" — cấp {esc(doc.level)}"
        lines.append(f"Cơ quan ban hành: {esc(doc.issuer)}{level}")
        lines.append(status_line(doc, entries))
        for name, refs in (("Thay thế", doc.replaces), ("Sửa đổi, bổ sung", doc.amends),
                           ("Liên quan", doc.related)):
            if refs:
                lines.append(f"{name}: {esc(', '.join(refs))}")
    else:
        lines.append(f"Chủ đề: {esc(doc.topic)}")
    if audience:
        lines.append(f"Đối tượng: {esc(audience)}")
    lines += ["", "<b>Tóm tắt</b>", esc(doc.summary)]
    if isinstance(doc, Directive) and doc.key_points:
        lines += ["", "<b>Nội dung chính</b>", *(f"• {esc(p)}" for p in doc.key_points)]
    lines.append("")
    lines.append("✓ Đồng chí đã nghiên cứu văn bản này." if acked else
                 f"Sau khi nghiên cứu, đồng chí bấm <b>{ACK_LABEL}</b> để ghi nhận.")
    return "\n".join(lines)


async def _card_buttons(request: Request, doc: Directive | Material, acked: bool,
                        library: Library) -> list[Button]:
    buttons = [Button(label, act("doc.f", doc.id)) for label in [read_label(doc)] if label]
    if not acked:
        buttons.append(Button(ACK_LABEL, act("doc.ok", doc.id)))
    if isinstance(doc, Material) and doc.quiz:
        buttons.append(Button(f"Làm bài tự kiểm tra ({len(doc.quiz)} câu)", act("qz", doc.id)))
    if isinstance(doc, Directive):
        buttons += await _linked(request, library, [*doc.replaced_by, *doc.replaces,
                                                    *doc.amends, *doc.related])
        if doc.current and access.has_any(request.me, Role.CADRE):
            buttons.append(Button("Báo cáo nghiên cứu", act("cov.d", doc.id)))
        buttons.append(Button("« Danh sách văn bản", act("dir")))
    else:
        buttons.append(Button(f"« Chủ đề {doc.topic}", act("mat.t", topic_slug(doc.topic))))
    return [*buttons, BACK]


async def _linked(request: Request, library: Library, refs: list[str]) -> list[Button]:
    """Buttons to referenced documents that are in the library and readable (each document of
    a số hiệu shared by two terms, with its year, when the reference does not name one)."""
    tree = await request.tree()
    found: dict[str, Button] = {}
    for ref in refs:
        for entry in library.numbered(ref):
            if entry.id not in found and can_read(request.me, entry.audience, tree):
                year = f" ({entry.issued.year})" if library.shared(entry) and entry.issued else ""
                found[entry.id] = Button(f"› {entry.label}{year}", act("doc", entry.id))
    return list(found.values())


def _after_reading(doc: Directive | Material, acked: bool) -> list[Button]:
    buttons = [] if acked else [Button(ACK_LABEL, act("doc.ok", doc.id))]
    if isinstance(doc, Material) and doc.quiz:
        buttons.append(Button("Làm bài tự kiểm tra", act("qz", doc.id)))
    return [*buttons, Button("« Về văn bản", act("doc", doc.id)), BACK]


def _attachment(request: Request, doc: Directive | Material) -> tuple[Attachment | None, str]:
    """The attachment to send, or a note saying why it cannot be sent."""
    stored = doc.attachment
    if stored is None:
        return None, ""
    path = request.deps.library.files.path(stored)
    if not path.is_file():
        log.warning("attachment %s of %s is missing from the file store", stored.sha256, doc.id)
        return None, ("\n\nTệp đính kèm của văn bản này tạm thời chưa có trên máy chủ; "
                      "đồng chí vui lòng báo cán bộ phụ trách.")
    caption = f"Tệp đính kèm: {esc(doc.label)}"
    return Attachment(path=path, filename=stored.filename, caption=caption), ""


async def _audience_name(request: Request, audience: str | None) -> str | None:
    if audience is None:
        return None
    unit = (await request.tree()).get(audience)
    return unit.name if unit else audience


def register(router: Router) -> None:
    """Register the document buttons (every one re-checks the audience)."""
    router.action("doc", open_doc)
    router.action("doc.f", read_full)
    router.action("doc.ok", acknowledge)
