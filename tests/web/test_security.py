"""The dashboard's doors: links, sessions, CSRF, scope (ids of other units answer 404), roles."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace

from bot.deps import Deps
from bot.org.models import Role
from bot.storage.connection import connect
from bot.web.server import DASHBOARD
from bot.web.sessions import WebSessions
from tests.library.helpers import import_shipped
from tests.web.conftest import Browser
from tests.web.seed import Org


async def test_a_page_without_a_session_goes_to_the_sign_in_help(browser: Browser) -> None:
    status, _ = await browser.get("/web/van-ban")
    assert status == 303
    status, html = await browser.get("/web/dang-nhap")
    assert status == 200 and "/web" in html and "10 phút" in html


async def test_opening_a_link_does_not_use_it_pressing_does_once(browser: Browser, deps: Deps,
                                                                 org: Org) -> None:
    token = await WebSessions(deps.redis, deps.keys).issue_link(org.khoi_cadre.id)
    for _ in range(2):  # a chat app's link preview fetches the page: the link must survive it
        status, html = await browser.get(f"/web/vao/{token}")
        assert status == 200 and "Đăng nhập" in html
    status, _, location = await browser.post(f"/web/vao/{token}", {})
    assert (status, location) == (303, "/web/")
    assert (await browser.get("/web/"))[0] == 200
    status, html, _ = await browser.post(f"/web/vao/{token}", {})  # used
    assert status == 403 and "không còn hiệu lực" in html


async def test_an_expired_link_signs_nobody_in(browser: Browser, deps: Deps, org: Org) -> None:
    token = await WebSessions(deps.redis, deps.keys).issue_link(org.khoi_cadre.id)
    key = deps.keys.web_link(hashlib.sha256(token.encode()).hexdigest())
    assert 590 <= await deps.redis.ttl(key) <= 600  # 10 minutes
    await deps.redis.pexpire(key, 1)
    await asyncio.sleep(0.05)
    status, html, _ = await browser.post(f"/web/vao/{token}", {})
    assert status == 403 and "không còn hiệu lực" in html


async def test_only_hashes_of_tokens_are_stored(deps: Deps, org: Org) -> None:
    sessions = WebSessions(deps.redis, deps.keys)
    token = await sessions.issue_link(org.khoi_cadre.id)
    sid, _ = await sessions.open(org.khoi_cadre.id)
    stored = [str(k) for k in await deps.redis.keys("dv:web:*")]
    assert stored and not any(token in k or sid in k for k in stored)
    values = [str(await deps.redis.get(k)) for k in stored]
    assert not any(token in v or sid in v for v in values)


async def test_cookie_is_httponly_strict_and_secure_behind_https(browser: Browser, deps: Deps,
                                                                 org: Org) -> None:
    token = await WebSessions(deps.redis, deps.keys).issue_link(org.khoi_cadre.id)
    async with browser.session.post(browser.url(f"/web/vao/{token}"), allow_redirects=False,
                                    headers={"X-Forwarded-Proto": "https"}) as reply:
        cookie = reply.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie
    assert "Path=/web" in cookie and "Max-Age=28800" in cookie  # 8 hours


async def test_pages_forbid_framing_and_inline_scripts(browser: Browser, org: Org) -> None:
    await browser.sign_in(org.khoi_cadre.id)
    async with browser.session.get(browser.url("/web/")) as reply:
        assert reply.headers["X-Frame-Options"] == "DENY"
        assert "script-src 'self'" in reply.headers["Content-Security-Policy"]
        assert reply.headers["Cache-Control"] == "no-store"


async def test_a_cookie_replayed_after_logout_opens_nothing(browser: Browser, org: Org) -> None:
    await browser.sign_in(org.khoi_cadre.id)
    cookie = next(c for c in browser.session.cookie_jar if c.key == "dvbot_phien").value
    csrf = await browser.csrf()
    status, _, location = await browser.post("/web/dang-xuat", {"csrf": csrf})
    assert (status, location) == (303, "/web/dang-nhap")
    browser.session.cookie_jar.update_cookies({"dvbot_phien": cookie})
    status, _ = await browser.get("/web/")
    assert status == 303


async def test_a_forged_csrf_token_changes_nothing(browser: Browser, deps: Deps,
                                                   org: Org) -> None:
    await browser.sign_in(org.khoi_cadre.id)
    status, html, _ = await browser.post("/web/van-ban/12-nq-du/khoi/nhac-nho",
                                         {"csrf": "forged"})
    assert status == 403 and "không hợp lệ" in html
    status, html, _ = await browser.post("/web/van-ban/12-nq-du/khoi/nhac-nho", {})
    assert status == 403
    assert not [k async for k in deps.redis.scan_iter("dv:*doc-12-nq-du.rm*")]
    assert await deps.redis.get(deps.keys.document_reminder("12-nq-du", "khoi")) is None


async def test_a_cadre_opening_another_units_ids_gets_404(browser: Browser, deps: Deps,
                                                         org: Org) -> None:
    await browser.sign_in(org.b_cadre.id)
    assert (await browser.get("/web/van-ban?don-vi=dbcs-b"))[0] == 200
    for path in ("/web/van-ban?don-vi=dbcs-a", "/web/van-ban/12-nq-du/cb-a1",
                 "/web/van-ban/khong-co/dbcs-b", f"/web/khao-sat/{org.survey.id}",
                 f"/web/khao-sat/{org.survey.id}/tai-ve.xlsx", "/web/dang-vien?don-vi=cb-a1",
                 f"/web/de-xuat/{org.proposal_code}", "/web/de-xuat/DVK-2099-99999"):
        status, html = await browser.get(path)
        assert status == 404, path
        assert "Không tìm thấy" in html and "Chi bộ A1" not in html
    invite = await deps.invites.create(unit="cb-a1", role=Role.MEMBER, created_by="t",
                                       max_uses=1, days=1, now=deps.clock())
    csrf = await browser.csrf()
    status, _, _ = await browser.post(f"/web/ma-moi/{invite.code}/thu-hoi", {"csrf": csrf})
    assert status == 404
    assert not (await deps.invites.get(invite.code)).revoked  # type: ignore[union-attr]


async def test_a_member_without_a_staff_role_is_refused(browser: Browser, deps: Deps,
                                                       org: Org) -> None:
    token = await WebSessions(deps.redis, deps.keys).issue_link(org.author.id)
    status, html, _ = await browser.post(f"/web/vao/{token}", {})
    assert status == 403 and "dành cho cán bộ" in html
    assert not [k async for k in deps.redis.scan_iter("dv:web:sess:*")]


async def test_a_role_taken_away_closes_the_dashboard_on_the_next_click(
        browser: Browser, deps: Deps, org: Org) -> None:
    await browser.sign_in(org.b_cadre.id)
    await deps.members.remove_grant(org.b_cadre.id, org.b_cadre.grants[0])
    status, html = await browser.get("/web/")
    assert status == 403 and "dành cho cán bộ" in html


async def test_a_reviewer_cannot_decide_outside_their_scope(browser: Browser, deps: Deps,
                                                           org: Org) -> None:
    await browser.sign_in(org.b_cadre.id)  # cadre of B, no reviewer role anywhere
    csrf = await browser.csrf()
    before = await deps.proposals.store.get(org.proposal_code)
    assert before is not None
    status, _, _ = await browser.post(f"/web/de-xuat/{org.proposal_code}/quyet-dinh", {
        "csrf": csrf, "decision": "a", "answer": "Đồng ý, mô hình tốt.",
        "version": str(before.version)})
    assert status == 404
    assert (await deps.proposals.store.get(org.proposal_code)) == before
    status, _, _ = await browser.post("/web/de-xuat/tiep-theo", {"csrf": csrf})
    assert status == 404


async def test_store_away_gets_a_polite_page_and_no_traceback(browser: Browser, deps: Deps,
                                                             org: Org, server: object) -> None:
    await browser.sign_in(org.khoi_cadre.id)
    dashboard = browser.server.app[DASHBOARD]
    broken = replace(deps, redis=connect("redis://127.0.0.1:1/0"))  # nothing listens there
    browser.server.app._state[DASHBOARD] = replace(  # type: ignore[attr-defined]
        dashboard, deps=broken, sessions=WebSessions(broken.redis, deps.keys))
    try:
        status, html = await browser.get("/web/")
    finally:
        browser.server.app._state[DASHBOARD] = dashboard  # type: ignore[attr-defined]
        await broken.redis.aclose()
    assert status == 503 and "tạm thời không trả lời" in html and "Traceback" not in html


async def test_no_coverage_page_for_a_document_no_longer_in_force(browser: Browser, deps: Deps,
                                                                 org: Org) -> None:
    await import_shipped(deps)  # 290-QĐ/TW is replaced by 23-QĐ/TW
    await browser.sign_in(org.khoi_cadre.id)
    status, html = await browser.get("/web/van-ban")
    assert status == 200 and "23-QĐ/TW" in html and "290-QĐ/TW" not in html
    for path in ("/web/van-ban/290-qd-tw/khoi", "/web/van-ban/290-qd-tw/khoi/nhac-nho"):
        assert (await browser.get(path))[0] == 404, path
