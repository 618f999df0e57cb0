"""How a proposal reads in chat: the card, the photos, the history, and the author's notice.
All user text goes through esc()."""

from __future__ import annotations

from pathlib import Path

from bot.engine.actions import act
from bot.engine.messages import Attachment, Button, Reply
from bot.formatting import esc, vn_datetime
from bot.library.files import FileStore
from bot.library.status import vn_day
from bot.org.tree import OrgTree
from bot.proposals.models import KINDS, Content, Event, Proposal, State, area_label

SHORT = 1200  # cách làm / hiệu quả are cut here on cards; the export has them whole


def content_lines(c: Content, tree: OrgTree, *, short: bool = False) -> list[str]:
    """The author's fields, labelled."""
    unit = tree.get(c.unit) if c.unit else None
    def cut(text: str) -> str:
        return text if not short or len(text) <= SHORT else text[:SHORT].rstrip() + "…"
    return [f"<b>Loại:</b> {KINDS[c.kind]}",
            f"<b>Tên mô hình:</b> {esc(c.name) or '—'}",
            f"<b>Lĩnh vực:</b> {esc(area_label(c.area, c.area_name))}",
            f"<b>Đơn vị thực hiện:</b> {esc(unit.name) if unit else '—'}",
            f"<b>Chủ thể thực hiện:</b> {esc(c.executor) or '—'}",
            f"<b>Cách làm:</b> {esc(cut(c.method)) or '—'}",
            f"<b>Hiệu quả:</b> {esc(cut(c.results)) or '—'}",
            f"<b>Ảnh:</b> {len(c.photos)}"]


def level_name(p: Proposal, tree: OrgTree) -> str:
    """The unit reviewing it now."""
    unit = tree.get(p.reviewing_unit)
    return unit.name if unit else p.reviewing_unit


def card(p: Proposal, tree: OrgTree, *, short: bool = True) -> str:
    """Code, state, content and the last official answer."""
    lines = [f"<b>Đề xuất {p.code}</b>", f"Trạng thái: <b>{p.state.label}</b>"]
    if p.state in (State.SUBMITTED, State.IN_REVIEW, State.APPROVED):
        lines.append(f"Cấp đang xét: {esc(level_name(p, tree))} "
                     f"(cấp {p.level + 1}/{len(p.route)})")
    lines += [f"Người đề xuất: {esc(p.author_name)} — gửi {vn_datetime(p.submitted_at)}", ""]
    lines += content_lines(p, tree, short=short)
    if p.recognition is not None:
        lines.append(f"<b>Quyết định công nhận:</b> số {esc(p.recognition.number)} ngày "
                     f"{vn_day(p.recognition.day)}")
    if p.answer:
        lines += ["", f"<b>Ý kiến trả lời:</b> {esc(p.answer)}"]
    return "\n".join(lines)


def photos(p: Content, files: FileStore, caption: str) -> list[Reply]:
    """Each photo as its own message (the file stays on our disk, sent by path)."""
    out: list[Reply] = []
    for n, photo in enumerate(p.photos, 1):
        path: Path = files.path(photo.file)
        out.append(Reply("", photo=Attachment(path, photo.file.filename,
                                              caption=f"{esc(caption)} — ảnh {n}")))
    return out


def history(events: list[Event], *, private: bool) -> str:
    """The append-only history: who, when, from, to, answer (and notes for reviewers)."""
    lines = ["<b>Lịch sử xử lý</b>"]
    for e in events:
        source = e.source.label if e.source else "—"
        lines.append(f"• {vn_datetime(e.at)} — {esc(e.actor_name)}: {source} → "
                     f"<b>{e.target.label}</b>")
        if e.answer:
            lines.append(f"  Trả lời: {esc(e.answer)}")
        if e.criteria:
            lines.append(f"  Tiêu chí: {esc(criteria_text(e.criteria))}")
        if private and e.note:
            lines.append(f"  Ghi chú nội bộ: {esc(e.note)}")
    return "\n".join(lines)


def criteria_text(criteria: dict[str, int]) -> str:
    """'Sáng tạo: đạt; Bền vững: chưa đạt' (the reviewer's ticks, by criterion name)."""
    return "; ".join(f"{name}: {'đạt' if met else 'chưa đạt'}" for name, met in criteria.items())


def notice(p: Proposal) -> Reply:
    """What the author gets at a state change, with the reviewer's official answer."""
    lines = [f"<b>Đề xuất {p.code}</b> «{esc(p.name)}»",
             f"Trạng thái mới: <b>{p.state.label}</b>"]
    if p.recognition is not None:  # the author may need the number for their unit's records
        lines.append(f"Quyết định công nhận: số {esc(p.recognition.number)} ngày "
                     f"{vn_day(p.recognition.day)}")
    if p.answer and p.state is not State.IN_REVIEW:
        lines.append(f"Ý kiến trả lời: {esc(p.answer)}")
    if p.state is State.RETURNED:
        lines.append("Đồng chí mở «Đề xuất của tôi» (/dexuat) để chỉnh sửa và gửi lại.")
    return Reply("\n".join(lines), buttons=((Button("Xem đề xuất", act("my.v", p.code)),),))


def notice_job(p: Proposal) -> str:
    """Outbox job id: one per transition, so a retry never notifies twice."""
    return f"dvk-{p.code}.v{p.version}"
