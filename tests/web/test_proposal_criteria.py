"""The criteria a reviewer ticked with a decision (in the chat) show in the dashboard's history."""

from __future__ import annotations

import html as htmllib

from bot.deps import Deps
from bot.proposals.models import Assessment, Decision, State
from tests.web.conftest import Browser
from tests.web.seed import Org


async def test_the_history_shows_each_decisions_ticked_criteria(browser: Browser, deps: Deps,
                                                                org: Org) -> None:
    now = deps.clock()
    claimed = await deps.proposals.next_for(org.a_reviewer, ["dbcs-a"], now)
    assert claimed is not None and claimed.proposal.code == org.proposal_code
    ticks = Assessment(criteria={"Sáng tạo": 1, "Bền vững": 0, "Có khả năng nhân rộng": 1})
    done = await deps.proposals.decide(org.a_reviewer, org.proposal_code,
                                       claimed.proposal.version, Decision.APPROVE,
                                       "Mô hình tốt, chuyển lên cấp trên.", "", now,
                                       assessment=ticks)
    assert done.state is State.APPROVED
    await browser.sign_in(org.khoi_cadre.id)
    status, page = await browser.get(f"/web/de-xuat/{org.proposal_code}")
    assert status == 200 and "Đánh giá theo tiêu chí" in page
    history = htmllib.unescape(page.split("Lịch sử xử lý")[1])
    assert "Sáng tạo: đạt" in history and "Bền vững: chưa đạt" in history
    assert "Có khả năng nhân rộng: đạt" in history


async def test_a_tick_name_is_escaped_in_the_history(browser: Browser, deps: Deps,
                                                     org: Org) -> None:
    now = deps.clock()
    claimed = await deps.proposals.next_for(org.a_reviewer, ["dbcs-a"], now)
    assert claimed is not None
    await deps.proposals.decide(org.a_reviewer, org.proposal_code, claimed.proposal.version,
                                Decision.RETURN, "Xin bổ sung số liệu cụ thể.", "", now,
                                assessment=Assessment(criteria={"<b>Hiệu quả</b>": 0}))
    await browser.sign_in(org.a_reviewer.id)
    _, page = await browser.get(f"/web/de-xuat/{org.proposal_code}")
    assert "&lt;b&gt;Hiệu quả&lt;/b&gt;: chưa đạt" in page and "<b>Hiệu quả</b>" not in page
