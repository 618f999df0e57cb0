"""The proposal flows through the real dispatcher: the member's form (buttons and numbered
replies), drafts that survive, photos checked, review with official answers, forged and
repeated presses, withdrawal, resend, the gallery and the author's notices."""

from __future__ import annotations

import asyncio
import io

from PIL import Image

from bot.delivery.queue import DeliveryQueue
from bot.delivery.worker import Worker
from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.engine.messages import FileRef, Incoming
from bot.org.models import Role
from bot.proposals.models import Area, Content, State
from handlers import build_router
from tests.conftest import make_member
from tests.delivery.conftest import RecordingSender
from tests.handlers.chat import Chat

METHOD = "Mỗi đảng viên phụ trách 5 hộ dân, họp dân mỗi tháng một lần, ghi sổ theo dõi."
RESULTS = "Thu nhập bình quân tăng 12%, 30 hộ thoát nghèo trong năm 2025."


def png(size: tuple[int, int] = (40, 30)) -> bytes:
    """A real PNG image."""
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def photo(chat: Chat, data: bytes, *, kind: str = "photo", mime: str = "",
          name: str = "", size: int | None = None) -> Incoming:
    """A file message carrying `data`."""
    async def fetch() -> bytes:
        return data
    ref = FileRef("file-1", kind, name, mime, len(data) if size is None else size, fetch=fetch)
    return Incoming(channel=chat.channel, user_id=chat.user_id, chat_id=chat.user_id,
                    file=ref, buttons=chat.has_buttons)


async def fill(chat: Chat, name: str = "Dân vận khéo trong xây dựng nông thôn mới") -> None:
    """Go through the form up to the photo step (buttons)."""
    await chat.say("/menu")
    await chat.press("Đề xuất mô hình Dân vận khéo")
    await chat.say(name)
    await chat.press("Kinh tế")
    await chat.press("Chi bộ A1")
    await chat.say("Chi bộ A1 và Hội Nông dân xã")
    await chat.say(METHOD)
    await chat.say(RESULTS)


async def deliver(deps: Deps) -> RecordingSender:
    """Send every queued notice once, with a recording sender."""
    sender = RecordingSender()
    worker = Worker(DeliveryQueue(deps.redis, deps.keys, "telegram", "t", poll=0.01), sender,
                    None, poll=0.01)
    stop = asyncio.Event()
    for _ in range(200):
        if not await worker.step(stop):
            break
    return sender


async def setup(deps: Deps) -> tuple[Chat, Chat, Chat]:
    d = Dispatcher(build_router(), deps)
    await make_member(deps, user_id="author", unit="cb-a1", name="Lê Thị Tác Giả")
    await make_member(deps, user_id="rv", unit="dbcs-a", name="Trần Văn Thẩm",
                      grants=((Role.REVIEWER, "dbcs-a"),))
    await make_member(deps, user_id="top", unit="khoi", name="Hoàng Văn Khối",
                      grants=((Role.REVIEWER, "khoi"),))
    return Chat(d, "author"), Chat(d, "rv"), Chat(d, "top")


async def submit(author: Chat) -> str:
    await fill(author)
    await author.send(photo(author, png()))
    assert "đã có 1/5 ảnh" in author.text
    await author.press("Xong, xem lại")
    assert "Xem lại đề xuất trước khi gửi" in author.text and "Ảnh:</b> 1" in \
        author.replies[-1].text
    await author.press("Gửi đề xuất")
    assert "Đã gửi đề xuất DVK-2026-00001" in author.text
    return "DVK-2026-00001"


async def decide(chat: Chat, label: str, answer: str, note: str | None = None) -> None:
    await chat.press(label)
    await chat.say(answer)
    if note is None:
        await chat.press("Bỏ qua")
    else:
        await chat.say(note)
    await chat.press("Xác nhận")


async def test_submit_review_both_levels_and_gallery(deps: Deps) -> None:
    author, rv, top = await setup(deps)
    code = await submit(author)
    await rv.say("/thamdinh")
    assert "Đảng bộ cơ sở A: 1 đề xuất" in rv.text
    await rv.press("Đề xuất tiếp theo")
    assert code in rv.text and rv.replies[0].photo is not None  # the photo comes first
    await decide(rv, "Thẩm định đạt", "Mô hình thiết thực, đề nghị cấp trên công nhận.",
                 "Đã xác minh tại cơ sở <ngày 20>")
    assert "Đã thẩm định đạt" in rv.text and "Đảng bộ Khối" in rv.text
    await top.press_raw("rv.next")
    await decide(top, "Công nhận", "Công nhận mô hình Dân vận khéo năm 2026.")
    assert "Đã được công nhận" in top.text
    sent = await deliver(deps)
    texts = [t for _a, t, _ in sent.sent]
    assert any("Đang thẩm định" in t for t in texts)
    assert any("Đã thẩm định đạt" in t and "đề nghị cấp trên công nhận" in t for t in texts)
    assert any("Đã được công nhận" in t for t in texts)
    assert not any("xác minh" in t for t in texts)  # private notes never reach the author
    await top.press_raw(f"rv.h|{code}")
    assert "Lịch sử xử lý" in top.text and "Trần Văn Thẩm" in top.text
    await author.press_raw(f"rv.h|{code}")  # members do not see the private history
    assert "không thuộc phạm vi thẩm định" in author.text
    await author.say("/mohinh nong thon")
    assert "Dân vận khéo trong xây dựng nông thôn mới" in " ".join(author.labels())
    await author.press("Dân vận khéo trong xây dựng")
    assert "Công nhận mô hình" in author.text
    await top.say(f"/tracuu {code}")
    assert "Ghi chú nội bộ: Đã xác minh tại cơ sở <ngày 20>" in top.text
    assert "&lt;ngày 20&gt;" in top.replies[-1].text  # escaped in HTML


async def test_the_main_path_by_numbered_replies(deps: Deps) -> None:
    d = Dispatcher(build_router(), deps)
    await make_member(deps, channel="console", user_id="m", unit="cb-a1")
    await make_member(deps, channel="console", user_id="r", unit="dbcs-a",
                      grants=((Role.REVIEWER, "dbcs-a"),))
    author = Chat(d, "m", channel="console", buttons=False)
    reviewer = Chat(d, "r", channel="console", buttons=False)

    async def choose(chat: Chat, label: str) -> None:
        await chat.choose(label)

    await author.say("/menu")
    await choose(author, "Đề xuất mô hình Dân vận khéo")
    await author.say("Mô hình tổ tự quản an ninh trật tự")
    await choose(author, "Quốc phòng – an ninh")
    await choose(author, "Chi bộ A1")
    for answer in ("Tổ tự quản khu phố 3", METHOD, RESULTS, "xong"):
        await author.say(answer)
    assert "Xem lại đề xuất" in author.text
    await choose(author, "Gửi đề xuất")
    assert "Đã gửi đề xuất DVK-2026-00001" in author.text
    await reviewer.say("/thamdinh")
    await choose(reviewer, "Đề xuất tiếp theo")
    await choose(reviewer, "Trả lại để bổ sung")
    await reviewer.say("Đề nghị bổ sung số liệu năm 2025.")
    await choose(reviewer, "Bỏ qua")
    await choose(reviewer, "Xác nhận")
    assert "Trả lại để bổ sung" in reviewer.text
    await author.say("/dexuat")
    await choose(author, "DVK-2026-00001")
    assert "Đề nghị bổ sung số liệu năm 2025." in author.text
    await choose(author, "Sửa và gửi lại")
    await choose(author, "Sửa hiệu quả")
    await author.say(RESULTS + " Năm 2025 giảm 40% vụ việc.")
    await choose(author, "Gửi đề xuất")
    assert "Đã gửi đề xuất DVK-2026-00001" in author.text
    stored = await deps.proposals.store.get("DVK-2026-00001")
    assert stored is not None and stored.state is State.SUBMITTED and "40%" in stored.results


async def test_draft_survives_and_is_resumed(deps: Deps) -> None:
    author, _, _ = await setup(deps)
    await author.say("/menu")
    await author.press("Đề xuất mô hình Dân vận khéo")
    await author.say("Mô hình dân vận khéo ở khu dân cư")
    await author.say("/huy")  # the dialog ends (as if it expired); the draft is kept
    again = Chat(Dispatcher(build_router(), deps), "author")  # another process
    await again.say("/menu")
    await again.press("Đề xuất mô hình Dân vận khéo")
    assert "bản nháp chưa gửi" in again.text and "khu dân cư" in again.text
    await again.press("Tiếp tục bản nháp")
    assert "Bước 2/7" in again.text and "Lĩnh vực" in again.text


async def test_bad_input_is_explained_and_changes_nothing(deps: Deps) -> None:
    author, _, _ = await setup(deps)
    await author.say("/menu")
    await author.press("Đề xuất mô hình Dân vận khéo")
    await author.say("Ngắn")
    assert "từ 5 đến 150 ký tự" in author.text
    await author.say("x" * 151)
    assert "151 ký tự" in author.text
    await author.say("Tên hợp lệ của mô hình")
    await author.press_raw("dvk.unit|dbcs-b")  # forged: not the member's unit
    assert "chỉ đề xuất được mô hình của đơn vị mình" in author.text
    await author.press_raw("dvk.area|kinh_te")
    await author.press("Chi bộ A1")
    await author.say("Chi bộ A1")
    await author.say("quá ngắn")
    assert "từ 20 đến 3000 ký tự" in author.text
    await author.say(METHOD)
    await author.say(RESULTS)
    await author.send(photo(author, b"%PDF-1.4 not an image", kind="document",
                            mime="application/pdf", name="a.pdf"))
    assert "không phải ảnh" in author.text
    await author.send(photo(author, b"GIF89a garbage", kind="document", mime="image/png",
                            name="a.png"))
    assert "không phải ảnh hợp lệ" in author.text
    await author.send(photo(author, png(), size=6 * 1024 * 1024))
    assert "vượt giới hạn 5,0 MB" in author.text
    for _ in range(5):
        await author.send(photo(author, png()))
    await author.send(photo(author, png()))
    assert "đã đủ 5 ảnh" in author.text
    draft = await deps.proposals.store.draft((await deps.members.by_account(
        "telegram", "author")).id)  # type: ignore[union-attr]
    assert draft is not None and len(draft.photos) == 5


async def test_forged_and_repeated_decisions_change_nothing(deps: Deps) -> None:
    author, rv, _top = await setup(deps)
    code = await submit(author)
    d = author.dispatcher
    await make_member(deps, user_id="other", unit="dbcs-b",
                      grants=((Role.REVIEWER, "dbcs-b"),))
    outsider, plain = Chat(d, "other"), Chat(d, "author")
    await rv.press_raw("rv.next")
    version = (await deps.proposals.store.get(code)).version  # type: ignore[union-attr]
    for chat in (outsider, plain):
        await chat.press_raw(f"rv.d|{code}|{version}|a")
        assert "không thuộc phạm vi thẩm định" in chat.text
        await chat.press_raw(f"rv.go|{code}|{version}")
        assert "không thuộc phạm vi thẩm định" in chat.text
    await plain.say("/thamdinh")
    assert "được phân công thẩm định" in plain.text
    await rv.press("Không chấp nhận")
    await rv.say("Mô hình chưa có kết quả rõ ràng.")
    await rv.press("Bỏ qua")
    go = rv.button("Xác nhận").action
    await rv.press_raw(go)
    assert "Không được chấp nhận" in rv.text
    await rv.press_raw(go)  # the same button again
    assert "đã được xử lý" in rv.text
    history = await deps.proposals.store.history(code)
    assert [e.target for e in history].count(State.REJECTED) == 1


async def test_decision_on_a_withdrawn_proposal(deps: Deps) -> None:
    author, rv, _ = await setup(deps)
    code = await submit(author)
    await rv.press_raw("rv.next")
    decide_button = rv.button("Thẩm định đạt").action
    await author.say("/dexuat")
    await author.press(code)
    await author.press("Rút đề xuất")
    await author.press("Xác nhận rút")
    assert f"Đã rút đề xuất {code}" in author.text
    await rv.press_raw(decide_button)
    assert "đã được tác giả rút" in rv.text
    stored = await deps.proposals.store.get(code)
    assert stored is not None and stored.state is State.WITHDRAWN
    await author.press_raw(f"my.w|{code}|{stored.version}")
    await author.press("Xác nhận rút")
    assert "không rút được" in author.text
    await rv.press_raw("rv.next")
    assert "không còn đề xuất nào" in rv.text


async def test_someone_elses_proposal_is_not_shown(deps: Deps) -> None:
    author, rv, _ = await setup(deps)
    code = await submit(author)
    await rv.press_raw(f"my.v|{code}")
    assert "Không tìm thấy đề xuất này" in rv.text
    await author.press_raw("gal.v|" + code)  # not recognised: not in the gallery
    assert "không có trong thư viện" in author.text


async def test_send_pressed_again_after_a_crash_answers_with_the_same_code(deps: Deps) -> None:
    author, _rv, _top = await setup(deps)
    await fill(author)
    await author.press("Xong, xem lại")
    me = await deps.members.by_account("telegram", "author")
    assert me is not None
    draft = await deps.proposals.store.draft(me.id)
    assert draft is not None
    await author.press("Gửi đề xuất")
    assert "Đã gửi đề xuất DVK-2026-00001" in author.text
    await deps.proposals.store.save_draft(me.id, draft)  # the crash kept the draft
    await author.press_raw("dvk.send")
    assert "Đã gửi đề xuất DVK-2026-00001" in author.text
    assert await deps.proposals.store.all_codes() == ["DVK-2026-00001"]
    assert [s.length for s in await deps.proposals.queue.stats(["dbcs-a"])] == [1]


async def test_my_proposals_page_beyond_twenty_by_buttons_and_numbers(deps: Deps) -> None:
    d = Dispatcher(build_router(), deps)
    me = await make_member(deps, channel="console", user_id="m", unit="cb-a1")
    tree = await deps.units.tree()
    for n in range(45):
        await deps.proposals.submit(me, content_named(f"Mô hình số {n:02d}"), tree,
                                    deps.clock())
    chat = Chat(d, "m", channel="console", buttons=False)
    await chat.say("/dexuat")
    assert "Trang 1/3, tổng cộng 45 đề xuất" in chat.text
    assert "DVK-2026-00045" in shown(chat) and "DVK-2026-00025" not in shown(chat)
    labels = chat.labels()
    assert "« Trước" not in labels
    await chat.say(str(labels.index("Sau »") + 1))  # a numbered reply pages on
    assert "Trang 2/3" in chat.text and "DVK-2026-00025" in shown(chat)
    assert "DVK-2026-00006" in shown(chat) and "DVK-2026-00026" not in shown(chat)
    await chat.say(str(chat.labels().index("Sau »") + 1))
    assert "Trang 3/3" in chat.text and "DVK-2026-00001" in shown(chat)
    assert "Sau »" not in chat.labels()
    await chat.say(str(chat.labels().index("« Trước") + 1))
    assert "Trang 2/3" in chat.text
    buttons = Chat(d, "m", channel="console")
    await buttons.press_raw("my|99")  # a forged page number: the last page, nothing breaks
    assert "Trang 3/3" in buttons.text


def shown(chat: Chat) -> str:
    """The options offered in the latest replies, as one string."""
    return " ".join(chat.labels())


def content_named(name: str) -> Content:
    """A complete form with this name."""
    return Content(name=name, area=Area.ECONOMY, unit="cb-a1", executor="Chi bộ A1",
                   method=METHOD, results=RESULTS)
