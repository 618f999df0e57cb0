"""Search latency over a 2,000-document catalog, in-process (issue 3: p95 under 20 ms)."""

from __future__ import annotations

import random
import statistics
import time
from datetime import date, timedelta

from bot.formatting import fold
from bot.library.models import Entry
from bot.library.store import Library

KINDS = [("NQ", "Nghị quyết"), ("CT", "Chỉ thị"), ("KL", "Kết luận"), ("QĐ", "Quyết định"),
         ("KH", "Kế hoạch"), ("HD", "Hướng dẫn")]
ISSUERS = [("TW", "Ban Chấp hành Trung ương"), ("TU", "Ban Thường vụ Tỉnh ủy"),
           ("ĐU", "Ban Thường vụ Đảng ủy"), ("ĐUK", "Đảng ủy Khối"), ("HU", "Huyện ủy")]
TEXT = ("tăng cường đổi mới sự lãnh đạo công tác dân vận tình hình mới phát huy quyền làm chủ "
         "của nhân dân xây dựng khối đại đoàn kết toàn dân tộc chính quyền mặt trận đoàn thể "
         "thực hiện dân chủ ở cơ sở phong trào thi đua dân vận khéo học tập làm theo tư tưởng "
         "đạo đức phong cách Hồ Chí Minh chuẩn mực cán bộ đảng viên giám sát phản biện xã hội "
         "cải cách hành chính chuyển đổi số an sinh xã hội đồng bào dân tộc thiểu số tôn giáo "
         "kinh tế tập thể nông thôn mới môi trường người lao động doanh nghiệp")
WORDS = TEXT.split()
QUERIES = ["nghi quyet 25", "25nq", "dân vận khéo", "quy chế dân chủ ở cơ sở", "43-KL/TW",
           "chuan muc dao duc can bo", "ket luan 120", "huong dan 12 tu", "chuyển đổi số",
           "dong bao dan toc thieu so", "phong trao thi dua", "cai cach hanh chinh",
           "mat tran doan the giam sat", "ke hoach 45", "xyzzy khong co", "dan van chinh quyen",
           "hoc tap lam theo", "nông thôn mới", "05-CT/TW", "tôn giáo"]


def catalog(size: int = 2000, seed: int = 7) -> list[Entry]:
    """Realistic-looking directives and materials with random titles and summaries."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    entries = []
    for n in range(size):
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))).capitalize()
        summary = " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 90)))
        if n % 5 == 4:
            slug = "-".join(fold(title).split())[:14] + f"-{n}"
            entries.append(Entry(id=slug[:20], type="material", title=title, summary=summary,
                                 label=title, topic=rng.choice(WORDS).capitalize(),
                                 questions=5, digest=str(n)))
            continue
        (code, kind), (issuer_code, issuer) = rng.choice(KINDS), rng.choice(ISSUERS)
        so_hieu = f"{n // 5 + 1:02d}-{code}/{issuer_code}"
        issued = date(2000, 1, 1) + timedelta(days=rng.randint(0, 9000))
        entries.append(Entry(id=f"{n}-x", type="directive", title=title, summary=summary,
                             label=f"{kind} {so_hieu}", so_hieu=so_hieu, kind=kind,
                             issuer=issuer, issued=issued, digest=str(n)))
    return entries


def main() -> None:
    """Build the index once, run every query many times, print the figures."""
    entries = catalog()
    started = time.perf_counter()
    library = Library.of(entries)
    build_ms = (time.perf_counter() - started) * 1000
    timings: list[float] = []
    hits = 0
    for _ in range(50):
        for query in QUERIES:
            started = time.perf_counter()
            found = library.search(query)
            timings.append((time.perf_counter() - started) * 1000)
            hits += bool(found)
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"catalog: {len(entries)} documents; index built in {build_ms:.0f} ms")
    print(f"queries: {len(timings)} ({len(QUERIES)} distinct, {hits} with results)")
    print(f"latency: p50 {statistics.median(timings):.2f} ms, p95 {p95:.2f} ms, "
          f"max {timings[-1]:.2f} ms  (target p95 < 20 ms)")


if __name__ == "__main__":
    main()
