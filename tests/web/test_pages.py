"""Each dashboard page does its job over real HTTP, through the same services as the chat."""

from __future__ import annotations

import io
import re
from pathlib import Path

from openpyxl import load_workbook

from bot.deps import Deps
from bot.library.coverage import coverage, coverage_many
from bot.library.notices import reminder_job
from bot.proposals.models import Decision, State
from tests.library.helpers import directive, import_folder, write
from tests.proposals.helpers import content
from tests.web.conftest import Browser
from tests.web.seed import Org


async def test_overview_counts_members_surveys_and_waiting_proposals(browser: Browser,
                                                                     org: Org) -> None:
    await browser.sign_in(org.khoi_cadre.id)
    status, html = await browser.get("/web/")
    assert status == 200
    total = len(org.members) + 3  # plus the three staff members
    assert re.search(rf'class="big">{total}<', html), html
    assert "Tâm tư tháng này" in html  # the open survey
    assert "Đảng bộ cơ sở A: <b>1</b> đề xuất" in html
    assert re.search(rf"Liên lạc được qua Telegram</div><div class=\"big\">{total}<", html)


async def test_coverage_heat_table_drills_down_and_lists_who_has_not_studied(
        browser: Browser, deps: Deps, org: Org) -> None:
    await deps.library.ack("12-nq-du", org.author.id, org.author.unit)
    await browser.sign_in(org.khoi_cadre.id)
    status, html = await browser.get("/web/van-ban")
    assert status == 200 and "12-NQ/ĐU" in html
    assert "Đảng bộ cơ sở A" in html and "1/14" in html  # 1 of the 14 members of the Khối
    status, html = await browser.get("/web/van-ban?don-vi=dbcs-a")
    assert status == 200 and "Chi bộ A1" in html and "20%" in html  # 1 of 5 in A1
    status, html = await browser.get("/web/van-ban/12-nq-du/cb-a1")
    assert status == 200 and "Chưa nghiên cứu: 4 đồng chí" in html
    assert "Lê Thị Tác Giả" not in html and "Đảng viên CB-A1 số 0" in html


async def test_remind_sends_once_per_hour_with_the_exact_count(browser: Browser, deps: Deps,
                                                               org: Org) -> None:
    await browser.sign_in(org.khoi_cadre.id)
    status, html = await browser.get("/web/van-ban/12-nq-du/dbcs-a/nhac-nho")
    assert "Gửi nhắc nhở tới 9 đồng chí" in html  # A1: 5, A2: 3; the reviewer too
    # Asking sends nothing: no reminder window is opened before the confirmation.
    assert await deps.redis.get(deps.keys.document_reminder("12-nq-du", "dbcs-a")) is None
    csrf = await browser.csrf("/web/van-ban/12-nq-du/dbcs-a/nhac-nho")
    status, _, location = await browser.post("/web/van-ban/12-nq-du/dbcs-a/nhac-nho",
                                             {"csrf": csrf})
    assert status == 303 and location.endswith("da-nhac=9")
    stamp = int(str(await deps.redis.get(deps.keys.document_reminder("12-nq-du", "dbcs-a"))))
    stats = await deps.outbox.stats(reminder_job("12-nq-du", "dbcs-a", stamp))
    assert stats.overall.total == 9
    status, _, location = await browser.post("/web/van-ban/12-nq-du/dbcs-a/nhac-nho",
                                             {"csrf": csrf})
    assert location.endswith("da-nhac=trung")
    status, html = await browser.get("/web/van-ban/12-nq-du/dbcs-a")
    assert "có thể nhắc lại sau" in html and "Nhắc nhở những" not in html
    status, html = await browser.get("/web/van-ban/12-nq-du/dbcs-a/nhac-nho")
    assert "Đã gửi nhắc nhở" in html and "<form" not in html.split("<main>")[1]


async def test_a_reviewer_takes_and_decides_a_proposal(browser: Browser, deps: Deps,
                                                       org: Org) -> None:
    await browser.sign_in(org.a_reviewer.id)
    status, html = await browser.get("/web/de-xuat")
    assert status == 200 and "Đảng bộ cơ sở A" in html
    csrf = await browser.csrf("/web/de-xuat")
    status, _, location = await browser.post("/web/de-xuat/tiep-theo", {"csrf": csrf})
    assert location == f"/web/de-xuat/{org.proposal_code}"
    status, html = await browser.get(location)
    assert "Mô hình «Chi bộ 4 tốt»" in html and "✓ Xác nhận" in html
    version = re.search(r'name="version" value="(\d+)"', html)
    assert version
    status, _, _ = await browser.post(f"{location}/quyet-dinh", {
        "csrf": csrf, "decision": "a", "answer": "Mô hình tốt, chuyển lên Khối.", "note": "",
        "version": version.group(1)})
    done = await deps.proposals.store.get(org.proposal_code)
    assert done is not None and done.state is State.APPROVED and done.level == 1
    status, html = await browser.get(f"{location}?xong=1")
    assert "Đã ghi nhận quyết định" in html and "Mô hình tốt, chuyển lên Khối." in html
    # The same form sent again (a double click) changes nothing.
    status, _, again = await browser.post(f"{location}/quyet-dinh", {
        "csrf": csrf, "decision": "x", "answer": "Nhấn lần hai.", "version": version.group(1)})
    assert again.endswith("loi=da-xu-ly") or status == 404
    assert (await deps.proposals.store.get(org.proposal_code)) == done


async def test_a_reviewer_is_not_handed_their_own_proposal(browser: Browser, deps: Deps,
                                                             org: Org) -> None:
    await deps.proposals.withdraw(org.author, org.proposal_code, 1, deps.clock())
    own = await deps.proposals.submit(org.a_reviewer, content("cb-a1"), await deps.units.tree(),
                                      deps.clock())
    await browser.sign_in(org.a_reviewer.id)
    csrf = await browser.csrf("/web/de-xuat")
    _, _, location = await browser.post("/web/de-xuat/tiep-theo", {"csrf": csrf})
    assert location == "/web/de-xuat?het=rieng"
    _, html = await browser.get(location)
    assert "hiện chỉ còn đề xuất do chính đồng chí gửi" in html
    stored = await deps.proposals.store.get(own.code)
    assert stored is not None and stored.state is State.SUBMITTED


async def test_an_answer_too_short_is_refused_politely(browser: Browser, deps: Deps,
                                                       org: Org) -> None:
    await browser.sign_in(org.a_reviewer.id)
    csrf = await browser.csrf("/web/de-xuat")
    _, _, location = await browser.post("/web/de-xuat/tiep-theo", {"csrf": csrf})
    _, html = await browser.get(location)
    version = re.search(r'name="version" value="(\d+)"', html)
    assert version
    status, html, where = await browser.post(f"{location}/quyet-dinh", {
        "csrf": csrf, "decision": "r", "answer": "ok", "note": "Ghi chú dài đã gõ.",
        "version": version.group(1)})
    assert status == 400 and where == ""
    assert "cần từ 5 đến 1.000 ký tự" in html and "Quyết định chưa được ghi nhận" in html
    # What was typed is still in the form, the decision chosen still selected.
    assert ">ok</textarea>" in html and ">Ghi chú dài đã gõ.</textarea>" in html
    assert '<option value="r" selected>' in html
    p = await deps.proposals.store.get(org.proposal_code)
    assert p is not None and p.state is State.IN_REVIEW


async def test_invites_create_print_and_revoke_after_confirming(browser: Browser, deps: Deps,
                                                                org: Org) -> None:
    await browser.sign_in(org.khoi_cadre.id)
    csrf = await browser.csrf("/web/ma-moi")
    _, _, location = await browser.post("/web/ma-moi", {
        "csrf": csrf, "unit": "cb-a2", "role": "member", "uses": "5"})
    code = location.split("xong=")[1]
    invite = await deps.invites.get(code)
    assert invite is not None and invite.unit == "cb-a2" and invite.max_uses == 5
    status, html, _ = await browser.post("/web/ma-moi/phieu", {
        "csrf": csrf, "unit": "cb-a1", "count": "4"})
    assert status == 200 and html.count("<svg") == 4 and html.count("Chi bộ A1") >= 4
    printed = re.findall(r"Mã mời: <code>([A-Z0-9]+)</code>", html)
    assert len(set(printed)) == 4
    for one in printed:
        found = await deps.invites.get(one)
        assert found is not None and found.max_uses == 1 and found.unit == "cb-a1"
    status, html = await browser.get(f"/web/ma-moi/{code}/thu-hoi")
    assert "Thu hồi mã mời" in html
    assert not (await deps.invites.get(code)).revoked  # type: ignore[union-attr]
    await browser.post(f"/web/ma-moi/{code}/thu-hoi", {"csrf": csrf})
    assert (await deps.invites.get(code)).revoked  # type: ignore[union-attr]


async def test_an_admin_only_role_cannot_be_given_by_a_cadre(browser: Browser, deps: Deps,
                                                             org: Org) -> None:
    await browser.sign_in(org.b_cadre.id)
    csrf = await browser.csrf("/web/ma-moi")
    status, _, _ = await browser.post("/web/ma-moi", {
        "csrf": csrf, "unit": "cb-b1", "role": "admin", "uses": "1"})
    assert status == 404
    assert all(i.role.value != "admin" for i in await deps.invites.list())


async def test_members_page_lists_the_subtree_with_channels(browser: Browser, org: Org) -> None:
    await browser.sign_in(org.khoi_cadre.id)
    status, html = await browser.get("/web/dang-vien?don-vi=dbcs-a")
    assert status == 200 and "Lê Thị Tác Giả" in html and "Telegram" in html
    assert "Đảng viên CB-B1" not in html


async def test_survey_results_and_xlsx_come_from_the_suppressed_report(
        browser: Browser, deps: Deps, org: Org) -> None:
    await deps.surveys.record(org.survey, org.author.id, [4])
    await browser.sign_in(org.khoi_cadre.id)
    status, html = await browser.get(f"/web/khao-sat/{org.survey.id}")
    # Anonymous: nothing but the policy while open (two views would differ by one answer).
    assert status == 200 and "chỉ xem được sau khi đóng" in html and "tai-ve.xlsx" not in html
    await deps.surveys.close(org.survey, deps.clock())
    status, html = await browser.get(f"/web/khao-sat/{org.survey.id}")
    assert status == 200 and "Tâm tư tháng này" in html
    assert "Chưa đủ" in html  # one answer: nothing under k is shown
    async with browser.session.get(browser.url(
            f"/web/khao-sat/{org.survey.id}/tai-ve.xlsx")) as reply:
        assert reply.status == 200
        body = await reply.read()
    book = load_workbook(io.BytesIO(body))
    cells = [str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
             for c in row if c is not None]
    assert cells and "Lê Thị Tác Giả" not in " ".join(cells)


async def test_a_broadcast_is_previewed_with_the_exact_count_then_sent(
        browser: Browser, deps: Deps, org: Org) -> None:
    await browser.sign_in(org.khoi_cadre.id)
    csrf = await browser.csrf("/web/thong-bao")
    form = {"csrf": csrf, "unit": "dbcs-a", "text": "Họp chi bộ lúc 8 giờ <b>thứ Hai</b>.",
            "at": ""}
    status, html, _ = await browser.post("/web/thong-bao/xem-truoc", form)
    assert status == 200 and 'id="count">9<' in html  # A1 5, A2 3, the A reviewer
    assert "&lt;b&gt;thứ Hai&lt;/b&gt;" in html  # the cadre's text is escaped
    assert await deps.broadcasts.by_author(org.khoi_cadre.id) == []  # nothing stored yet
    status, _, location = await browser.post("/web/thong-bao/gui", form)
    assert status == 303 and location.startswith("/web/thong-bao/")
    [b] = await deps.broadcasts.by_author(org.khoi_cadre.id)
    assert b.unit == "dbcs-a" and b.text.startswith("Họp chi bộ")
    status, html = await browser.get(location)
    assert status == 200 and f"Thông báo #{b.id}" in html


async def test_an_empty_announcement_is_refused_in_vietnamese(browser: Browser,
                                                             org: Org) -> None:
    await browser.sign_in(org.khoi_cadre.id)
    csrf = await browser.csrf("/web/thong-bao")
    status, html, _ = await browser.post("/web/thong-bao/xem-truoc", {
        "csrf": csrf, "unit": "khoi", "text": "   ", "at": ""})
    assert status == 400 and "Nội dung cần từ 1 đến 4.000 ký tự." in html


async def test_a_time_passed_before_confirming_keeps_the_announcement(
        browser: Browser, deps: Deps, org: Org) -> None:
    """Previewed for a time that passes before «Xác nhận gửi»: the compose form comes back
    with the problem and everything typed, and nothing is sent."""
    await browser.sign_in(org.khoi_cadre.id)
    csrf = await browser.csrf("/web/thong-bao")
    text = "Họp chi bộ lúc 8 giờ thứ Hai; đề nghị các đồng chí chuẩn bị ý kiến."
    status, html, _ = await browser.post("/web/thong-bao/gui", [
        ("csrf", csrf), ("unit", "dbcs-a"), ("text", text), ("at", "2020-01-06T08:00"),
        ("roles", "cadre"), ("ack", "1")])
    assert status == 400 and "Thời điểm gửi đã qua" in html
    assert f">{text}</textarea>" in html and 'value="2020-01-06T08:00"' in html
    assert 'value="cadre" checked' in html and 'name="ack" value="1" checked' in html
    assert '<option value="dbcs-a" selected' in html
    assert await deps.broadcasts.by_author(org.khoi_cadre.id) == []


async def test_the_gallery_shows_recognised_models_to_a_cadre(browser: Browser, deps: Deps,
                                                              org: Org) -> None:
    await browser.sign_in(org.b_cadre.id)  # no reviewer role: the queue page leads here
    status, _ = await browser.get("/web/de-xuat")
    assert status == 303
    status, html = await browser.get("/web/de-xuat/mo-hinh")
    assert status == 200 and "Chưa có mô hình nào được công nhận." in html
    for reviewer in (org.a_reviewer, org.khoi_cadre):  # grassroots, then the Khối
        claimed = await deps.proposals.next_for(reviewer, [p for p in ("dbcs-a", "khoi")
                                                           if p in {g.unit for g in
                                                                    reviewer.grants}],
                                                deps.clock())
        assert claimed is not None
        await deps.proposals.decide(reviewer, claimed.proposal.code, claimed.proposal.version,
                                    Decision.APPROVE, "Mô hình tốt, công nhận.", "", deps.clock())
    status, html = await browser.get("/web/de-xuat/mo-hinh")
    assert "Mô hình «Chi bộ 4 tốt»" in html


async def test_a_survey_opened_from_a_template_notifies_its_audience(
        browser: Browser, deps: Deps, org: Org) -> None:
    await browser.sign_in(org.khoi_cadre.id)
    status, html = await browser.get("/web/khao-sat/moi")
    assert status == 200
    template = re.search(r'<option value="([a-z0-9-]+)">', html)
    assert template, html
    csrf = await browser.csrf("/web/khao-sat/moi")
    status, _, location = await browser.post("/web/khao-sat/moi", {
        "csrf": csrf, "template": template.group(1), "unit": "dbcs-b", "anonymous": "1",
        "days": "5"})
    assert status == 303 and location.startswith("/web/khao-sat/")
    survey = await deps.surveys.get(location.rsplit("/", 1)[1])
    assert survey is not None and survey.unit == "dbcs-b" and survey.anonymous
    assert survey.audience == 4  # Chi bộ B1's three members and the cadre of B
    stats = await deps.outbox.stats(f"sv-{survey.id}")
    assert stats.overall.total == 4
    status, _, _ = await browser.post("/web/khao-sat/moi", {
        "csrf": csrf, "template": template.group(1), "unit": "dbcs-b", "days": "500"})
    assert status == 404


async def test_a_reviewer_sees_only_the_pages_of_their_role(browser: Browser, org: Org) -> None:
    await browser.sign_in(org.a_reviewer.id)
    status, html = await browser.get("/web/")
    assert status == 200 and 'href="/web/de-xuat"' in html
    assert 'href="/web/van-ban"' not in html and 'href="/web/thong-bao"' not in html
    assert (await browser.get("/web/van-ban"))[0] == 404


async def test_heat_table_figures_equal_the_one_document_report(deps: Deps, org: Org,
                                                               tmp_path: Path) -> None:
    """coverage_many (one round trip for the table) agrees with coverage, audience included."""
    write(tmp_path / "more", "directives/7-ct-du.md",
          directive("7-CT/ĐU", extra="audience: dbcs-a"))
    await import_folder(deps, tmp_path / "more")
    for member in org.members[:6]:
        await deps.library.ack("12-nq-du", member.id, member.unit)
        await deps.library.ack("7-ct-du", member.id, member.unit)
    tree = await deps.units.tree()
    docs = [("12-nq-du", None), ("7-ct-du", "dbcs-a")]
    for unit in ("khoi", "dbcs-a", "cb-a1", "dbcs-b"):
        many = await coverage_many(deps.redis, deps.keys, tree, docs, unit)
        one = [await coverage(deps.redis, deps.keys, tree, d, unit, a) for d, a in docs]
        assert many == one, unit
        known = deps.library.sizes  # the sizes the dashboard passes, kept per process
        assert await coverage_many(deps.redis, deps.keys, tree, docs, unit, known) == one


async def test_member_pages_cover_the_subtree_once_in_order(deps: Deps, org: Org) -> None:
    tree = await deps.units.tree()
    units = tree.subtree("khoi")
    everyone = [m for u in units for m in sorted(
        map(str, await deps.redis.smembers(deps.keys.unit_members(u))), key=int)]
    seen = []
    for offset in range(0, len(everyone) + 3, 3):
        total, members = await deps.members.page(units, offset, 3)
        assert total == len(everyone) == 14
        seen += [m.id for m in members]
    assert seen == everyone


async def test_a_page_number_that_is_not_a_number_is_page_one(browser: Browser,
                                                              org: Org) -> None:
    await browser.sign_in(org.khoi_cadre.id)
    for path in ("/web/dang-vien?trang=abc", "/web/van-ban/12-nq-du/khoi?trang=-1",
                 "/web/dang-vien?trang=99999999999"):
        status, html = await browser.get(path)
        assert status == 200 and "Trang 1/1" in html, path


async def test_the_years_dan_van_kheo_figures_with_chart_and_xlsx(browser: Browser,
                                                                  org: Org) -> None:
    await browser.sign_in(org.khoi_cadre.id)
    status, html = await browser.get("/web/de-xuat/bao-cao?nam=2026")
    assert status == 200 and "2026" in html and "Đảng bộ cơ sở A" in html
    async with browser.session.get(browser.url(
            "/web/de-xuat/bao-cao/tai-ve.xlsx?nam=2026")) as reply:
        assert reply.status == 200 and (await reply.read())[:2] == b"PK"
    async with browser.session.get(browser.url(
            "/web/de-xuat/bao-cao/bieu-do.png?nam=2026")) as reply:
        assert reply.status == 200 and (await reply.read())[:4] == b"\x89PNG"
    await browser.sign_in(org.b_cadre.id)
    assert (await browser.get("/web/de-xuat/bao-cao?don-vi=dbcs-a"))[0] == 404
