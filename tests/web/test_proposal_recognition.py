"""The dashboard's decision form does what the chat's confirmation screen does: "no criterion
met" is an assessment too, and the last level's «Công nhận» records the Ban Thường vụ's
decision — number, date, signed PDF — shown on the proposal, in the gallery and downloadable.
Every bad input is answered in Vietnamese with the form as typed, and nothing is recorded."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.channels.http_guard import Limits, guard
from bot.channels.webhook import build_web_app
from bot.deps import Deps
from bot.ops.web import add_ops_routes
from bot.proposals.models import State
from bot.web.views.decision_form import PDF_LIMIT
from tests.web.conftest import Browser
from tests.web.seed import Org

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ANSWER = "Mô hình hiệu quả, đủ điều kiện công nhận."


@pytest.fixture(params=["alone", "behind the body guard"])
async def browser(request: pytest.FixtureRequest, browser: Browser,
                  deps: Deps) -> AsyncIterator[Browser]:
    """Every test twice: the dashboard alone, and as `dvbot run` serves it — on the webhook
    app behind the body guard, which reads each body before the page does (a multipart form
    then cannot be streamed a second time: the first browser run caught that)."""
    if request.param == "alone":
        yield browser
        return
    app = build_web_app(deps.redis, deps.conversations, None, "")
    add_ops_routes(app, deps, ["telegram"])
    guard(app, Limits(read_timeout=10.0, max_connections=64))
    async with TestServer(app, host="127.0.0.1") as running:
        browser.server = running
        yield browser


async def _held(browser: Browser, member_id: str) -> tuple[str, str, str, str]:
    """`member_id` takes the next proposal: its page, CSRF token, version and HTML."""
    await browser.sign_in(member_id)
    csrf = await browser.csrf("/web/de-xuat")
    _, _, location = await browser.post("/web/de-xuat/tiep-theo", {"csrf": csrf})
    status, page = await browser.get(location)
    assert status == 200 and "✓ Xác nhận" in page, page
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    return location, csrf, version.group(1), page


async def _at_last_level(browser: Browser, deps: Deps, org: Org) -> tuple[str, str, str, str]:
    """Approved by the grassroots reviewer; now held by the Khối's reviewer (the last level)."""
    location, csrf, version, _ = await _held(browser, org.a_reviewer.id)
    status, _, _ = await browser.post(f"{location}/quyet-dinh", {
        "csrf": csrf, "decision": "a", "answer": "Mô hình tốt, chuyển lên Khối.",
        "version": version})
    assert status == 303
    browser.session.cookie_jar.clear()
    return await _held(browser, org.khoi_cadre.id)


async def _send(browser: Browser, path: str, fields: dict[str, str],
                pdf: tuple[str, bytes, str] | None = None) -> tuple[int, str, str]:
    """POST the form as a browser sends it with a file input: multipart/form-data."""
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    if pdf is None:  # a file input left empty still sends an empty part
        form.add_field("qd_tep", b"", filename="", content_type="application/octet-stream")
    else:
        form.add_field("qd_tep", pdf[1], filename=pdf[0], content_type=pdf[2])
    async with browser.session.post(browser.url(path), data=form,
                                    allow_redirects=False) as reply:
        return reply.status, await reply.text(), reply.headers.get("Location", "")


async def test_no_criterion_met_is_recorded_as_an_assessment(browser: Browser, deps: Deps,
                                                             org: Org) -> None:
    location, csrf, version, page = await _held(browser, org.a_reviewer.id)
    assert 'name="tieu_chi_khong_dat"' in page and "chưa đạt tiêu chí nào" in page
    status, page, _ = await browser.post(f"{location}/quyet-dinh", [
        ("csrf", csrf), ("decision", "r"), ("answer", "Cần làm rõ hiệu quả."),
        ("version", version), ("tieu_chi", "hieu_qua"), ("tieu_chi_khong_dat", "1")])
    assert status == 400 and "vừa chọn «chưa đạt tiêu chí nào»" in page
    assert (await deps.proposals.store.history(org.proposal_code))[-1].criteria == {}
    status, _, where = await browser.post(f"{location}/quyet-dinh", [
        ("csrf", csrf), ("decision", "r"), ("answer", "Cần làm rõ hiệu quả."),
        ("version", version), ("tieu_chi_khong_dat", "1")])
    assert status == 303 and where.endswith("?xong=1")
    last = (await deps.proposals.store.history(org.proposal_code))[-1]
    assert len(last.criteria) == 6 and set(last.criteria.values()) == {0}
    _, page = await browser.get(where)
    assert "Sáng tạo: chưa đạt" in page and "Có khả năng nhân rộng: chưa đạt" in page


async def test_the_last_level_records_the_recognition_decision_with_its_pdf(
        browser: Browser, deps: Deps, org: Org) -> None:
    location, csrf, version, page = await _at_last_level(browser, deps, org)
    assert 'enctype="multipart/form-data"' in page and 'name="qd_so"' in page
    assert '<option value="a">Công nhận</option>' in page
    status, _, where = await _send(browser, f"{location}/quyet-dinh", {
        "csrf": csrf, "decision": "a", "answer": ANSWER, "version": version,
        "qd_so": "125-qđ/đu", "qd_ngay": "2026-12-12", "tieu_chi": "sang_tao"},
        pdf=("QĐ công nhận.pdf", PDF, "application/pdf"))
    assert status == 303 and where.endswith("?xong=1")
    p = await deps.proposals.store.get(org.proposal_code)
    assert p is not None and p.state is State.RECOGNISED and p.recognition is not None
    assert (p.recognition.number, p.recognition.day) == ("125-QĐ/ĐU", date(2026, 12, 12))
    assert p.recognition.file is not None and p.recognition.file.filename.endswith(".pdf")
    assert deps.library.files.path(p.recognition.file).read_bytes() == PDF
    _, page = await browser.get(where)
    assert "Số 125-QĐ/ĐU ngày 12/12/2026" in page
    link = f"/web/de-xuat/{p.code}/quyet-dinh.pdf"
    assert link in page
    # The model is public once recognised: another cadre downloads the decision too.
    browser.session.cookie_jar.clear()
    await browser.sign_in(org.b_cadre.id)
    _, gallery = await browser.get("/web/de-xuat/mo-hinh")
    assert "Quyết định công nhận số 125-QĐ/ĐU ngày 12/12/2026" in gallery and link in gallery
    async with browser.session.get(browser.url(link)) as reply:
        assert reply.status == 200 and reply.content_type == "application/pdf"
        assert await reply.read() == PDF
        assert "attachment" in reply.headers["Content-Disposition"]


async def test_without_a_decision_number_the_recognition_still_goes_through(
        browser: Browser, deps: Deps, org: Org) -> None:
    location, csrf, version, _ = await _at_last_level(browser, deps, org)
    status, _, where = await _send(browser, f"{location}/quyet-dinh", {
        "csrf": csrf, "decision": "a", "answer": ANSWER, "version": version,
        "qd_so": "", "qd_ngay": ""})
    assert status == 303 and where.endswith("?xong=1")
    p = await deps.proposals.store.get(org.proposal_code)
    assert p is not None and p.state is State.RECOGNISED and p.recognition is None
    status, _ = await browser.get(f"/web/de-xuat/{p.code}/quyet-dinh.pdf")
    assert status == 404


@pytest.mark.parametrize(("fields", "pdf", "says"), [
    ({"qd_so": "125", "qd_ngay": "2026-12-12"}, None, "chưa đúng dạng số hiệu"),
    ({"qd_so": "125-QĐ/ĐU", "qd_ngay": ""}, None, "cần cả số và ngày"),
    ({"qd_so": "", "qd_ngay": ""}, ("qd.pdf", PDF, "application/pdf"), "cần cả số và ngày"),
    ({"qd_so": "125-QĐ/ĐU", "qd_ngay": "31/02/2026"}, None, "Ngày quyết định không hợp lệ"),
    ({"qd_so": "125-QĐ/ĐU", "qd_ngay": "12/12/2026"},
     ("anh.pdf", b"\x89PNG\r\n\x1a\n" + bytes(64), "application/pdf"), "phải là tệp PDF"),
    ({"qd_so": "125-QĐ/ĐU", "qd_ngay": "12/12/2026"},
     ("lon.pdf", PDF + bytes(PDF_LIMIT), "application/pdf"), "gửi qua bot"),
])
async def test_a_bad_recognition_decision_is_explained_and_nothing_is_recorded(
        browser: Browser, deps: Deps, org: Org, fields: dict[str, str],
        pdf: tuple[str, bytes, str] | None, says: str) -> None:
    location, csrf, version, _ = await _at_last_level(browser, deps, org)
    before = await deps.proposals.store.get(org.proposal_code)
    status, page, _ = await _send(browser, f"{location}/quyet-dinh", {
        "csrf": csrf, "decision": "a", "answer": ANSWER, "version": version, **fields}, pdf)
    assert status == 400 and says in page and "Quyết định chưa được ghi nhận" in page
    assert f">{ANSWER}</textarea>" in page and "✓ Xác nhận" in page
    assert await deps.proposals.store.get(org.proposal_code) == before
    assert not any(deps.library.files.root.rglob("*.pdf"))


async def test_a_form_over_the_size_cap_gets_a_vietnamese_page(
        browser: Browser, deps: Deps, org: Org) -> None:
    location, csrf, version, _ = await _at_last_level(browser, deps, org)
    before = await deps.proposals.store.get(org.proposal_code)
    status, page, _ = await _send(browser, f"{location}/quyet-dinh", {
        "csrf": csrf, "decision": "a", "answer": ANSWER, "version": version,
        "qd_so": "125-QĐ/ĐU", "qd_ngay": "12/12/2026"},
        ("scan.pdf", PDF + bytes(2 << 20), "application/pdf"))
    assert status == 413 and "quá lớn" in page and "tối đa 1 MB" in page
    assert f'href="{location}"' in page
    assert await deps.proposals.store.get(org.proposal_code) == before


async def test_the_proxy_s_own_refusal_shows_the_same_page(browser: Browser) -> None:
    """deploy/nginx.conf sends its 413 to GET /web/qua-lon (checked by hand against nginx
    1.22: the POST becomes a GET there and the 413 stays), signed in or not."""
    status, page = await browser.get("/web/qua-lon")
    assert status == 413 and "quá lớn" in page and "gửi qua bot" in page
    assert 'href="/web/"' in page
