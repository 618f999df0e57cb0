"""A reviewer ticks the published criteria in the dashboard's decision form: the ticks go
through the same service call as the chat's, into the history and the export; a forged
criterion is refused with nothing recorded; a decision without ticks still goes through."""

from __future__ import annotations

import html as htmllib
import re

from bot.cli.proposals import last_criteria
from bot.deps import Deps
from bot.proposals.export import rows_of
from bot.proposals.models import State
from tests.web.conftest import Browser
from tests.web.seed import Org

SHIPPED = ["Sáng tạo", "Hiệu quả", "Huy động được nhiều lực lượng tham gia", "Hài hòa lợi ích",
           "Bền vững", "Có khả năng nhân rộng"]


async def _held(browser: Browser, org: Org) -> tuple[str, str, str, str]:
    """The reviewer of A takes the proposal: its page, CSRF token, version and page HTML."""
    await browser.sign_in(org.a_reviewer.id)
    csrf = await browser.csrf("/web/de-xuat")
    _, _, location = await browser.post("/web/de-xuat/tiep-theo", {"csrf": csrf})
    assert location == f"/web/de-xuat/{org.proposal_code}"
    status, page = await browser.get(location)
    assert status == 200 and "✓ Xác nhận" in page
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    return location, csrf, version.group(1), page


async def test_ticks_sent_with_the_decision_land_in_the_history_and_the_export(
        browser: Browser, deps: Deps, org: Org) -> None:
    location, csrf, version, page = await _held(browser, org)
    form = page.split("/quyet-dinh")[1].split("</form>")[0]
    boxes = re.findall(r'type="checkbox" id="tc-[a-z_]+" name="tieu_chi" value="([a-z_]+)"',
                       form)
    assert boxes == ["sang_tao", "hieu_qua", "huy_dong", "hai_hoa", "ben_vung", "nhan_rong"]
    assert all(name in htmllib.unescape(form) for name in SHIPPED)
    status, _, where = await browser.post(f"{location}/quyet-dinh", [
        ("csrf", csrf), ("decision", "a"), ("answer", "Mô hình tốt, chuyển lên Khối."),
        ("note", ""), ("version", version), ("tieu_chi", "sang_tao"),
        ("tieu_chi", "ben_vung")])
    assert status == 303 and where == f"{location}?xong=1"
    p = await deps.proposals.store.get(org.proposal_code)
    assert p is not None and p.state is State.APPROVED
    last = (await deps.proposals.store.history(p.code))[-1]
    assert last.criteria == {"Sáng tạo": 1, "Hiệu quả": 0,
                             "Huy động được nhiều lực lượng tham gia": 0, "Hài hòa lợi ích": 0,
                             "Bền vững": 1, "Có khả năng nhân rộng": 0}
    _, page = await browser.get(where)
    history = htmllib.unescape(page.split("Lịch sử xử lý")[1])
    assert "Sáng tạo: đạt" in history and "Bền vững: đạt" in history
    assert "Hiệu quả: chưa đạt" in history
    row = rows_of([p], await deps.units.tree(), await last_criteria(deps, [p]))[0]
    assert row[-1].startswith("Sáng tạo: đạt; Hiệu quả: chưa đạt;")
    assert "Bền vững: đạt" in row[-1]


async def test_a_forged_criterion_is_refused_and_nothing_is_recorded(
        browser: Browser, deps: Deps, org: Org) -> None:
    location, csrf, version, _ = await _held(browser, org)
    before = await deps.proposals.store.get(org.proposal_code)
    events = await deps.proposals.store.history(org.proposal_code)
    for forged in ("<b>Tự chế</b>", "Sáng tạo", "sang_tao_x"):  # a name is not an id either
        status, page, where = await browser.post(f"{location}/quyet-dinh", [
            ("csrf", csrf), ("decision", "a"), ("answer", "Mô hình tốt, chuyển lên Khối."),
            ("version", version), ("tieu_chi", "hieu_qua"), ("tieu_chi", forged)])
        assert status == 400 and where == ""
        assert "không nằm trong danh sách tiêu chí đã công bố" in page
        assert "Quyết định chưa được ghi nhận" in page and "Tự chế" not in page
        assert "✓ Xác nhận" in page  # still held: the reviewer can tick again and confirm
        assert "Mô hình tốt, chuyển lên Khối.</textarea>" in page
    assert await deps.proposals.store.get(org.proposal_code) == before
    assert await deps.proposals.store.history(org.proposal_code) == events
    assert before is not None and before.state is State.IN_REVIEW


async def test_a_decision_without_ticks_still_goes_through(browser: Browser, deps: Deps,
                                                           org: Org) -> None:
    location, csrf, version, _ = await _held(browser, org)
    status, _, where = await browser.post(f"{location}/quyet-dinh", {
        "csrf": csrf, "decision": "r", "answer": "Xin bổ sung số liệu cụ thể.", "note": "",
        "version": version})
    assert status == 303 and where == f"{location}?xong=1"
    p = await deps.proposals.store.get(org.proposal_code)
    assert p is not None and p.state is State.RETURNED
    last = (await deps.proposals.store.history(p.code))[-1]
    assert last.criteria == {} and last.answer == "Xin bổ sung số liệu cụ thể."
    _, page = await browser.get(where)
    assert "Đã ghi nhận quyết định" in page
