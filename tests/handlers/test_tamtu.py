"""Tâm tư, kiến nghị through the real dispatcher: the member's form with buttons and by typed
numbers, "Tâm tư của tôi", the cadre's queue and actions with scope re-checked, the daily
limit, escalation through the scheduler, and what a cadre's screens never show."""

from __future__ import annotations

from bot.delivery.schedule import Scheduler, by_kind
from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.org.models import Role
from bot.tamtu.escalation import jobs
from tests.conftest import Clock, make_member
from tests.handlers.chat import Chat

TEXT = "Đề nghị bố trí thêm chỗ để xe cho cán bộ ở cơ quan, hiện rất chật."


async def people(deps: Deps) -> None:
    """Six members in cb-a1 (≥ k = 5), two in cb-a2 (< k), a listener per level; member ids
    are long distinctive numbers, so a search for one cannot match by chance."""
    await deps.redis.set(deps.keys.member_seq(), 7_340_512_000)
    for i in range(6):
        await make_member(deps, user_id=f"a1-{i}", unit="cb-a1", name=f"Đảng viên A1 {i}")
    for i in range(2):
        await make_member(deps, user_id=f"a2-{i}", unit="cb-a2", name=f"Đảng viên A2 {i}")
    await make_member(deps, user_id="l-a1", unit="cb-a1", name="Bí thư A1",
                      grants=((Role.LISTENER, "cb-a1"),))
    await make_member(deps, user_id="l-dbcs", unit="dbcs-a", name="Cán bộ Đảng ủy A",
                      grants=((Role.LISTENER, "dbcs-a"),))
    await make_member(deps, user_id="l-b", unit="cb-b1", name="Cán bộ B",
                      grants=((Role.LISTENER, "dbcs-b"),))


async def send_thread(chat: Chat, level: str, topic: str, text: str, *,
                      anonymous: bool) -> str:
    """Fill the form with buttons; returns the thread code."""
    await chat.say("/tamtu")
    await chat.press(level)
    await chat.press(topic)
    await chat.say(text)
    await chat.press("Không gửi ảnh")
    await chat.press("Ẩn danh" if anonymous else "Ghi tên")
    await chat.press("Gửi")
    assert "Đã gửi tâm tư, kiến nghị. Mã:" in chat.text, chat.text
    return chat.text.split("Mã: ")[1].split(".")[0]


async def test_anonymous_thread_answered_rated_and_never_unmasked(
        deps: Deps, dispatcher: Dispatcher) -> None:
    await people(deps)
    member = Chat(dispatcher, "a1-0")
    code = await send_thread(member, "Cấp ủy Chi bộ", "Đời sống", TEXT, anonymous=True)
    assert code.startswith("TT-") and len(code) == 9

    cadre = Chat(dispatcher, "l-a1")
    await cadre.say("/tamtucanbo")
    assert "Đang chờ: 1" in cadre.text
    await cadre.press(code)
    shown = cadre.text
    assert "ẩn danh" in shown and "Chi bộ A1" in shown and TEXT in shown
    assert "Đảng viên A1 0" not in shown and "a1-0" not in shown
    assert not any("Người gửi là" in label or "Xem người gửi" in label for label in cadre.labels())
    await cadre.press("Trả lời")
    await cadre.say("Văn phòng sẽ bố trí thêm khu để xe từ tháng sau.")
    assert "Đã gửi trả lời" in cadre.text

    thread = await deps.tamtu.store.get(code)
    assert thread is not None and thread.author_id == "" and thread.author_name == ""
    job_ids = [str(j) for j in await deps.redis.zrange(deps.keys.jobs_active("telegram"), 0, -1)]
    assert len(job_ids) == 1 and job_ids[0].startswith("tt-") and code not in job_ids[0]
    notice = str(await deps.redis.hget(deps.keys.job(job_ids[0]), "messages"))
    assert code not in notice and "Tâm tư của tôi" in notice

    await member.press_raw("tt.mine")
    assert f"Số 1: {code} — Đời sống" in member.text
    await member.press("Xem tâm tư số 1")
    assert "Văn phòng sẽ bố trí thêm khu để xe" in member.text
    await member.press("Hài lòng")
    assert "Đã ghi nhận đánh giá «hài lòng»" in member.text
    counters = await deps.tamtu.store.counters(thread.month)
    assert counters == {"cb-a1|doi-song|a|n": 1, "cb-a1|doi-song|a|ans": 1,
                        "cb-a1|doi-song|a|days": 0, "cb-a1|doi-song|a|sat": 1}


async def test_small_chi_bo_sends_anonymous_threads_to_a_unit_of_k(
        deps: Deps, dispatcher: Dispatcher) -> None:
    await people(deps)
    member = Chat(dispatcher, "a2-0")
    await member.say("/tamtu")
    await member.press("Cấp ủy Chi bộ")
    await member.press("Công việc")
    await member.say(TEXT)
    await member.press("Không gửi ảnh")
    await member.press("Ẩn danh")
    assert "tâm tư ẩn danh được gửi đến Đảng bộ cơ sở A" in member.text
    await member.press("Gửi")
    code = member.text.split("Mã: ")[1].split(".")[0]
    thread = await deps.tamtu.store.get(code)
    assert thread is not None and thread.unit == "dbcs-a" and thread.attributed == "dbcs-a"

    # The chi bộ's own listener has nothing; the đảng ủy's sees it, attributed to dbcs-a.
    small = Chat(dispatcher, "l-a1")
    await small.say("/tamtucanbo")
    assert not any(code in label for label in small.labels())
    await small.press_raw(f"tt.c|{code}")
    assert "không thuộc đơn vị" in small.text
    named = Chat(dispatcher, "a2-1")
    named_code = await send_thread(named, "Cấp ủy Chi bộ", "Công việc", TEXT, anonymous=False)
    shown = await deps.tamtu.store.get(named_code)
    assert shown is not None and shown.unit == "cb-a2" and shown.author_name == "Đảng viên A2 1"


async def test_by_typed_numbers_with_the_cadre_actions(deps: Deps, dispatcher: Dispatcher) -> None:
    await people(deps)
    member = Chat(dispatcher, "a1-1", channel="zalo", buttons=False)
    await deps.members.register(channel="zalo", user_id="a1-1", name="Zalo A1", unit="cb-a1",
                                grants=[], now=deps.clock())

    def pick(label: str) -> str:
        return str(1 + next(i for i, text in enumerate(member.labels()) if label in text))

    await member.say("/tamtu")
    await member.say(pick("Cấp ủy Đảng bộ cơ sở"))
    await member.say(pick("Thủ tục hành chính"))
    await member.say("Hồ sơ 1234 nộp một cửa đã quá hạn 10 ngày.")
    assert "ảnh" in member.text
    await member.say("không")
    await member.say(pick("Ghi tên"))
    await member.say(pick("Gửi"))
    code = member.text.split("Mã: ")[1].split(".")[0]
    thread = await deps.tamtu.store.get(code)
    assert thread is not None and not thread.anonymous
    assert thread.posts[0].text.startswith("Hồ sơ 1234")

    cadre = Chat(dispatcher, "l-dbcs")
    await cadre.press_raw(f"tt.c|{code}")
    assert "Zalo A1" in cadre.text  # named: the cadre sees the name
    await cadre.press("Gắn nhãn")
    await cadre.say("thủ tục một cửa")
    await cadre.press("Chuyển lên cấp trên")
    moved = await deps.tamtu.store.get(code)
    assert moved is not None and moved.unit == "khoi" and moved.tags == ["thủ tục một cửa"]
    await cadre.press_raw(f"tt.s|{code}")  # no longer in dbcs-a: refused
    assert "không thuộc đơn vị" in cadre.text

    outsider = Chat(dispatcher, "l-b")
    await outsider.press_raw(f"tt.r|{code}")
    assert "không thuộc đơn vị" in outsider.text
    other = Chat(dispatcher, "a1-2")  # has sent nothing: no «số 1» of theirs
    await other.press_raw("tt.v|1")
    assert "Không tìm thấy tâm tư này" in other.text
    await other.press_raw(f"tt.v|{code}")
    assert "không hợp lệ" in other.text


async def test_daily_limit_counts_without_naming_the_member(
        deps: Deps, dispatcher: Dispatcher, clock: Clock) -> None:
    await people(deps)
    member = Chat(dispatcher, "a1-3")
    me = await deps.members.by_account("telegram", "a1-3")
    assert me is not None
    for _ in range(5):
        await send_thread(member, "Cấp ủy Chi bộ", "Khác", TEXT, anonymous=True)
    await member.say("/tamtu")
    await member.press("Cấp ủy Chi bộ")
    await member.press("Khác")
    await member.say(TEXT)
    await member.press("Không gửi ảnh")
    await member.press("Ẩn danh")
    await member.press("Gửi")
    assert "tối đa 5 tâm tư" in member.text
    quota = [str(k) async for k in deps.redis.scan_iter(match="dv:ttrl:*")]
    assert len(quota) == 1 and me.id not in quota[0]
    assert await deps.redis.get(quota[0]) == "5"
    clock.advance(days=1)
    await send_thread(member, "Cấp ủy Chi bộ", "Khác", TEXT, anonymous=True)
    await member.press_raw("tt.mine")
    assert len([b for b in member.labels() if b.startswith("Xem tâm tư số")]) == 6


async def test_unanswered_thread_escalates_and_shows_overdue(
        deps: Deps, dispatcher: Dispatcher, clock: Clock) -> None:
    await people(deps)
    code = await send_thread(Chat(dispatcher, "a1-4"), "Cấp ủy Chi bộ", "Công việc", TEXT,
                             anonymous=True)
    fire = by_kind({**jobs(deps.tamtu, deps.units, deps.clock), **deps.rewrites.jobs(deps.clock)})
    scheduler = Scheduler(deps.redis, deps.keys, fire, deps.clock)
    assert await scheduler.tick() == ["aof-0"]  # the AOF rewrite asked for at sending...
    clock.advance(days=6)
    [rewrite] = await scheduler.tick()  # ...done at the end of that window (no AOF here)
    assert rewrite.startswith("aof-") and rewrite != "aof-0"
    clock.advance(days=1, hours=1)  # 07:00 UTC = 14:00 in Vietnam on the due day
    fired = await scheduler.tick()
    assert len(fired) == 1 and fired[0].startswith(f"tte-{code}.")
    thread = await deps.tamtu.store.get(code)
    assert thread is not None and thread.unit == "dbcs-a" and thread.escalations == 1
    assert "tự động chuyển lên Đảng bộ cơ sở A" in thread.posts[-1].text
    upper = Chat(dispatcher, "l-dbcs")
    await upper.say("/tamtucanbo")
    assert any(code in label and "⚠" not in label for label in upper.labels())
    clock.advance(days=8)
    await upper.say("/tamtucanbo")
    assert "Quá hạn trong danh sách: 1" in upper.text
    assert any(label.startswith(f"⚠ {code}") for label in upper.labels())


async def test_block_tells_the_sender_and_stops_additions(
        deps: Deps, dispatcher: Dispatcher) -> None:
    await people(deps)
    member = Chat(dispatcher, "a1-5")
    code = await send_thread(member, "Cấp ủy Chi bộ", "Góp ý cán bộ", TEXT, anonymous=True)
    cadre = Chat(dispatcher, "l-a1")
    await cadre.press_raw(f"tt.c|{code}")
    await cadre.press("Khóa")
    await cadre.press("Xác nhận khóa")
    assert "Đã khóa tâm tư" in cadre.text
    jobs = [str(j) for j in await deps.redis.zrange(deps.keys.jobs_active("telegram"), 0, -1)]
    assert len(jobs) == 1
    assert "bị khóa" in str(await deps.redis.hget(deps.keys.job(jobs[0]), "messages"))
    await member.press_raw("tt.add|1")
    await member.say("Tôi muốn bổ sung thêm một ý nữa cho rõ.")
    assert "đã khóa" in member.text.lower() and "không bổ sung được" in member.text


async def test_monthly_report_through_the_chat_hides_anonymous_groups_under_k(
        deps: Deps, dispatcher: Dispatcher) -> None:
    await people(deps)
    for i in range(4):
        await send_thread(Chat(dispatcher, f"a1-{i}"), "Cấp ủy Chi bộ", "Đời sống", TEXT,
                          anonymous=True)
    await send_thread(Chat(dispatcher, "a2-0"), "Cấp ủy Chi bộ", "Công việc", TEXT,
                      anonymous=False)
    boss = Chat(dispatcher, "l-dbcs")
    await boss.press_raw("tt.rp|dbcs-a|2026-11")
    assert "Tổng: nhận 1," in boss.text  # four anonymous threads are fewer than k = 5
    assert "nhận 4" not in boss.text and "Đời sống *: nhận 0" in boss.text
    await send_thread(Chat(dispatcher, "a1-4"), "Cấp ủy Chi bộ", "Đời sống", TEXT,
                      anonymous=True)
    await boss.press_raw("tt.rp|dbcs-a|2026-11")
    assert "Tổng: nhận 6," in boss.text and "• Đời sống: nhận 5," in boss.text
    await boss.press_raw("tt.rp|khoi|2026-11")  # outside the listener's scope
    assert "không hợp lệ" in boss.text



async def test_member_closes_a_thread_after_confirming(deps: Deps, dispatcher: Dispatcher) -> None:
    await people(deps)
    member = Chat(dispatcher, "a1-2")
    code = await send_thread(member, "Cấp ủy Chi bộ", "Khác", TEXT, anonymous=False)
    await member.press_raw("tt.v|1")
    await member.press("Đóng tâm tư")
    assert "chắc chắn đóng" in member.text
    await member.press("Xác nhận đóng")
    assert f"Đã đóng tâm tư {code}" in member.text
    cadre = Chat(dispatcher, "l-a1")
    await cadre.say("/tamtucanbo")
    assert not any(code in label for label in cadre.labels())
    await member.press_raw("tt.ok|1|1")
    assert "chưa có trả lời" in member.text
