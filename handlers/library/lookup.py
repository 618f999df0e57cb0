"""`/vanban <số hiệu>`: open a directive by its số hiệu. Party numbering restarts with each term
(khóa), so one số hiệu may name documents of two terms: then the member chooses (buttons on
Telegram and Zalo OA, typed numbers on the Zalo bot and the console); "124-QĐ/TW 2023" names
one directly."""

from __future__ import annotations

from dataclasses import replace

from bot.engine.actions import act
from bot.engine.messages import Button
from bot.engine.router import Outcome, Request
from bot.formatting import esc, sentence
from bot.library.identity import parse_ref
from bot.library.sohieu import BadSoHieu
from handlers.account.menu import BACK
from handlers.library.documents import open_doc
from handlers.library.ui import screen, visible, vn_date

FIND = Button("Tìm văn bản, tài liệu", act("find"))
LIST = Button("Văn bản chỉ đạo", act("dir"))


async def by_number(request: Request, typed: str) -> Outcome:
    """The one directive the số hiệu names, or the choice between those of different terms."""
    try:
        ref = parse_ref(typed[:60])
    except BadSoHieu as exc:
        return screen(request, f"{esc(sentence(str(exc)))}. Đồng chí cũng có thể tìm theo từ "
                               "khóa.", [FIND, LIST, BACK])
    library = await request.deps.library.snapshot()
    found = await visible(request, library.numbered(ref.text))
    if not found:
        return screen(request, f"Thư viện chưa có văn bản số {esc(ref.text)} dành cho đồng chí. "
                               "Đồng chí thử tìm theo từ khóa hoặc xem danh sách văn bản.",
                      [FIND, LIST, BACK])
    if len(found) == 1:
        return await open_doc(replace(request, args=(found[0].id,)))
    lines = [f"Thư viện có {len(found)} văn bản cùng số hiệu {esc(ref.text)} (số văn bản của "
             "Đảng được đánh lại từ đầu ở mỗi khóa). Đồng chí chọn văn bản cần xem:", ""]
    lines += [f"• <b>{esc(e.label)}</b> ngày {vn_date(e.issued)} — {esc(e.title)}"
              for e in found]
    buttons = [Button(f"{e.label} ({vn_date(e.issued)})", act("doc", e.id)) for e in found]
    return screen(request, "\n".join(lines), [*buttons, LIST, BACK])
