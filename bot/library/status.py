"""The legal status of directives: how it reads, and whether the links between documents agree.

A directive is in force ("hiệu lực") unless its file says "hết hiệu lực" with the date; one that
another replaced names it in `replaced_by`, and the newer one names the older in `replaces`.
Superseded documents stay readable under a banner but are left out of the list of directives,
of coverage reports and reminders, and rank after current ones in search.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from bot.formatting import esc
from bot.library.identity import Ref, ambiguity, matching, parse_ref
from bot.library.models import Directive, Entry, Material
from bot.library.sohieu import BadSoHieu
from bot.org.access import Forbidden

NOT_CURRENT = ("Văn bản này đã hết hiệu lực nên không còn theo dõi việc nghiên cứu. Đồng chí "
               "chọn văn bản hiện hành thay thế nó.")


def vn_day(value: date | None) -> str:
    """'30/7/2021', '02/01/2020': months 1 and 2 keep their zero (as Nghị định 30 writes)."""
    if value is None:
        return ""
    month = f"{value.month:02d}" if value.month <= 2 else str(value.month)
    return f"{value.day:02d}/{month}/{value.year}"


def names(refs: Iterable[str], entries: dict[str, Entry]) -> str:
    """'Quyết định 23-QĐ/TW' for each số hiệu in the library, the bare số hiệu otherwise;
    with the date when another document shares the số hiệu (numbering restarts each term)."""
    out: list[str] = []
    for ref in refs:
        try:
            parsed = parse_ref(ref)
        except BadSoHieu:
            out.append(ref)
            continue
        found = matching(parsed, entries.values())
        if len(found) != 1:
            out.append(ref)
            continue
        shared = len(matching(Ref(parsed.so_hieu), entries.values())) > 1
        out.append(found[0].label + (f" ngày {vn_day(found[0].issued)}" if shared else ""))
    return ", ".join(out)


def status_line(doc: Directive, entries: dict[str, Entry]) -> str:
    """'Tình trạng: còn hiệu lực' or 'Tình trạng: hết hiệu lực từ …, được thay thế bởi …'."""
    if doc.current:
        since = f" (từ {vn_day(doc.effective)})" if doc.effective else ""
        return f"Tình trạng: còn hiệu lực{since}"
    text = f"Tình trạng: hết hiệu lực từ {vn_day(doc.ended)}"
    if doc.replaced_by:
        text += f", được thay thế bởi {names(doc.replaced_by, entries)}"
    return esc(text)


def banner(doc: Directive | Material, entries: dict[str, Entry]) -> str:
    """The warning shown above a superseded document ('' for a current one)."""
    if not isinstance(doc, Directive) or doc.current:
        return ""
    text = f"⚠️ VĂN BẢN ĐÃ HẾT HIỆU LỰC từ ngày {vn_day(doc.ended)}"
    if doc.replaced_by:
        text += f"; được thay thế bởi {names(doc.replaced_by, entries)}"
    return f"<b>{esc(text)}.</b> Nội dung dưới đây chỉ để tham khảo.\n\n"


def require_current(entry: Entry) -> None:
    """Refuse coverage reports and reminders about a document no longer in force."""
    if not entry.current:
        raise Forbidden(NOT_CURRENT)


def check_links(docs: Iterable[tuple[str, Directive | Material]]) -> list[str]:
    """Problems with `replaces`/`replaced_by`: unknown or ambiguous documents, or ends that
    disagree. A bare số hiệu shared by documents of two terms must name the year (in
    `amends` and `related` too)."""
    directives = [(origin, doc) for origin, doc in docs if isinstance(doc, Directive)]
    problems: list[str] = []
    for origin, doc in directives:
        external = [parse_ref(ref) for ref in doc.external]
        for field, back in (("replaces", "replaced_by"), ("replaced_by", "replaces")):
            for ref in getattr(doc, field):
                problem = _link_problem(origin, doc, field, back, parse_ref(ref), directives,
                                        external)
                if problem:
                    problems.append(problem)
        for field in ("amends", "related"):  # may name documents outside the library
            for ref in map(parse_ref, getattr(doc, field)):
                found = matching(ref, (d for _o, d in directives))
                if len(found) > 1:
                    problems.append(f"{origin}: {field}: {ambiguity(ref, found)}")
        for ref in external:
            if matching(ref, (d for _o, d in directives)):
                problems.append(f"{origin}: external: {ref.text} đã có trong thư viện, bỏ khỏi "
                                "external")
    return problems


def _link_problem(origin: str, doc: Directive, field: str, back: str, ref: Ref,
                  directives: list[tuple[str, Directive]], external: list[Ref]) -> str:
    found = [(o, d) for o, d in directives if ref.names(d)]
    if not found:
        if any(e.so_hieu == ref.so_hieu for e in external):
            return ""
        return (f"{origin}: {field}: {ref.text} không có trong thư viện (thêm văn bản đó, "
                "hoặc ghi số hiệu vào external)")
    if len(found) > 1:
        return f"{origin}: {field}: {ambiguity(ref, [d for _o, d in found])}"
    target_origin, target = found[0]
    if not any(_names_doc(other, doc, directives) for other in getattr(target, back)):
        return (f"{origin}: {field}: {ref.text}, nhưng {target_origin} không ghi "
                f"{back}: [{doc.so_hieu}]")
    return ""


def _names_doc(raw: str, doc: Directive, directives: list[tuple[str, Directive]]) -> bool:
    """True when the reference `raw` names exactly `doc` among the library's directives."""
    found = matching(parse_ref(raw), (d for _o, d in directives))
    return len(found) == 1 and found[0] is doc
