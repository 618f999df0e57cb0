"""Pieces the library flows share: finding a readable document, labels, paging.

Every lookup re-checks the audience on the server: a document id in a button payload comes back
from the client and may be forged, and a restricted document answers exactly like a missing one.
"""

from __future__ import annotations

import logging
from datetime import date

from bot.engine.actions import act
from bot.engine.messages import Button, Reply, rows
from bot.engine.router import Outcome, Request
from bot.formatting import short, vn_day
from bot.library.audience import can_read
from bot.library.models import Entry, Record
from bot.library.store import Library
from bot.org.access import Forbidden
from bot.org.tree import OrgTree

log = logging.getLogger("dvbot.library")

PAGE = 8
NOT_FOUND = ("Không tìm thấy văn bản hoặc tài liệu này: có thể đường dẫn đã cũ hoặc văn bản "
             "không thuộc phạm vi của đồng chí. Đồng chí gõ /menu để chọn lại.")
MISSING_ARG = "Nút bấm thiếu thông tin. Đồng chí gõ /menu để bắt đầu lại."


def arg(request: Request, index: int) -> str:
    """The index-th payload argument, or a polite refusal."""
    if index >= len(request.args):
        raise Forbidden(MISSING_ARG)
    return request.args[index]


def page_arg(request: Request, index: int) -> int:
    """A page number from the payload (anything odd means the first page)."""
    raw = request.args[index] if index < len(request.args) else "0"
    return int(raw) if raw.isdigit() and len(raw) < 4 else 0


async def readable(request: Request, doc_id: str) -> tuple[Library, Entry]:
    """The catalog entry, if it exists and the member may read it."""
    library = await request.deps.library.snapshot()
    entry = library.entries.get(doc_id)
    if entry is None or not can_read(request.me, entry.audience, await request.tree()):
        log.info("member %s asked for unreadable document %r", request.me.id, doc_id[:40])
        raise Forbidden(NOT_FOUND)
    return library, entry


async def record_of(request: Request, doc_id: str) -> Record:
    """The full stored document, after the audience check."""
    await readable(request, doc_id)
    record = await request.deps.library.get(doc_id)
    if record is None:
        raise Forbidden(NOT_FOUND)
    return record


async def visible(request: Request, entries: list[Entry]) -> list[Entry]:
    """Only what the member may read."""
    tree = await request.tree()
    return [e for e in entries if can_read(request.me, e.audience, tree)]


def vn_date(value: date | None) -> str:
    """03/6/2013."""
    return vn_day(value) if value else ""


def item_button(entry: Entry, acked: set[str]) -> Button:
    """A list button that opens the document, ticked when already studied."""
    mark = "✓ " if entry.id in acked else ""
    title = entry.short_title or entry.title
    name = f"{entry.so_hieu} · {title}" if entry.so_hieu else title
    return Button(mark + short(name), act("doc", entry.id))


def pager(items: list[Entry], page: int, route: str, *prefix: str
          ) -> tuple[list[Entry], list[Button], str]:
    """The slice for `page`, its ‹ › buttons, and 'trang 2/5' (empty for one page)."""
    pages = max(1, -(-len(items) // PAGE))
    page = min(page, pages - 1)
    shown = items[page * PAGE:(page + 1) * PAGE]
    nav: list[Button] = []
    if page > 0:
        nav.append(Button("‹ Trang trước", act(route, *prefix, str(page - 1))))
    if page + 1 < pages:
        nav.append(Button("Trang sau ›", act(route, *prefix, str(page + 1))))
    return shown, nav, (f" — trang {page + 1}/{pages}" if pages > 1 else "")


def screen(request: Request, text: str, buttons: list[Button]) -> Outcome:
    """One message of buttons; a button press edits the message it came from."""
    return Outcome([Reply(text, buttons=rows(*buttons), edit=request.incoming.action is not None)])


def pager_units(tree: OrgTree, unit_id: str, page: int, route: str
                ) -> tuple[tuple[str, ...], list[Button]]:
    """A page of a unit's children and the ‹ › buttons to move between pages."""
    children = tree.children.get(unit_id, ())
    shown = children[page * PAGE:(page + 1) * PAGE]
    nav: list[Button] = []
    if page > 0:
        nav.append(Button("‹ Trang trước", act(route, unit_id, str(page - 1))))
    if (page + 1) * PAGE < len(children):
        nav.append(Button("Trang sau ›", act(route, unit_id, str(page + 1))))
    return shown, nav
