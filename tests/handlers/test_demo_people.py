"""The demo organization is enough to try every role: personas for `--as`, people enough for an
anonymous survey to show results, two review levels with different reviewers, and nobody
deciding their own proposal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis.asyncio import Redis

from bot.demo import DEMO_PREFIX, console_account, demo_people, load_demo
from bot.deps import Deps, Links, build_deps
from bot.engine.dispatcher import Dispatcher
from bot.org.models import Member
from bot.proposals.models import Decision, State
from bot.proposals.service import ONLY_OWN, OWN, Refused
from bot.settings import Settings
from bot.storage.keys import Keys
from bot.surveys.models import Kind, Question, Spec
from bot.surveys.report import gather, render
from handlers import build_router
from tests.conftest import Clock
from tests.handlers.chat import Chat
from tests.handlers.test_proposals import content_named

PERSONAS = {"admin": "Quản trị viên dùng thử", "dangvien": "Trịnh Văn Nam", "canbo": "Ngô Thị Hạnh",
            "thamdinh-coso": "Lý Văn Sơn", "thamdinh-khoi": "Cao Thị Thu"}


@pytest.fixture
async def demo(settings: Settings, redis: Redis, clock: Clock) -> Deps:
    """Deps on the demo namespace with the demo loaded."""
    from dataclasses import replace
    deps = replace(build_deps(settings, redis, Keys(DEMO_PREFIX), Links()), clock=clock)
    await load_demo(deps, settings.content_path() / "demo")
    return deps


async def persona(deps: Deps, key: str) -> tuple[Chat, Member]:
    member = await deps.members.by_account("console", console_account(key))
    assert member is not None, key
    return Chat(Dispatcher(build_router(), deps), console_account(key), channel="console",
                buttons=False), member


async def test_every_persona_and_enough_people(demo: Deps, settings: Settings) -> None:
    people = demo_people(settings.content_path() / "demo")
    assert len(people) >= 25
    assert len({p.unit for p in people}) >= 8
    for key, name in PERSONAS.items():
        member = await load_demo(demo, settings.content_path() / "demo", key)
        assert member.name == name


async def test_an_anonymous_survey_in_a_demo_chi_bo_can_show_results(demo: Deps) -> None:
    tree = await demo.units.tree()
    now = demo.clock()
    spec = Spec(title="Mức độ hài lòng", anonymous=True, questions=[
        Question(text="Đồng chí hài lòng không?", kind=Kind.SINGLE, options=["Có", "Không"])])
    survey = await demo.surveys.open(spec, unit="so-yte-vp", author_name="Ngô Thị Hạnh",
                                     tree=tree, now=now, closes_at=now + timedelta(days=2))
    members = await demo.members.list("so-yte-vp")
    assert len(members) >= demo.surveys.min_group
    for member in members[:demo.surveys.min_group]:
        await demo.surveys.record(survey, member.id, [0])
    report = await gather(demo.surveys, survey, tree)
    assert report.enough
    assert f"Có: {demo.surveys.min_group} (100%)" in render(report, demo.clock())


async def test_a_proposal_goes_through_both_levels_with_different_people(demo: Deps) -> None:
    _, author = await persona(demo, "dangvien")
    content = content_named("Tổ tự quản đường làng").model_copy(update={"unit": "so-yte-vp"})
    p = await demo.proposals.submit(author, content, await demo.units.tree(), demo.clock())
    assert len(p.route) == 2
    for key, label in (("thamdinh-coso", "Thẩm định đạt"), ("thamdinh-khoi", "Công nhận")):
        chat, _ = await persona(demo, key)
        await chat.say("/thamdinh")
        await chat.choose("Đề xuất tiếp theo")
        await chat.choose(label)
        await chat.say("Mô hình thiết thực, hiệu quả rõ ràng.")
        await chat.say("bỏ qua")
        await chat.choose("Xác nhận")
        assert "Đã ghi nhận" in chat.text, chat.text
    done = await demo.proposals.store.get(p.code)
    assert done is not None and done.state is State.RECOGNISED


async def test_a_reviewer_cannot_decide_their_own_proposal(demo: Deps) -> None:
    chat, reviewer = await persona(demo, "thamdinh-khoi")
    _, member = await persona(demo, "dangvien")
    content = content_named("Dân vận khéo ở khu dân cư").model_copy(update={"unit": "ban-dan-van"})
    tree = await demo.units.tree()
    p = await demo.proposals.submit(reviewer, content, tree, demo.clock())
    await chat.say("/thamdinh")
    await chat.choose("Đề xuất tiếp theo")  # only their own waits: said, and left queued
    assert ONLY_OWN in chat.text and "Công nhận" not in " ".join(chat.labels())
    other = await demo.proposals.submit(member, content_named("Tổ hòa giải ở cơ quan")
                                        .model_copy(update={"unit": "ban-dan-van"}),
                                        tree, demo.clock())
    await chat.choose("Xem hàng chờ")
    await chat.choose("Đề xuất tiếp theo")  # the next one is someone else's
    assert other.code in chat.text and p.code not in chat.text
    await chat.press_raw(f"rv.d|{p.code}|{p.version}|{Decision.APPROVE.value}")  # forged
    assert OWN in chat.text
    held = await demo.proposals.store.get(p.code)
    assert held is not None and held.state is State.SUBMITTED and held.claimed_by is None
    with pytest.raises(Refused, match="chính mình"):  # the service refuses it too
        await demo.proposals.decide(reviewer, p.code, held.version, Decision.APPROVE,
                                    "Tự công nhận mô hình của mình.", "", demo.clock())
