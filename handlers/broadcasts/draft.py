"""The draft of an announcement while a cadre composes it: building the Broadcast, checking
attachments, and the wording of the draft status and of the preview summary."""

from __future__ import annotations

from datetime import datetime

from bot.broadcasts.service import Broadcast, BroadcastFile
from bot.engine.conversation import Dialog
from bot.engine.messages import FileRef
from bot.formatting import esc, vn_datetime, vn_number
from bot.org.models import Member, Role

DOCUMENT_TYPES = {
    "application/pdf", "application/msword", "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint", "application/rtf", "text/plain",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
IMAGE_TYPES = {"image/jpeg", "image/png"}
COMPOSE = (
    "<b>Gửi thông báo</b>\n"
    "Xin đồng chí gửi nội dung thông báo. Có thể kèm <b>một</b> ảnh hoặc một tệp (PDF, Word, "
    "Excel, PowerPoint); chữ ghi kèm ảnh/tệp cũng là nội dung thông báo. Nội dung dài có thể "
    "gửi thành nhiều tin nhắn liên tiếp."
)



def roles_label(roles: list[str]) -> str:
    """Audience in words: "chỉ Cán bộ, Quản trị", or everyone."""
    if not roles:
        return "tất cả đảng viên"
    return "chỉ " + ", ".join(Role(r).label for r in roles)


def draft_broadcast(me: Member, draft: Dialog, now: datetime) -> Broadcast:
    """The draft as a (not yet stored) broadcast."""
    data = draft.data
    at = datetime.fromisoformat(data["at"]) if data.get("at") else now
    file = BroadcastFile.model_validate(data["file"]) if data.get("file") else None
    return Broadcast(author=me.id, author_name=me.name, unit=str(data["unit"]),
                     roles=[Role(r) for r in data.get("roles", [])], text=data.get("text", ""),
                     file=file, split=bool(data.get("split")), ack=bool(data.get("ack")),
                     at=at, created_at=now)


def summary(b: Broadcast, path: str, reachable: int, breakdown: list[str],
            messages: int) -> str:
    """The preview's summary: audience, exact count per app (free, billed, unreachable),
    messages, button, time."""
    lines = ["<b>Xem trước thông báo</b> (tin nhắn phía trên là đúng nội dung người nhận sẽ thấy)",
             f"Gửi tới: {esc(path)} (gồm cả các đơn vị trực thuộc)",
             f"Đối tượng: {roles_label([r.value for r in b.roles])}",
             f"Số người nhận: <b>{vn_number(reachable)}</b> đồng chí", *breakdown]
    lines.append(f"Gồm {messages} tin nhắn" + (" (có ảnh/tệp đính kèm)" if b.file else ""))
    lines.append("Nút «Đã nhận»: " + ("có" if b.ack else "không"))
    lines.append("Thời gian gửi: " + (f"lúc {vn_datetime(b.at)}" if b.at > b.created_at
                                      else "ngay khi đồng chí xác nhận"))
    return "\n".join(lines)


def draft_status(draft: Dialog, problem: str | None) -> str:
    """What the draft holds so far, after each message the cadre sends."""
    text, file = str(draft.data.get("text") or ""), draft.data.get("file")
    have = f"{len(text)} ký tự" if text else "chưa có chữ"
    if file:
        name = file.get("filename") or ("ảnh" if file.get("kind") == "photo" else "tệp")
        have += f", kèm {'ảnh' if file.get('kind') == 'photo' else 'tệp'} «{esc(name)}»"
    lead = f"{problem}\n\n" if problem else ""
    return (f"{lead}<b>Soạn thông báo</b>\nĐã có: {have}.\nĐồng chí có thể gửi tiếp để nối "
            "thêm nội dung (ảnh/tệp mới sẽ thay ảnh/tệp cũ), hoặc chọn bước tiếp theo.")


def file_problem(file: FileRef) -> str | None:
    """Why a file cannot go with an announcement, or None."""
    mime = file.mime_type.lower()
    if file.kind == "photo" or mime in DOCUMENT_TYPES or mime in IMAGE_TYPES:
        return None
    name = esc(file.filename or "tệp")
    if mime.startswith("image/"):
        return (f"Ảnh «{name}» có định dạng {esc(mime)}, người nhận có thể không mở được. "
                "Xin đồng chí gửi ảnh JPG hoặc PNG (gửi dạng ảnh, không phải tệp).")
    return (f"Tệp «{name}» ({esc(mime or 'không rõ loại')}) không gửi kèm thông báo được. "
            "Chỉ nhận ảnh, hoặc tệp PDF, Word, Excel, PowerPoint, văn bản.")
