"""The dashboard's tâm tư pages: the queue, a thread as the chat shows it (never the sender of an
anonymous one), the answer through the same service, and the monthly report."""

from __future__ import annotations

from bot.deps import Deps
from bot.formatting import VIETNAM
from bot.org.models import Grant, Role
from bot.tamtu.models import Level, Thread
from bot.tamtu.service import Draft
from tests.web.conftest import Browser
from tests.web.seed import Org


async def _listener(deps: Deps, org: Org) -> str:
    """The Khối cadre also receives tâm tư for the whole Khối."""
    await deps.members.add_grant(org.khoi_cadre.id, Grant(role=Role.LISTENER, unit="khoi"))
    return org.khoi_cadre.id


async def _submitted(deps: Deps, org: Org, *, anonymous: bool) -> Thread:
    """The author's tâm tư about night duty, sent to the top level."""
    today = deps.clock().astimezone(VIETNAM).date()
    return await deps.tamtu.submit(org.author, Draft(
        level=Level.TOP, topic="doi-song", text="Đề nghị xem xét chế độ trực đêm của đơn vị.",
        anonymous=anonymous), await deps.units.tree(), today)


async def test_an_anonymous_thread_never_shows_its_sender(browser: Browser, deps: Deps,
                                                          org: Org) -> None:
    listener = await _listener(deps, org)
    thread = await _submitted(deps, org, anonymous=True)
    await browser.sign_in(listener)
    status, html = await browser.get("/web/tam-tu")
    assert status == 200 and thread.code in html
    status, html = await browser.get(f"/web/tam-tu/{thread.code}")
    assert status == 200 and "ẩn danh" in html and "chế độ trực đêm" in html
    shown = html.split("<main>")[1]
    for secret in (org.author.name, org.author.identities["telegram"]):
        assert secret not in shown, secret
    # The member id is a small number: look for it where a page would put an id.
    assert f">{org.author.id}<" not in shown and f"={org.author.id}" not in shown
    csrf = await browser.csrf(f"/web/tam-tu/{thread.code}")
    status, _, location = await browser.post(f"/web/tam-tu/{thread.code}/tra-loi", {
        "csrf": csrf, "text": "Cấp ủy đã ghi nhận và sẽ trả lời trong tuần."})
    assert location.endswith("xong=1")
    answered = await deps.tamtu.store.get(thread.code)
    assert answered is not None and any("ghi nhận" in p.text for p in answered.posts)
    status, html = await browser.get("/web/tam-tu/bao-cao")
    assert status == 200 and "Báo cáo tâm tư" in html


async def test_tamtu_pages_are_for_listeners_in_scope(browser: Browser, deps: Deps,
                                                      org: Org) -> None:
    tree = await deps.units.tree()
    today = deps.clock().astimezone(VIETNAM).date()
    thread = await deps.tamtu.submit(org.author, Draft(
        level=Level.TOP, topic="cong-viec", text="Kiến nghị về lịch họp chi bộ hằng tháng.",
        anonymous=False), tree, today)
    await deps.members.add_grant(org.b_cadre.id, Grant(role=Role.LISTENER, unit="dbcs-b"))
    await browser.sign_in(org.b_cadre.id)
    for path in (f"/web/tam-tu/{thread.code}", "/web/tam-tu/bao-cao?don-vi=khoi"):
        assert (await browser.get(path))[0] == 404, path
    csrf = await browser.csrf("/web/tam-tu")
    status, _, _ = await browser.post(f"/web/tam-tu/{thread.code}/tra-loi", {
        "csrf": csrf, "text": "Trả lời từ ngoài phạm vi, không được ghi."})
    assert status == 404
    unchanged = await deps.tamtu.store.get(thread.code)
    assert unchanged is not None and len(unchanged.posts) == len(thread.posts)


async def test_an_answer_too_long_comes_back_as_typed(browser: Browser, deps: Deps,
                                                      org: Org) -> None:
    listener = await _listener(deps, org)
    thread = await _submitted(deps, org, anonymous=False)
    await browser.sign_in(listener)
    csrf = await browser.csrf(f"/web/tam-tu/{thread.code}")
    typed = "Cấp ủy đã họp và thống nhất như sau: " + "trực luân phiên; " * 150
    status, html, location = await browser.post(f"/web/tam-tu/{thread.code}/tra-loi", {
        "csrf": csrf, "text": typed})
    assert status == 400 and location == "" and "đến 2.000 ký tự" in html
    assert f">{typed.strip()}</textarea>" in html  # nothing typed is lost
    stored = await deps.tamtu.store.get(thread.code)
    assert stored is not None and len(stored.posts) == len(thread.posts)
