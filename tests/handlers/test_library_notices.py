"""The library's notices through the delivery engine: a published directive reaches exactly its
audience (never its author, never twice), and "Nhắc nhở" reaches exactly those who have not
studied it — after the cadre's scope is checked again, once per reminder window."""

from __future__ import annotations

import pytest

from bot.delivery.sender import SendResult
from bot.deps import Deps
from bot.engine.actions import act
from bot.engine.dispatcher import Dispatcher
from bot.engine.messages import Reply
from bot.formatting import to_plain
from bot.library.models import Directive
from bot.org.models import Member, Role
from handlers.library.publish_file import draft
from tests.conftest import Clock, make_member
from tests.delivery.conftest import RecordingSender
from tests.handlers.chat import Chat
from tests.handlers.test_broadcast import deliver
from tests.library.helpers import import_shipped

TITLE = "Về phong trào <Dân vận khéo> & đổi mới"


class Keeping(RecordingSender):
    """Records the whole Reply of every delivery too (for its buttons)."""

    def __init__(self) -> None:
        super().__init__()
        self.replies: list[tuple[str, Reply]] = []

    async def deliver(self, address: str, reply: Reply, *, paid: bool = False) -> SendResult:
        self.replies.append((address, reply))
        return await super().deliver(address, reply, paid=paid)

    def to(self, marker: str) -> list[str]:
        """Addresses that got a message containing `marker`, sorted."""
        return sorted(a for a, reply in self.replies if marker in reply.text)


async def jobs(deps: Deps) -> list[str]:
    """Ids of every outbox job expanded so far."""
    found = [str(k) for k in await deps.redis.keys("dv:{job:*}")]
    return sorted(k[len("dv:{job:"):-1] for k in found if k.endswith("}"))


@pytest.fixture
async def people(deps: Deps) -> dict[str, Member]:
    """A cadre of Đảng bộ cơ sở A (home: Chi bộ A1) and members inside and outside A; "z" has
    only an account the outbox cannot deliver to."""
    people = {"c": await make_member(deps, user_id="c", unit="cb-a1", name="Phạm Văn Đức",
                                     grants=((Role.CADRE, "dbcs-a"),))}
    for user, unit in (("a0", "dbcs-a"), ("a1", "cb-a1"), ("a2", "cb-a2"), ("b1", "cb-b1")):
        people[user] = await make_member(deps, user_id=user, unit=unit, name=f"Người {user}")
    people["z"] = await make_member(deps, channel="sms", user_id="z", unit="cb-a1")
    return people


async def fill(chat: Chat, unit: str = "dbcs-a", summary: str = "Tóm tắt bản đầu tiên.") -> None:
    """The publish form up to the preview (unit chosen by its button payload)."""
    await chat.press_raw(act("pub.r", unit))
    for text in ("12-NQ/ĐU", TITLE, "05/11/2026", "Ban Thường vụ Đảng ủy", summary):
        await chat.say(text)
    await chat.press("Bỏ qua")
    assert "Xem lại trước khi đăng" in chat.text


async def publish(chat: Chat, summary: str = "Tóm tắt bản đầu tiên.") -> None:
    """Fill the form and press "Đăng văn bản"."""
    await fill(chat, summary=summary)
    await chat.press("Đăng văn bản")


async def test_publication_reaches_the_audience_but_not_the_author(
        deps: Deps, dispatcher: Dispatcher, people: dict[str, Member]) -> None:
    chat = Chat(dispatcher, "c")
    await publish(chat)
    assert "Đã đăng Nghị quyết 12-NQ/ĐU cho Đảng bộ Khối Thử nghiệm › Đảng bộ cơ sở A" in chat.text
    assert "Đang gửi thông báo văn bản mới tới 3 đảng viên" in chat.text
    assert "(1 đồng chí chưa có tài khoản nhận tin" in chat.text  # "z", skipped
    assert await jobs(deps) == ["doc-12-nq-du.v1"]
    addressed = await deps.redis.hgetall(deps.keys.job_recipients("doc-12-nq-du.v1"))
    assert sorted(addressed) == sorted(people[u].id for u in ("a0", "a1", "a2"))

    sender = await deliver(deps, Keeping())
    assert sender.to("Văn bản mới") == ["a0", "a1", "a2"]  # not c, not b1, not z
    assert sorted(a for a, _r in sender.replies) == ["a0", "a1", "a2"]  # nothing else, once
    [(_a, notice)] = [(a, r) for a, r in sender.replies if a == "a2"]
    assert notice.text.startswith("Văn bản mới: <b>Nghị quyết 12-NQ/ĐU</b> — Về phong trào "
                                  "&lt;Dân vận khéo&gt; &amp; đổi mới")
    assert "Ban Thường vụ Đảng ủy ban hành ngày 05/11/2026." in notice.text
    assert "Đề nghị đồng chí nghiên cứu văn bản" in notice.text
    [[button]] = notice.buttons
    assert (button.label, button.action) == ("Mở văn bản", "doc|12-nq-du")

    member = Chat(dispatcher, "a2")
    await member.press_raw(button.action)
    assert "Nghị quyết 12-NQ/ĐU" in member.text and "Tóm tắt bản đầu tiên." in member.text
    await member.press("Xác nhận đã nghiên cứu")
    assert await deps.library.has_acked("12-nq-du", people["a2"].id)
    outsider = Chat(dispatcher, "b1")
    await outsider.press_raw(button.action)
    assert "Không tìm thấy" in outsider.text


async def test_double_press_and_retry_make_one_job(deps: Deps, dispatcher: Dispatcher,
                                                   people: dict[str, Member]) -> None:
    chat = Chat(dispatcher, "c")
    await fill(chat)
    preview = await deps.conversations.dialog("telegram", "c")
    await chat.press("Đăng văn bản")
    await chat.press_raw(act("pub.ok"))  # the same button pressed again
    assert "Không có văn bản nào đang soạn" in chat.text
    await deps.conversations.save_dialog("telegram", "c", preview)  # a redelivered press
    await chat.press_raw(act("pub.ok"))
    assert "không gửi thông báo lại" in chat.text
    assert await jobs(deps) == ["doc-12-nq-du.v1"]
    sender = await deliver(deps, Keeping())
    assert sender.to("Văn bản mới") == ["a0", "a1", "a2"]


async def test_a_publication_cut_by_a_crash_notifies_when_retried(
        deps: Deps, dispatcher: Dispatcher, clock: Clock, people: dict[str, Member]) -> None:
    chat = Chat(dispatcher, "c")
    await fill(chat)
    dialog = await deps.conversations.dialog("telegram", "c")
    assert dialog is not None
    directive = draft(dialog.data)
    assert isinstance(directive, Directive)
    # The first attempt saved the directive and died before handing the notice over.
    await deps.library.save(directive, origin=f"chat:{people['c'].id}", now=clock())
    await chat.press("Đăng văn bản")
    assert "Đã đăng" in chat.text and "tới 3 đảng viên" in chat.text
    sender = await deliver(deps, Keeping())
    assert sender.to("Văn bản mới") == ["a0", "a1", "a2"]


async def test_an_update_notifies_again_the_same_content_does_not(
        deps: Deps, dispatcher: Dispatcher, clock: Clock, people: dict[str, Member]) -> None:
    chat = Chat(dispatcher, "c")
    await publish(chat)
    await deliver(deps)
    await publish(chat, summary="Tóm tắt đã sửa đổi, bổ sung.")
    assert "Đã cập nhật Nghị quyết 12-NQ/ĐU" in chat.text
    assert "Đang gửi thông báo văn bản được cập nhật tới 3 đảng viên" in chat.text
    sender = await deliver(deps, Keeping())
    assert sender.to("Văn bản được cập nhật: <b>Nghị quyết 12-NQ/ĐU</b>") == ["a0", "a1", "a2"]
    assert len(sender.replies) == 3
    for later in (0, 48):  # at once, and two days later
        clock.advance(hours=later)
        await publish(chat, summary="Tóm tắt đã sửa đổi, bổ sung.")
        assert "không có gì thay đổi nên không gửi thông báo lại" in chat.text
    assert await jobs(deps) == ["doc-12-nq-du.v1", "doc-12-nq-du.v2"]
    record = await deps.library.get("12-nq-du")
    assert record is not None and record.version == 2


# --- "Nhắc nhở" from the coverage report -----------------------------------------------------
@pytest.fixture
async def studied(deps: Deps, people: dict[str, Member]) -> dict[str, Member]:
    """The shipped library; of Đảng bộ cơ sở A only the cadre and "a1" studied 25-NQ/TW."""
    await import_shipped(deps)
    for user in ("c", "a1", "b1"):
        await deps.library.ack("25-nq-tw", people[user].id, people[user].unit)
    return people


async def test_reminder_reaches_exactly_those_who_have_not_studied(
        deps: Deps, dispatcher: Dispatcher, studied: dict[str, Member]) -> None:
    chat = Chat(dispatcher, "c")
    await chat.press_raw("cov.d|25-nq-tw")
    assert "Đã nghiên cứu: 2/5 đảng viên" in chat.text
    await chat.press("Nhắc nhở")
    assert "Gửi nhắc nhở tới 2 đồng chí?" in chat.text  # a0 and a2 ("z" cannot be reached)
    assert "(1 đồng chí khác chưa có tài khoản nhận tin" in chat.text
    assert await jobs(deps) == []  # nothing before the confirmation
    await chat.press("Gửi nhắc nhở")
    assert "Đang gửi nhắc nhở tới 2 đồng chí chưa nghiên cứu Nghị quyết 25-NQ/TW" in chat.text
    sender = await deliver(deps, Keeping())
    assert sender.to("Nhắc nhở nghiên cứu văn bản") == ["a0", "a2"]
    assert len(sender.replies) == 2
    _a, reminder = sender.replies[0]
    assert "Đồng chí chưa xác nhận đã nghiên cứu <b>Nghị quyết 25-NQ/TW</b>" in reminder.text
    [[button]] = reminder.buttons
    member = Chat(dispatcher, "a2")
    await member.press_raw(button.action)
    assert "Nghị quyết 25-NQ/TW" in member.text and "Xác nhận đã nghiên cứu" in member.labels()
    audit = await deps.audit.recent()
    assert (audit[0]["action"], audit[0]["unit"], audit[0]["count"]) == ("directive_remind",
                                                                         "dbcs-a", "2")


async def test_a_second_press_within_the_hour_sends_nothing(
        deps: Deps, dispatcher: Dispatcher, clock: Clock, studied: dict[str, Member]) -> None:
    chat = Chat(dispatcher, "c")
    await chat.press_raw("cov.r|25-nq-tw|dbcs-a")
    await chat.press("Gửi nhắc nhở")
    await chat.press_raw("cov.rr|25-nq-tw|dbcs-a")  # pressed twice
    assert "Đã gửi nhắc nhở nghiên cứu Nghị quyết 25-NQ/TW lúc 15:00" in chat.text
    assert "có thể nhắc lại sau 16:00" in chat.text
    clock.advance(minutes=20)
    await chat.press_raw("cov.r|25-nq-tw|dbcs-a")  # "Nhắc nhở" again, later in the hour
    assert "Đã gửi nhắc nhở nghiên cứu Nghị quyết 25-NQ/TW lúc 15:00" in chat.text
    assert len(await jobs(deps)) == 1
    sender = await deliver(deps, Keeping())
    assert sender.to("Nhắc nhở") == ["a0", "a2"]
    await chat.press_raw("cov.r|25-nq-tw|dbcs-a")
    assert "Tin nhắc đã tới 2/2 đồng chí" in chat.text
    key = deps.keys.document_reminder("25-nq-tw", "dbcs-a")
    assert 3500 < await deps.redis.ttl(key) <= 3600

    await deps.redis.delete(key)  # the window has passed
    clock.advance(minutes=45)
    await deps.library.ack("25-nq-tw", studied["a2"].id, studied["a2"].unit)
    await chat.press_raw("cov.r|25-nq-tw|dbcs-a")
    assert "Gửi nhắc nhở tới 1 đồng chí?" in chat.text
    await chat.press("Gửi nhắc nhở")
    assert len(await jobs(deps)) == 2
    sender = await deliver(deps, Keeping())
    assert sender.to("Nhắc nhở") == ["a0"]


async def test_nobody_left_to_remind_sends_nothing(deps: Deps, dispatcher: Dispatcher,
                                                   studied: dict[str, Member]) -> None:
    chat = Chat(dispatcher, "c")
    await chat.press_raw("cov.u|25-nq-tw|cb-a1")  # c and a1 studied; z cannot be reached
    assert "Nhắc nhở" in " ".join(chat.labels())
    for payload in ("cov.r|25-nq-tw|cb-a1", "cov.rr|25-nq-tw|cb-a1"):
        await chat.press_raw(payload)
        assert "đều chưa có tài khoản nhận tin, nên không gửi được nhắc nhở" in chat.text
    await deps.library.ack("25-nq-tw", studied["a2"].id, studied["a2"].unit)
    await chat.press_raw("cov.u|25-nq-tw|cb-a2")
    assert not any("Nhắc nhở" in label for label in chat.labels())
    for payload in ("cov.r|25-nq-tw|cb-a2", "cov.rr|25-nq-tw|cb-a2"):
        await chat.press_raw(payload)
        assert "Tất cả đảng viên trong" in chat.text and "không cần nhắc nhở" in chat.text
    assert await jobs(deps) == []
    assert await deps.redis.keys("dv:{doc:*}:remind:*") == []


async def test_forged_reminders_are_refused(deps: Deps, dispatcher: Dispatcher,
                                            studied: dict[str, Member]) -> None:
    await make_member(deps, user_id="ca1", unit="cb-a1", grants=((Role.CADRE, "cb-a1"),))
    chi_bo = Chat(dispatcher, "ca1")
    for payload in ("cov.rr|25-nq-tw|cb-b1", "cov.rr|25-nq-tw|dbcs-a", "cov.r|25-nq-tw|khoi",
                    "cov.rr|25-nq-tw|zz"):
        await chi_bo.press_raw(payload)
        assert "không có quyền" in chi_bo.text, payload
    member = Chat(dispatcher, "a2")
    await member.press_raw("cov.rr|25-nq-tw|cb-a2")
    assert "không có quyền" in member.text
    await chi_bo.press_raw("cov.rr|khong-co|cb-a1")
    assert "Không tìm thấy" in chi_bo.text
    await chi_bo.press_raw("cov.rr|25-nq-tw")
    assert "thiếu thông tin" in chi_bo.text
    only_b = Directive(so_hieu="07-CT/ĐU", issuer="Đảng ủy cơ sở B", issued="2026-01-05",  # type: ignore[arg-type]
                       title="Về công tác dân vận ở cơ sở B", summary="Chỉ thị dành cho B.",
                       audience="dbcs-b")
    await deps.library.save(only_b, origin="chat:1", now=deps.clock())
    await make_member(deps, user_id="k", unit="khoi", grants=((Role.CADRE, "khoi"),))
    khoi = Chat(dispatcher, "k")
    await khoi.press_raw("cov.rr|07-ct-du|dbcs-a")
    assert "không dành cho đơn vị đã chọn" in khoi.text
    assert await jobs(deps) == []
    assert await deps.redis.keys("dv:{doc:*}:remind:*") == []


async def choose(chat: Chat, label: str) -> None:
    """Type the number of the option whose label contains `label` (channels without buttons)."""
    await chat.choose(label)


async def test_publish_and_remind_by_typed_numbers(deps: Deps, dispatcher: Dispatcher,
                                                   studied: dict[str, Member]) -> None:
    await make_member(deps, channel="console", user_id="local", unit="khoi",
                      grants=((Role.CADRE, "dbcs-a"),))
    chat = Chat(dispatcher, "local", channel="console", buttons=False)
    await chat.say("/menu")
    await choose(chat, "Đăng văn bản mới")
    await choose(chat, "Đăng cho Đảng bộ cơ sở A")
    for text in ("12-NQ/ĐU", TITLE, "05/11/2026", "Ban Thường vụ Đảng ủy", "Tóm tắt văn bản."):
        await chat.say(text)
    await choose(chat, "Bỏ qua")
    await choose(chat, "Đăng văn bản")
    assert "tới 4 đảng viên" in to_plain(chat.text)  # c, a0, a1, a2
    await choose(chat, "Báo cáo nghiên cứu")
    await choose(chat, "Nhắc nhở")
    assert "Gửi nhắc nhở tới 4 đồng chí?" in chat.text
    await choose(chat, "Gửi nhắc nhở")
    assert "Đang gửi nhắc nhở tới 4 đồng chí" in chat.text
    sender = await deliver(deps, Keeping())
    assert sender.to("Văn bản mới") == sender.to("Nhắc nhở") == ["a0", "a1", "a2", "c"]
