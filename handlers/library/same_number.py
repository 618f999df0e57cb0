"""Publishing a số hiệu the library already has: the same document (same year of issue) is
updated, a document of another term (numbering restarts each khóa) is a new one."""

from __future__ import annotations

from datetime import date

from bot.engine.router import Request
from bot.formatting import esc
from bot.library.audience import can_manage
from bot.library.identity import fits_with_year
from bot.library.sohieu import SoHieu
from bot.library.status import vn_day


async def note(request: Request, parsed: SoHieu) -> str | None:
    """What the cadre should know before going on ('' when the số hiệu is new); None when the
    số hiệu cannot be told apart by year (too long for an id with the year)."""
    library = await request.deps.library.snapshot()
    same = library.numbered(parsed.text)
    if not same:
        return ""
    if not fits_with_year(parsed.doc_id):
        return None
    tree = await request.tree()
    listed = "; ".join(
        f"{esc(e.label)} ngày {vn_day(e.issued)}"
        + ("" if can_manage(request.me, e.audience, tree)
           else " (thuộc cấp khác quản lý, đồng chí không cập nhật được)") for e in same)
    return (f"Lưu ý: thư viện đã có {listed}. Nếu ngày ban hành đồng chí gõ ở bước 3 cùng năm "
            "với văn bản đã có, nội dung mới sẽ <b>cập nhật</b> văn bản đó (không tạo bản "
            "trùng); nếu khác năm, đây là <b>văn bản mới</b> cùng số hiệu (của khóa khác).\n\n")


async def refusal(request: Request, so_hieu: str, issued: date) -> str:
    """Why this date cannot be used ('' when it can): the same document exists and another
    level manages it."""
    library = await request.deps.library.snapshot()
    same = library.numbered(f"{so_hieu} ({issued.year})")
    if same and not can_manage(request.me, same[0].audience, await request.tree()):
        return (f"Văn bản số {esc(so_hieu)} ban hành năm {issued.year} đã có trong thư viện và "
                "thuộc cấp khác quản lý, đồng chí không cập nhật được. Nếu đây là văn bản khác "
                "(của khóa khác), xin đồng chí gõ đúng ngày ban hành; nếu không, bấm Hủy.")
    return ""
