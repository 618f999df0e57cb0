"""End to end over real HTTP: `bot.app.run_bot` (long polling) against the Bot API stand-in."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.ops.logs import RedactSecrets, setup_logging
from bot.org.models import Role
from bot.privacy.logid import log_id
from tests.channels.conftest import TOKEN, USERNAME, LiveBot, button_data, labels, text

ALICE, BOB, CAROL = 1001, 1002, 1003
NAME_QUESTION = "Xin đồng chí cho biết"


# ---------------------------------------------------------------------- onboarding
async def test_onboarding_via_deep_link(live_bot: LiveBot) -> None:
    invite = await live_bot.invite("cb-a1", max_uses=3)

    [ask] = await live_bot.send(ALICE, f"/start {invite.code}")
    assert NAME_QUESTION in text(ask)
    assert "họ và tên đầy đủ" in text(ask)
    assert "Chi bộ A1" in text(ask)
    assert ask.parse_mode == "HTML"
    assert live_bot.standin.buttons(ask) == [[("Hủy", "cancel")]]
    assert await live_bot.member(ALICE) is None

    [welcome] = await live_bot.send(ALICE, "Nguyễn Văn An")
    assert welcome.method == "sendMessage"
    assert "Chào mừng đồng chí <b>Nguyễn Văn An</b>" in text(welcome)
    assert "Chi bộ A1" in text(welcome)
    assert "Menu chính" in text(welcome)
    assert ("Thông tin của tôi", "me") in [b for row in live_bot.standin.buttons(welcome)
                                          for b in row]
    assert "Tạo mã mời" not in labels(welcome)  # a plain member

    member = await live_bot.member(ALICE)
    assert member is not None
    assert (member.name, member.unit, member.grants) == ("Nguyễn Văn An", "cb-a1", [])
    assert member.identities == {"telegram": str(ALICE)}
    stored = await live_bot.deps.invites.get(invite.code)
    assert stored is not None and stored.uses == 1

    # The Vietnamese command list published at start-up.
    [call] = live_bot.standin.calls_of("setMyCommands")
    assert call.status == 200
    commands = {c["command"]: c["description"] for c in call.params["commands"]}
    assert {"menu", "me", "help", "huy", "start"} <= set(commands)
    assert commands["menu"] == "Mở menu chính"
    assert commands["me"] == "Thông tin của tôi"
    assert commands["help"] == "Hướng dẫn sử dụng"
    assert commands["huy"] == "Hủy thao tác đang làm"
    assert "mã mời" in commands["start"]


async def test_profile_button_edits_the_menu_message(live_bot: LiveBot) -> None:
    await live_bot.register(ALICE, unit="cb-a1", name="Trần Thị Bình")
    [menu] = await live_bot.send(ALICE, "/menu")
    assert "Menu chính" in text(menu) and "Trần Thị Bình" in text(menu)

    [edited] = await live_bot.press(ALICE, menu, button_data(menu, "Thông tin của tôi"))
    assert edited.method == "editMessageText"
    assert edited.message_id == menu.message_id
    assert "<b>Thông tin của tôi</b>" in text(edited)
    assert "Họ và tên: Trần Thị Bình" in text(edited)
    assert "Đảng bộ Khối Thử nghiệm › Đảng bộ cơ sở A › Chi bộ A1" in text(edited)
    assert "Ứng dụng liên lạc: Telegram" in text(edited)
    assert labels(edited) == ["Đổi họ và tên", "« Về menu chính"]
    # Only one new message in the chat: the menu, now showing the profile.
    assert [m.message_id for m in live_bot.standin.messages_to(ALICE)] == [menu.message_id]

    answer = await live_bot.standin.wait_call("answerCallbackQuery")
    assert answer.params["callback_query_id"]


async def test_forged_and_garbled_callback_data_is_refused(live_bot: LiveBot) -> None:
    await live_bot.register(ALICE, unit="cb-a1")
    [menu] = await live_bot.send(ALICE, "/menu")

    [refused] = await live_bot.press(ALICE, menu, "inv.mk|khoi|admin|1")
    assert "không có quyền" in text(refused)
    assert refused.method == "sendMessage"  # a notice, the menu stays as it was

    unknown_route = "zzunknown|" + "a" * 40 + "|" + "b" * 13
    assert len(unknown_route.encode()) == 64
    for data in ("zz|??", unknown_route, "x" * 64):
        [bad] = await live_bot.press(ALICE, menu, data)
        assert "Nút bấm này không hợp lệ" in text(bad), data
        assert "/menu" in text(bad)

    assert await live_bot.deps.redis.keys("dv:{inv:*") == []
    assert await live_bot.deps.redis.exists("dv:invites") == 0
    answers = live_bot.standin.calls_of("answerCallbackQuery")
    assert len(answers) == 4 and all(a.status == 200 for a in answers)

    [again] = await live_bot.send(ALICE, "/menu")
    assert "Menu chính" in text(again)
    assert live_bot.running()


async def test_forged_press_by_a_stranger_asks_to_register(live_bot: LiveBot) -> None:
    [welcome] = await live_bot.send(BOB, "/start")
    [refused] = await live_bot.press(BOB, welcome, "inv.mk|cb-a1|member|1")
    assert "chưa đăng ký" in text(refused)
    assert await live_bot.deps.redis.keys("dv:{inv:*") == []


# ------------------------------------------------------------------ bad invite codes
async def test_unusable_invite_codes_get_polite_explanations(live_bot: LiveBot) -> None:
    deps = live_bot.deps
    expired = await live_bot.invite(now=datetime.now(UTC) - timedelta(days=30), days=14)
    used_up = await live_bot.invite(max_uses=1)
    assert await deps.invites.redeem(used_up.code, "telegram:999",
                                     datetime.now(UTC)) == "ok"
    revoked = await live_bot.invite()
    assert await deps.invites.revoke(revoked.code)
    unknown = "ABCDEFGHJK"
    assert await deps.invites.get(unknown) is None

    cases = [(expired.code, "đã hết hạn"), (used_up.code, "dùng hết số lượt"),
             (revoked.code, "đã bị thu hồi"), (unknown, "Mã mời không đúng")]
    for code, fragment in cases:
        [reply] = await live_bot.send(ALICE, f"/start {code}")
        assert fragment in text(reply), code
        assert "cán bộ chi bộ" in text(reply)  # points to the cadre for a new code
        assert NAME_QUESTION not in text(reply)
    [reply] = await live_bot.send(ALICE, "/start xyz")
    assert "Mã mời gồm 10 ký tự" in text(reply)

    assert await live_bot.member(ALICE) is None
    for invite in (expired, revoked):
        stored = await deps.invites.get(invite.code)
        assert stored is not None and stored.uses == 0


async def test_invalid_names_are_asked_again(live_bot: LiveBot) -> None:
    invite = await live_bot.invite("cb-a2")
    [ask] = await live_bot.send(ALICE, f"/start {invite.code}")
    assert NAME_QUESTION in text(ask) and "Chi bộ A2" in text(ask)

    for name, fragment in (("123", "ít nhất hai từ, không có chữ số"),
                           ("An", "ít nhất hai từ"),
                           ("Nguyễn " * 28 + "An", "dài quá 80 ký tự")):
        [again] = await live_bot.send(ALICE, name)
        assert fragment in text(again), name
        assert "Xin đồng chí nhập" in text(again)
        assert live_bot.standin.buttons(again) == [[("Hủy", "cancel")]]
        assert await live_bot.member(ALICE) is None

    stored = await live_bot.deps.invites.get(invite.code)
    assert stored is not None and stored.uses == 0
    dialog = await live_bot.deps.conversations.dialog("telegram", str(ALICE))
    assert dialog is not None and dialog.step == "start.name"

    [welcome] = await live_bot.send(ALICE, "Lê Thị Cúc")  # still in the flow
    assert "Chào mừng đồng chí <b>Lê Thị Cúc</b>" in text(welcome)
    assert "Chi bộ A2" in text(welcome)


# -------------------------------------------------------------------- cadre scope
async def test_cadre_creates_invite_within_scope_only(live_bot: LiveBot) -> None:
    cadre = await live_bot.register(CAROL, unit="cb-a1", name="Phạm Văn Đức",
                                    grants=((Role.CADRE, "dbcs-a"),))
    [menu] = await live_bot.send(CAROL, "/menu")
    assert "Tạo mã mời" in labels(menu)

    [scope] = await live_bot.press(CAROL, menu, button_data(menu, "Tạo mã mời"))
    assert scope.method == "editMessageText" and scope.message_id == menu.message_id
    assert "Đảng bộ cơ sở A" in text(scope)
    assert "› Chi bộ A1" in labels(scope) and "› Chi bộ A2" in labels(scope)
    assert not any("B1" in label or "Lên cấp trên" in label for label in labels(scope))

    [unit] = await live_bot.press(CAROL, scope, button_data(scope, "› Chi bộ A2"))
    assert "Chi bộ A2" in text(unit)
    [uses] = await live_bot.press(CAROL, unit, button_data(unit, "✓ Chọn Chi bộ A2"))
    # A cadre never chooses a role: straight to the number of uses, role "Đảng viên".
    assert "vai trò Đảng viên" in text(uses)
    assert "bao nhiêu người" in text(uses)
    assert not any(role in labels(uses) for role in ("Cán bộ", "Quản trị", "Đảng viên"))
    assert button_data(uses, "10 người") == "inv.mk|cb-a2|member|10"

    [created] = await live_bot.press(CAROL, uses, button_data(uses, "10 người"))
    assert "Đã tạo mã mời" in text(created)
    [invite] = await live_bot.deps.invites.list(unit="cb-a2")
    assert (invite.role, invite.max_uses, invite.created_by) == (Role.MEMBER, 10, cadre.id)
    assert f"<code>{invite.code}</code>" in text(created)
    assert f"https://t.me/{USERNAME}?start={invite.code}" in text(created)

    for forged in ("inv.mk|cb-b1|member|1", "inv.u|khoi|0", "inv.mk|cb-a2|cadre|1"):
        [refused] = await live_bot.press(CAROL, created, forged)
        assert "không có quyền" in text(refused), forged
    assert await live_bot.deps.invites.list(unit="cb-b1") == []
    assert len(await live_bot.deps.invites.list()) == 1


async def test_admin_may_choose_the_cadre_role(live_bot: LiveBot) -> None:
    await live_bot.register(ALICE, unit="cb-b1", name="Hoàng Văn Em",
                            grants=((Role.ADMIN, "khoi"),))
    [menu] = await live_bot.send(ALICE, "/menu")
    [top] = await live_bot.press(ALICE, menu, button_data(menu, "Tạo mã mời"))
    assert "Đảng bộ Khối Thử nghiệm" in text(top)
    [dbcs] = await live_bot.press(ALICE, top, button_data(top, "› Đảng bộ cơ sở B"))
    [unit] = await live_bot.press(ALICE, dbcs, button_data(dbcs, "› Chi bộ B1"))
    [roles] = await live_bot.press(ALICE, unit, button_data(unit, "✓ Chọn Chi bộ B1"))
    assert "giao vai trò gì" in text(roles)
    assert {"Đảng viên", "Cán bộ phụ trách", "Người thẩm định", "Quản trị"} <= set(labels(roles))

    [uses] = await live_bot.press(ALICE, roles, button_data(roles, "Cán bộ"))
    assert "vai trò Cán bộ" in text(uses)
    [created] = await live_bot.press(ALICE, uses, button_data(uses, "1 người"))
    assert "Vai trò: Cán bộ" in text(created)
    [invite] = await live_bot.deps.invites.list(unit="cb-b1")
    assert (invite.role, invite.max_uses) == (Role.CADRE, 1)


# ------------------------------------------------------------------- robustness
async def test_dialog_state_survives_a_restart(live_bot: LiveBot) -> None:
    invite = await live_bot.invite("cb-a1")
    [ask] = await live_bot.send(ALICE, f"/start {invite.code}")
    assert NAME_QUESTION in text(ask)

    await live_bot.restart()
    assert len(live_bot.standin.calls_of("setMyCommands")) == 2

    [welcome] = await live_bot.send(ALICE, "Nguyễn Văn An")
    assert "Chào mừng đồng chí <b>Nguyễn Văn An</b>" in text(welcome)
    member = await live_bot.member(ALICE)
    assert member is not None and member.unit == "cb-a1"
    # The update answered before the restart was confirmed, not delivered a second time.
    assert len(live_bot.standin.messages_to(ALICE)) == 2


async def test_cancel_button_during_onboarding(live_bot: LiveBot) -> None:
    invite = await live_bot.invite("cb-a1")
    [ask] = await live_bot.send(ALICE, f"/start {invite.code}")
    [cancelled] = await live_bot.press(ALICE, ask, button_data(ask, "Hủy"))
    assert "Đã hủy thao tác đang làm" in text(cancelled) and "/start" in text(cancelled)
    assert await live_bot.deps.conversations.dialog("telegram", str(ALICE)) is None
    [fallback] = await live_bot.send(ALICE, "Nguyễn Văn An")  # no longer taken as a name
    assert "mã mời" in text(fallback)
    assert await live_bot.member(ALICE) is None


async def test_group_messages_are_ignored(live_bot: LiveBot) -> None:
    standin = live_bot.standin
    update = standin.make_message_update(ALICE, "/menu")
    update["message"]["chat"] = {"id": -4242, "type": "group", "title": "Chi bộ A1"}
    standin.queue_update(update)
    [reply] = await live_bot.send(ALICE, "/help")  # barrier: updates are handled in order
    assert "Hướng dẫn sử dụng" in text(reply)
    assert standin.messages_to(-4242) == []
    assert len(standin.calls_of("sendMessage")) == 1


async def test_edits_member_changes_and_unknown_kinds_are_ignored(live_bot: LiveBot) -> None:
    standin = live_bot.standin
    edited = standin.make_message_update(ALICE, "/menu")
    edited["edited_message"] = edited.pop("message")
    standin.queue_update(edited)
    user = {"id": ALICE, "is_bot": False, "first_name": "Test"}
    standin.queue_update({"update_id": edited["update_id"] + 1, "my_chat_member": {
        "chat": {"id": ALICE, "type": "private", "first_name": "Test"}, "from": user,
        "date": 1_732_500_000, "old_chat_member": {"user": standin.bot_user, "status": "member"},
        "new_chat_member": {"user": standin.bot_user, "status": "kicked", "until_date": 0}}})
    standin.queue_update({"update_id": edited["update_id"] + 2, "guest_visit": {"from": user}})
    standin.queue_update({"update_id": edited["update_id"] + 3, "message": "not a message"})
    for _ in range(4):  # the next make_* helpers number their updates after these
        next(standin._update_ids)
    [reply] = await live_bot.send(ALICE, "/help")  # barrier: updates are handled in order
    assert "Hướng dẫn sử dụng" in text(reply)
    assert len(standin.calls_of("sendMessage")) == 1
    assert live_bot.running()


async def test_edit_of_a_vanished_message_falls_back_to_a_new_one(live_bot: LiveBot) -> None:
    await live_bot.register(ALICE, name="Trần Thị Bình")
    [menu] = await live_bot.send(ALICE, "/menu")
    live_bot.standin.fail_next("editMessageText", status=400,
                               description="Bad Request: message to edit not found")
    [profile] = await live_bot.press(ALICE, menu, "me")
    assert profile.method == "sendMessage" and profile.message_id != menu.message_id
    assert "Họ và tên: Trần Thị Bình" in text(profile)


async def test_stale_callback_query_is_still_handled(live_bot: LiveBot) -> None:
    # Regression: a 400 from answerCallbackQuery used to abort the whole press.
    # Presses queued while the bot was down come back with query IDs Telegram no longer
    # accepts; stopping the spinner is cosmetic, the press itself must still be handled.
    await live_bot.register(ALICE, name="Trần Thị Bình")
    [menu] = await live_bot.send(ALICE, "/menu")
    live_bot.standin.fail_next(
        "answerCallbackQuery", status=400,
        description="Bad Request: query is too old and response timeout expired or query ID "
                    "is invalid")
    [profile] = await live_bot.press(ALICE, menu, "me")
    assert "Họ và tên: Trần Thị Bình" in text(profile)


async def test_server_error_on_send_is_retried(live_bot: LiveBot) -> None:
    live_bot.standin.fail_next("sendMessage", status=502)
    [reply] = await live_bot.send(ALICE, "/help")
    assert "Hướng dẫn sử dụng" in text(reply)
    assert [c.status for c in live_bot.standin.calls_of("sendMessage")] == [502, 200]


async def test_retry_after_429_delivers_the_reply_once(live_bot: LiveBot) -> None:
    standin = live_bot.standin
    standin.fail_next("sendMessage", retry_after=1)

    [reply] = await live_bot.send(ALICE, "/help", timeout=8)
    assert "Hướng dẫn sử dụng" in text(reply)
    [failed] = standin.failures
    assert (failed.method, failed.status) == ("sendMessage", 429)
    delivered = [c for c in standin.calls_of("sendMessage") if c.status == 200]
    assert len(delivered) == 1
    assert delivered[0].time - failed.time >= 0.9  # waited as Telegram asked

    # Updates are handled in order: once the next reply is in, a duplicate would be too.
    [menu_hint] = await live_bot.send(ALICE, "/abcxyz")
    assert "Không có lệnh" in text(menu_hint)
    texts = [text(m) for m in standin.messages_to(ALICE)]
    assert sum("Hướng dẫn sử dụng" in t for t in texts) == 1


async def test_polling_waits_out_a_429_and_backs_off_a_server_error(live_bot: LiveBot) -> None:
    standin = live_bot.standin
    standin.fail_next("getUpdates", retry_after=1)  # the polls after the one now waiting
    standin.fail_next("getUpdates", status=502)
    [first] = await live_bot.send(ALICE, "/help")
    [second] = await live_bot.send(ALICE, "/abcxyz", timeout=10)
    assert "Hướng dẫn sử dụng" in text(first) and "Không có lệnh" in text(second)
    too_many, broken = standin.failures
    assert (too_many.method, too_many.status, broken.status) == ("getUpdates", 429, 502)
    assert broken.time - too_many.time >= 1.0  # waited as Telegram asked
    assert live_bot.running()


async def test_blocked_user_is_logged_and_bot_keeps_running(
        live_bot: LiveBot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="dvbot.telegram")
    standin = live_bot.standin
    standin.blocked_chats.add(BOB)

    standin.user_sends(BOB, "/start")
    await standin.wait_for(
        lambda: any(c.status == 403 for c in standin.calls_of("sendMessage")),
        what="a 403 to the blocked chat")

    [reply] = await live_bot.send(ALICE, "/start")
    assert "Kính chào đồng chí" in text(reply)
    assert standin.messages_to(BOB) == []
    blocked = [r for r in caplog.records
               if r.name == "dvbot.telegram" and "cannot be reached" in r.getMessage()]
    # Named by its per-process pseudonym: logs never carry a chat id.
    assert len(blocked) == 1 and log_id(str(BOB)) in blocked[0].getMessage()
    assert str(BOB) not in blocked[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert live_bot.running()
    # One attempt only: a blocked chat is never retried.
    assert len([c for c in standin.calls_of("sendMessage") if c.params["chat_id"] == BOB]) == 1


async def test_unexpected_input_gets_polite_answers(live_bot: LiveBot) -> None:
    standin = live_bot.standin

    [unknown] = await live_bot.send(ALICE, "/abcxyz")
    assert "Không có lệnh /abcxyz" in text(unknown) and "/help" in text(unknown)

    # Telegram itself caps text at 4,096 characters; build such an update directly.
    [too_long] = await live_bot.send_update(ALICE, standin.make_message_update(ALICE, "a" * 5000))
    assert "vượt giới hạn" in text(too_long) and "5.000" in text(too_long)

    document = standin.make_document_update(ALICE, "baocao.pdf", "application/pdf")
    [no_file] = await live_bot.send_update(ALICE, document)
    assert "chưa cần tệp" in text(no_file)

    [no_photo] = await live_bot.send_update(ALICE, standin.make_photo_update(ALICE))
    assert "chưa cần tệp" in text(no_photo)

    sticker = {"sticker": {"file_id": "CAACAgIAAxkBAAE", "file_unique_id": "AgADsticker",
                           "type": "regular", "width": 512, "height": 512,
                           "is_animated": False, "is_video": False, "emoji": "👍"}}
    [unsupported] = await live_bot.send_update(ALICE, standin.make_message_update(ALICE, sticker))
    assert "chỉ hiểu tin nhắn chữ" in text(unsupported)

    assert live_bot.running()
    assert await live_bot.member(ALICE) is None


# ----------------------------------------------------------------------- secrets
@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the root logger and the quieted libraries back as they were."""
    root = logging.getLogger()
    names = ("httpx", "httpcore", "telegram.ext.Updater", "apscheduler")
    saved = (root.handlers[:], root.level, {n: logging.getLogger(n).level for n in names})
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


class Collect(logging.Handler):
    """Keeps the rendered message of every record, as it was when it reached this handler."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.name, record.getMessage()))


def test_redact_secrets_filter_on_a_handler() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactSecrets([TOKEN, "abc"]))  # too short to redact: ignored
    logger = logging.getLogger("dvbot.test.redact")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug("POST http://127.0.0.1/bot%s/getMe abc", TOKEN)
        try:
            raise RuntimeError(f"failed calling /bot{TOKEN}/sendMessage")
        except RuntimeError:
            logger.exception("request with %s failed", "the token")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    output = out.getvalue()
    assert TOKEN not in output
    assert "POST http://127.0.0.1/bot***/getMe abc" in output
    assert "RuntimeError: failed calling /bot***/sendMessage" in output
    assert "request with the token failed" in output


async def test_token_reaches_only_httpx_records_without_setup_logging(
        live_bot: LiveBot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    invite = await live_bot.invite()
    await live_bot.send(ALICE, f"/start {invite.code}")
    await live_bot.send(ALICE, "Nguyễn Văn An")

    leaking = {r.name for r in caplog.records
               if TOKEN in r.getMessage() or TOKEN in (r.exc_text or "")}
    # Our own loggers and PTB's never print the token...
    assert not {n for n in leaking if n.startswith(("dvbot", "telegram"))}, leaking
    # ...and since issue 8 the Bot API transport is aiohttp, which logs no request lines
    # (httpx put the token in every one); `dvbot run` still installs RedactSecrets.
    assert leaking == set()


async def test_setup_logging_scrubs_the_token_from_run_bot_output(
        live_bot: LiveBot, restore_logging: None, monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    setup_logging("DEBUG", [TOKEN])
    assert logging.getLogger("httpx").level == logging.WARNING  # request lines quieted
    # Let httpx request lines through anyway, to prove the filter scrubs them.
    logging.getLogger("httpx").setLevel(logging.DEBUG)
    raw = Collect()
    logging.getLogger().handlers.insert(0, raw)  # sees records before the redacting handler

    await live_bot.restart()  # start-up (getMe, setMyCommands) logs under setup_logging too
    invite = await live_bot.invite()
    await live_bot.send(ALICE, f"/start {invite.code}")
    await live_bot.send(ALICE, "Nguyễn Văn An")
    # The aiohttp transport logs no URLs (issue 8); a library that does is still scrubbed.
    logging.getLogger("aiohttp.client").warning("HTTP Request: POST %s/bot%s/sendMessage",
                                                live_bot.standin.url, TOKEN)
    await live_bot.stop()

    assert any(name == "aiohttp.client" and TOKEN in line for name, line in raw.lines)
    output = stderr.getvalue()
    assert "HTTP Request: POST" in output and "/bot***/sendMessage" in output
    assert "dvbot is running as @dvbot_test_bot" in output
    assert TOKEN not in output
    assert TOKEN.split(":", 1)[1] not in output
