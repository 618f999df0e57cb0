"""What the library hands to the delivery engine: "văn bản mới" to a directive's audience, and
"nhắc nhở" to those who have not studied it. This module decides who gets what under which job
id; bot/delivery sends it (shared rate limit, retries, each member at most once per job).

Job ids are deterministic, so a retry after a crash or a double press never notifies twice:
- `doc-<id>.v<version>`: the publication of one version of a document (see Record.version);
- `doc-<id>.rm-<unit>.<epoch>`: a reminder to a unit's subtree, one per reminder window, the
  window's start kept under `Keys.document_reminder` while it lasts.
"""

from __future__ import annotations

from datetime import datetime

from redis.asyncio import Redis

from bot.engine.actions import act
from bot.engine.messages import Button, Reply
from bot.formatting import VIETNAM, esc
from bot.library.models import Directive, Entry
from bot.storage.keys import Keys

REMIND_WINDOW = 3600  # seconds after a reminder during which another one for that unit is a no-op
# Channels without buttons (console) show the button as a bullet, so the text names the command.
STUDY = ("Đề nghị đồng chí nghiên cứu văn bản và bấm «Xác nhận đã nghiên cứu» sau khi đọc "
         "(bấm «Mở văn bản» bên dưới, hoặc gõ /vanban).")


def open_button(doc_id: str) -> Button:
    """The button that opens the document (the library's own route, audience re-checked)."""
    return Button("Mở văn bản", act("doc", doc_id))


def publication_job(doc_id: str, version: int) -> str:
    """The outbox job announcing one version of a document."""
    return f"doc-{doc_id}.v{version}"


def reminder_job(doc_id: str, unit_id: str, stamp: int) -> str:
    """The outbox job of the reminder window that started at `stamp` (epoch seconds)."""
    return f"doc-{doc_id}.rm-{unit_id}.{stamp}"


def publication_message(doc: Directive, version: int) -> Reply:
    """"Văn bản mới: …" (or "Văn bản được cập nhật: …") with the button that opens it."""
    lead = "Văn bản mới" if version == 1 else "Văn bản được cập nhật"
    lines = [f"{lead}: <b>{esc(doc.label)}</b> — {esc(doc.title)}",
             f"{esc(doc.issuer)} ban hành ngày {doc.issued:%d/%m/%Y}."]
    if version > 1:
        lines.append("Nội dung văn bản đã được sửa đổi; đồng chí vui lòng xem lại bản mới.")
    lines.append(STUDY)
    return Reply("\n".join(lines), buttons=((open_button(doc.id),),))


def reminder_message(entry: Entry, unit_name: str) -> Reply:
    """"Đồng chí chưa xác nhận đã nghiên cứu …" with the button that opens it."""
    lines = [f"<b>Nhắc nhở nghiên cứu văn bản</b> — {esc(unit_name)}",
             f"Đồng chí chưa xác nhận đã nghiên cứu <b>{esc(entry.label)}</b> — "
             f"{esc(entry.title)}.", STUDY]
    return Reply("\n".join(lines), buttons=((open_button(entry.id),),))


async def claim_reminder(redis: Redis, keys: Keys, doc_id: str, unit_id: str,
                         now: datetime) -> int:
    """Start a reminder window at `now`, or return the start of the one still open."""
    stamp = int(now.timestamp())
    held = await redis.set(keys.document_reminder(doc_id, unit_id), stamp, nx=True,
                           ex=REMIND_WINDOW, get=True)
    return int(held) if held is not None else stamp


async def open_reminder(redis: Redis, keys: Keys, doc_id: str, unit_id: str) -> int | None:
    """Start of the reminder window still open for that unit, if any."""
    raw = await redis.get(keys.document_reminder(doc_id, unit_id))
    return int(raw) if raw else None


def clock_time(stamp: int | float) -> str:
    """Epoch seconds as Vietnam's HH:MM."""
    return datetime.fromtimestamp(stamp, VIETNAM).strftime("%H:%M")
