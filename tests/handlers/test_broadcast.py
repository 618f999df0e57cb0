"""Cadres' announcements through the real dispatcher: compose, scope, preview, confirm,
delivery by a worker, "Đã nhận", report, cancel, remind — and every kind of bad input."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.delivery.queue import DeliveryQueue
from bot.delivery.schedule import Scheduler, by_kind
from bot.delivery.worker import Worker
from bot.deps import Deps
from bot.engine.actions import act
from bot.engine.dispatcher import Dispatcher
from bot.engine.messages import FileRef, Incoming
from bot.org.models import Grant, Role
from tests.conftest import Clock, make_member
from tests.delivery.conftest import RecordingSender
from tests.handlers.chat import Chat


async def deliver(deps: Deps, sender: RecordingSender | None = None) -> RecordingSender:
    """Fire what is due (scheduler tick) and send it all (one worker, until idle)."""
    sender = sender or RecordingSender()
    await Scheduler(deps.redis, deps.keys, by_kind({"bc": deps.broadcasts.fire}),
                    deps.clock).tick()
    pool = [Worker(DeliveryQueue(deps.redis, deps.keys, channel, "test", poll=0.01), sender,
                   None, poll=0.01, on_done=deps.broadcasts.notify_author)
            for channel in ("telegram", "console")]
    stop = asyncio.Event()
    for _ in range(500):
        worked = [await worker.step(stop) for worker in pool]
        if not any(worked):
            active = [await deps.redis.zcard(deps.keys.jobs_active(w.queue.channel))
                      for w in pool]
            if not any(active):
                return sender
            await asyncio.sleep(0.01)
    raise AssertionError("delivery did not finish")


async def org(deps: Deps) -> Chat:
    """A cadre of Đảng bộ cơ sở A (home: Chi bộ A1), three members in A, one in B."""
    await make_member(deps, user_id="c", unit="cb-a1", name="Phạm Văn Đức",
                      grants=((Role.CADRE, "dbcs-a"),))
    for user, unit in (("a1", "cb-a1"), ("a2", "cb-a2"), ("a0", "dbcs-a"), ("b1", "cb-b1")):
        await make_member(deps, user_id=user, unit=unit, name=f"Người {user.upper()}")
    return Chat(make_dispatcher(deps), "c")


def make_dispatcher(deps: Deps) -> Dispatcher:
    from handlers import build_router

    return Dispatcher(build_router(), deps)


async def compose(chat: Chat, text: str, unit: str = "Đảng bộ cơ sở A") -> None:
    """Menu → Gửi thông báo → text → Tiếp tục → pick `unit`."""
    await chat.say("/menu")
    await chat.press("Gửi thông báo")
    await chat.say(text)
    await chat.press("Tiếp tục: chọn người nhận")
    if f"✓ Chọn {unit}" not in chat.labels():
        await chat.press(f"› {unit}")
    await chat.press(f"✓ Chọn {unit}")


async def test_cadre_sends_to_a_subtree_and_sees_receipts(deps: Deps) -> None:
    chat = await org(deps)
    await compose(chat, "Họp chi bộ lúc 14:00 <khẩn> & đúng giờ")
    assert "Gửi tới ai?" in chat.text and "Đảng bộ cơ sở A" in chat.text
    await chat.press("Tiếp tục ›")
    await chat.press("Có, thêm nút")
    await chat.press("Gửi ngay")
    preview, summary = chat.replies
    assert "&lt;khẩn&gt; &amp; đúng giờ" in preview.text  # the cadre's text is escaped
    assert "THÔNG BÁO</b> — Đảng bộ cơ sở A" in preview.text
    assert [b.label for row in preview.buttons for b in row] == ["✓ Đã nhận"]
    assert "Số người nhận: <b>3</b> đồng chí" in summary.text  # not the author
    assert "Nút «Đã nhận»: có" in summary.text
    await chat.press("Xác nhận gửi")
    assert "Đã xác nhận thông báo #1" in chat.text
    sender = await deliver(deps)
    got = sorted(a for a, text, _ in sender.sent if "Họp chi bộ" in text)
    assert got == ["a0", "a1", "a2"]  # nobody in B, not the author
    # The author is told when it finished.
    assert any("Thông báo #1 đã gửi xong" in text for a, text, _ in sender.sent if a == "c")
    member = Chat(chat.dispatcher, "a2")
    await member.press_raw(act("bc.ok", "1"))
    assert "Đã ghi nhận" in member.text
    await member.press_raw(act("bc.ok", "1"))
    assert "đã xác nhận thông báo này rồi" in member.text
    outsider = Chat(chat.dispatcher, "b1")
    await outsider.press_raw(act("bc.ok", "1"))
    assert "không gửi tới đồng chí" in outsider.text
    await chat.press_raw(act("bc.v", "1"))
    assert "Đã gửi xong: 3/3" in chat.text
    assert "Chi bộ A2: đã gửi 1/1 · lỗi 0 · chặn bot 0 · đã nhận 1" in chat.text
    assert "Chi bộ A1: đã gửi 1/1 · lỗi 0 · chặn bot 0 · đã nhận 0"  # not the author in chat.text
    assert "Đảng bộ cơ sở A: đã gửi 1/1" in chat.text  # members of A itself
    assert "Nhắc 2 người chưa xác nhận" in chat.labels()


async def test_reminder_goes_to_those_who_did_not_confirm(deps: Deps) -> None:
    chat = await org(deps)
    await compose(chat, "Nộp đảng phí")
    for label in ("Tiếp tục ›", "Có, thêm nút", "Gửi ngay", "Xác nhận gửi"):
        await chat.press(label)
    await deliver(deps)
    await Chat(chat.dispatcher, "a1").press_raw(act("bc.ok", "1"))
    await chat.press_raw(act("bc.v", "1"))
    await chat.press("Nhắc 2 người")
    await chat.press("Gửi nhắc")
    assert "Đang gửi nhắc tới 2 đồng chí" in chat.text
    sender = await deliver(deps)
    reminded = sorted(a for a, text, _ in sender.sent if "NHẮC LẠI THÔNG BÁO" in text)
    assert reminded == ["a0", "a2"]  # not the author
    await chat.press_raw(act("bc.v", "1"))
    assert "Lần nhắc gần nhất (1): đã gửi 2/2" in chat.text


async def test_only_some_roles(deps: Deps) -> None:
    chat = await org(deps)
    await make_member(deps, user_id="c2", unit="cb-a2", grants=((Role.CADRE, "cb-a2"),))
    await compose(chat, "Họp cấp ủy")
    await chat.press("☐ Cán bộ")
    assert "chỉ Cán bộ" in chat.text and "☑ Cán bộ phụ trách" in chat.labels()
    await chat.press("Tiếp tục ›")
    await chat.press("Không cần")
    await chat.press("Gửi ngay")
    assert "Số người nhận: 1 đồng chí" in chat.text  # cadres, not the author
    assert "Đối tượng: chỉ Cán bộ" in chat.text
    await chat.press("Xác nhận gửi")
    sender = await deliver(deps)
    assert sorted(a for a, t, _ in sender.sent if "Họp cấp ủy" in t) == ["c2"]  # not the author


async def choose(chat: Chat, label: str) -> None:
    """Type the number of the option whose label contains `label`."""
    await chat.choose(label)


async def test_the_whole_flow_by_typed_numbers(deps: Deps) -> None:
    await make_member(deps, channel="console", user_id="u", unit="cb-a1",
                      grants=((Role.CADRE, "cb-a1"),))
    await make_member(deps, user_id="a1", unit="cb-a1")
    chat = Chat(make_dispatcher(deps), "u", channel="console", buttons=False)
    await chat.say("/menu")
    await choose(chat, "Gửi thông báo")
    await chat.say("Sinh hoạt chi bộ tháng 12")
    for label in ("Tiếp tục: chọn người nhận", "✓ Chọn Chi bộ A1", "Tiếp tục ›", "Không cần",
                  "Gửi ngay"):
        await choose(chat, label)
    assert "Số người nhận: <b>1</b>" in chat.replies[-1].text  # not the author
    await chat.say("Bấm nhầm chữ")  # typed text where a choice is expected: draft kept
    assert "chọn một trong các nút" in chat.text
    await chat.say("1")  # ✓ Xác nhận gửi
    assert "Đã xác nhận thông báo #1" in chat.text
    sender = await deliver(deps)
    assert sorted(a for a, t, _ in sender.sent if "Sinh hoạt" in t) == ["a1"]  # not the author


async def test_scheduled_broadcast_fires_at_its_time(deps: Deps, clock: Clock) -> None:
    chat = await org(deps)
    await compose(chat, "Lịch tiếp dân")
    await chat.press("Tiếp tục ›")
    await chat.press("Không cần")
    await chat.press("Hẹn giờ gửi")
    await chat.say("07:00")  # 08:00 UTC is 15:00 in Vietnam: 07:00 today is past
    assert "đã qua" in chat.text
    await chat.say("ngày mai")
    assert "Chưa hiểu thời điểm" in chat.text
    await chat.say("16:30")
    assert "Thời gian gửi: lúc 21/11/2026 16:30" in chat.text
    await chat.press("Xác nhận gửi")
    assert "sẽ được gửi lúc 21/11/2026 16:30" in chat.text
    assert (await deliver(deps)).sent == []
    await chat.press_raw(act("bc.v", "1"))
    assert "Hẹn gửi lúc 21/11/2026 16:30" in chat.text
    clock.advance(hours=1, minutes=30)
    sender = await deliver(deps)
    assert sorted(a for a, t, _ in sender.sent if "Lịch tiếp dân" in t) == ["a0", "a1", "a2"]


async def test_cancel_a_scheduled_broadcast(deps: Deps, clock: Clock) -> None:
    chat = await org(deps)
    await compose(chat, "Sẽ hủy")
    for label in ("Tiếp tục ›", "Không cần", "Hẹn giờ gửi"):
        await chat.press(label)
    await chat.say("18:00")
    await chat.press("Xác nhận gửi")
    await chat.press("Xem tiến độ")
    await chat.press("Hủy gửi")
    await chat.press("Xác nhận hủy")
    assert "Đã hủy thông báo #1; chưa gửi tới ai" in chat.text
    clock.advance(hours=5)
    assert (await deliver(deps)).sent == []
    await chat.press_raw(act("bc.v", "1"))
    assert "Đã hủy" in chat.text and "Hủy gửi" not in chat.labels()


async def test_out_of_scope_and_forged_buttons_are_refused(deps: Deps) -> None:
    chat = await org(deps)
    await make_member(deps, user_id="cb", unit="cb-b1", grants=((Role.CADRE, "dbcs-b"),))
    await compose(chat, "Bài thử", unit="Chi bộ A2")
    assert not any("B1" in label for label in chat.labels())
    for payload in ("bc.pick|cb-b1", "bc.pick|khoi", "bc.u|khoi|0", "bc.u|dbcs-b|0",
                    "bc.role|boss"):
        await chat.press_raw(payload)
        assert "không có quyền" in chat.text or "không hợp lệ" in chat.text, payload
    # Other's broadcast, outside this cadre's scope.
    other = Chat(chat.dispatcher, "cb")
    await compose(other, "Của đảng bộ B", unit="Đảng bộ cơ sở B")
    for label in ("Tiếp tục ›", "Không cần", "Gửi ngay", "Xác nhận gửi"):
        await other.press(label)
    for payload in ("bc.v|1", "bc.x|1", "bc.xx|1", "bc.r|1", "bc.rr|1"):
        await chat.press_raw(payload)
        assert "không có quyền" in chat.text, payload
    assert not (await deps.broadcasts.get("1")).cancelled  # type: ignore[union-attr]
    # Confirm buttons without a draft, or from an old preview, do nothing.
    fresh = Chat(chat.dispatcher, "c")
    await fresh.say("/huy")
    await fresh.press_raw("bc.go|deadbeef")
    assert "đã hết hạn" in fresh.text
    # A plain member is refused at the door.
    member = Chat(chat.dispatcher, "a1")
    await member.say("/menu")
    assert "Gửi thông báo" not in member.labels()
    await member.press_raw("bc")
    assert "được phân công phụ trách đơn vị" in member.text
    await member.say("/thongbao")
    assert "được phân công phụ trách đơn vị" in member.text
    assert await deps.broadcasts.by_author((await deps.members.by_account(
        "telegram", "c")).id) == []  # type: ignore[union-attr]


async def test_scope_is_checked_again_at_confirm_and_at_firing(deps: Deps, clock: Clock) -> None:
    chat = await org(deps)
    cadre = await deps.members.by_account("telegram", "c")
    assert cadre is not None
    await compose(chat, "Trước khi mất quyền")
    for label in ("Tiếp tục ›", "Không cần", "Gửi ngay"):
        await chat.press(label)
    await deps.members.remove_grant(cadre.id, Grant(role=Role.CADRE, unit="dbcs-a"))
    await chat.press("Xác nhận gửi")
    assert "không có quyền" in chat.text
    await deps.members.add_grant(cadre.id, Grant(role=Role.CADRE, unit="dbcs-a"))
    await compose(chat, "Hẹn rồi mất quyền")
    for label in ("Tiếp tục ›", "Không cần", "Hẹn giờ gửi"):
        await chat.press(label)
    await chat.say("18:00")
    await chat.press("Xác nhận gửi")
    await deps.members.remove_grant(cadre.id, Grant(role=Role.CADRE, unit="dbcs-a"))
    clock.advance(hours=4)
    assert (await deliver(deps)).sent == []
    assert (await deps.broadcasts.get("1")).cancelled  # type: ignore[union-attr]


async def test_empty_content_is_refused(deps: Deps) -> None:
    chat = await org(deps)
    await chat.press_raw("bc")
    await chat.press("Tiếp tục: chọn người nhận") if "Tiếp tục" in str(chat.labels()) else \
        await chat.press_raw("bc.next")
    assert "Thông báo chưa có nội dung" in chat.text
    await chat.send(Incoming(channel="telegram", user_id="c", chat_id="c", text="   "))
    assert "Bot chỉ hiểu tin nhắn chữ" in chat.text  # the draft is kept
    await chat.say("Nội dung thật")
    assert "Đã có: 13 ký tự" in chat.text


async def test_long_text_split_or_refused_as_the_cadre_chooses(deps: Deps) -> None:
    chat = await org(deps)
    await chat.press_raw("bc")
    await chat.say("Đoạn một. " * 300)  # 3,000 characters
    await chat.say("Đoạn hai. " * 300)
    await chat.press("Tiếp tục: chọn người nhận")
    assert "Nội dung quá dài cho một tin nhắn" in chat.text
    assert "Chia thành 2 tin nhắn" in chat.labels()
    await chat.press("Soạn lại từ đầu")  # refuse: back to an empty draft, nothing stored
    assert "Xin đồng chí gửi nội dung" in chat.text
    await chat.say("Đoạn một. " * 300)
    await chat.say("Đoạn hai. " * 300)
    await chat.press("Tiếp tục: chọn người nhận")
    await chat.press("Chia thành 2 tin nhắn")
    await chat.press("✓ Chọn Đảng bộ cơ sở A")
    for label in ("Tiếp tục ›", "Có, thêm nút", "Gửi ngay"):
        await chat.press(label)
    *parts, summary = chat.replies
    assert len(parts) == 2 and "Gồm 2 tin nhắn" in summary.text
    assert all(len(p.text) <= 4096 for p in parts) and "phần 2/2" in parts[1].text
    assert not parts[0].buttons and parts[1].buttons  # "Đã nhận" under the last part
    await chat.press("Xác nhận gửi")
    sender = await deliver(deps)
    assert sum(1 for a, _t, _ in sender.sent if a == "a2") == 2


async def test_files_photo_ok_wrong_types_refused_long_caption_split(deps: Deps) -> None:
    chat = await org(deps)
    await chat.press_raw("bc")

    def upload(kind: str, name: str, mime: str, caption: str = "") -> Incoming:
        return Incoming(channel="telegram", user_id="c", chat_id="c", text=caption or None,
                        file=FileRef(f"FILE-{name}", kind, name, mime, 1000))

    await chat.send(upload("document", "virus.exe", "application/x-msdownload"))
    assert "không gửi kèm thông báo được" in chat.text and "chưa có chữ" in chat.text
    await chat.send(upload("document", "anh.webp", "image/webp"))
    assert "Xin đồng chí gửi ảnh JPG hoặc PNG" in chat.text
    await chat.send(upload("photo", "", "", caption="Ảnh hội nghị. " * 100))
    assert "kèm ảnh" in chat.text
    await chat.press("Tiếp tục: chọn người nhận")
    assert "Nội dung quá dài cho phần chú thích ảnh/tệp" in chat.text
    await chat.press("Chia thành 2 tin nhắn")
    await chat.press("✓ Chọn Đảng bộ cơ sở A")
    for label in ("Tiếp tục ›", "Không cần", "Gửi ngay"):
        await chat.press(label)
    photo, text, _summary = chat.replies
    assert photo.photo is not None and photo.photo.file_id == "FILE-"
    assert "Ảnh hội nghị." in text.text
    await chat.press("Xác nhận gửi")
    sender = await deliver(deps)
    assert sum(1 for a, _t, _ in sender.sent if a == "a1") == 2


async def test_thongbao_lists_own_broadcasts_with_progress(deps: Deps) -> None:
    chat = await org(deps)
    await chat.say("/thongbao")
    assert "chưa gửi thông báo nào" in chat.text
    for n in range(2):
        await compose(chat, f"Số {n}")
        for label in ("Tiếp tục ›", "Không cần", "Gửi ngay", "Xác nhận gửi"):
            await chat.press(label)
    await Scheduler(deps.redis, deps.keys, by_kind({"bc": deps.broadcasts.fire}),
                    deps.clock).tick()
    await chat.say("/thongbao")
    assert "#2 ·" in chat.text and "#1 ·" in chat.text
    assert "Đang gửi: 0/3" in chat.text
    assert chat.labels()[:2] == ["#2: xem báo cáo", "#1: xem báo cáo"]
    await deliver(deps)
    await chat.say("/thongbao")
    assert chat.text.count("Đã gửi xong: 3/3") == 2


async def test_preview_button_only_explains(deps: Deps) -> None:
    chat = await org(deps)
    await chat.press_raw(act("bc.ok", "preview"))
    assert "bản xem trước" in chat.text
    assert timedelta(0) == timedelta(0)
