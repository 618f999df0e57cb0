"""The raw Telegram update reader (bot/channels/telegram_updates.py) on updates shaped as the
Bot API documents them (https://core.telegram.org/bots/api#update and the objects it names:
Message, User, Chat, MessageEntity, CallbackQuery, MaybeInaccessibleMessage, PhotoSize,
Document, Contact, ChatMemberUpdated). Each asserts the Incoming produced, and that PTB's own
reading of the same JSON (`Update.de_json`, which dvbot used before) agrees."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from telegram import Message, Update
from telegram.constants import ChatType

from bot.channels.telegram_updates import BadUpdate, Inbound, parse_update, update_id
from bot.engine.messages import FileRef, Incoming

USER = {"id": 111222333, "is_bot": False, "first_name": "Lan", "last_name": "Nguyễn Thị",
        "username": "lan_nt", "language_code": "vi"}
PRIVATE = {"id": 111222333, "first_name": "Lan", "last_name": "Nguyễn Thị",
           "username": "lan_nt", "type": "private"}
GROUP = {"id": -1001234567890, "title": "Chi bộ A1", "type": "supergroup"}
CHANNEL = {"id": -1009876543210, "title": "Bản tin Dân vận", "type": "channel"}
BOT = {"id": 5550123, "is_bot": True, "first_name": "Dân vận", "username": "dvbot_test_bot"}


def message(**fields: Any) -> dict[str, Any]:
    """A private Message from USER (message_id, from, chat, date, then `fields`)."""
    return {"message_id": 1365, "from": USER, "chat": PRIVATE, "date": 1_732_500_000, **fields}


COMMAND = {"update_id": 10000, "message": message(
    text="/start ABCDEFGHJK",
    entities=[{"offset": 0, "length": 6, "type": "bot_command"}])}
PRESS = {"update_id": 10001, "callback_query": {
    "id": "4382bfdwdsb323b2d9", "from": USER, "chat_instance": "-7324589237498234",
    "data": "me",
    "message": {"message_id": 77, "from": BOT, "chat": PRIVATE, "date": 1_732_499_000,
                "text": "Menu chính",
                "reply_markup": {"inline_keyboard": [[{"text": "Thông tin của tôi",
                                                       "callback_data": "me"}]]}}}}
EDITED = {"update_id": 10002, "edited_message": message(edit_date=1_732_500_060,
                                                        text="Nguyễn Thị Lan")}
LEFT = {"update_id": 10003, "my_chat_member": {
    "chat": PRIVATE, "from": USER, "date": 1_732_500_100,
    "old_chat_member": {"user": BOT, "status": "member"},
    "new_chat_member": {"user": BOT, "status": "kicked", "until_date": 0}}}
PHOTO = {"update_id": 10004, "message": message(
    caption="Ảnh mô hình dân vận khéo",
    photo=[{"file_id": "AgACAgUAAxkBAAIBsmall", "file_unique_id": "AQADs", "file_size": 1342,
            "width": 90, "height": 67},
           {"file_id": "AgACAgUAAxkBAAIBlarge", "file_unique_id": "AQADl",
            "file_size": 101_230, "width": 1280, "height": 960}])}
DOCUMENT = {"update_id": 10005, "message": message(
    caption="Báo cáo quý", document={
        "file_name": "bao-cao-quy-3.pdf", "mime_type": "application/pdf",
        "file_id": "BQACAgUAAxkBAAIBdoc", "file_unique_id": "AgADdoc", "file_size": 48_213})}
CONTACT = {"update_id": 10006, "message": message(contact={
    "phone_number": "+84912345678", "first_name": "Lan", "last_name": "Nguyễn Thị",
    "user_id": 111222333})}
CHANNEL_POST = {"update_id": 10007, "channel_post": {
    "message_id": 12, "sender_chat": CHANNEL, "chat": CHANNEL, "date": 1_732_500_200,
    "text": "/menu"}}
GROUP_MESSAGE = {"update_id": 10008, "message": {**message(text="/menu"), "chat": GROUP}}
FUTURE_KIND = {"update_id": 10009, "guest_visit": {"from": USER, "chat": PRIVATE,
                                                   "date": 1_732_500_300}}
FUTURE_FIELD = {"update_id": 10010, "message": message(
    text="Xin chào", rich_layout={"blocks": [{"kind": "paragraph"}]}, is_ephemeral=True)}
STALE_PRESS = copy.deepcopy(PRESS) | {"update_id": 10011}
STALE_PRESS["callback_query"]["message"] = {"message_id": 76, "chat": PRIVATE, "date": 0}
INLINE_PRESS = {"update_id": 10012, "callback_query": {
    "id": "4382bfdwdsb323b2e0", "from": USER, "chat_instance": "-7324589237498234",
    "inline_message_id": "AAAAAJ1bQ", "data": "me"}}
GAME_PRESS = copy.deepcopy(PRESS) | {"update_id": 10013}
del GAME_PRESS["callback_query"]["data"]
GAME_PRESS["callback_query"]["game_short_name"] = "quiz"


async def no_download(file_id: str) -> bytes:
    raise AssertionError(f"not downloaded here: {file_id}")


def read(update: dict[str, Any]) -> Inbound | None:
    return parse_update(update, no_download)


def ptb_view(update: dict[str, Any]) -> tuple[str, str] | None:
    """Whose update PTB saw, in which chat, when dvbot acted on it (the old rule)."""
    parsed = Update.de_json(copy.deepcopy(update), None)
    chat, user = parsed.effective_chat, parsed.effective_user
    acted = parsed.callback_query is not None or parsed.message is not None
    if chat is None or user is None or chat.type != ChatType.PRIVATE or not acted:
        return None
    return str(user.id), str(chat.id)


def expect(update: dict[str, Any], **content: Any) -> Inbound:
    """The update is handled as Lan's, with `content`; PTB would have handled it alike."""
    inbound = read(update)
    assert inbound is not None
    assert inbound.update_id == update["update_id"]
    assert inbound.incoming == Incoming(channel="telegram", user_id="111222333",
                                        chat_id="111222333", display_name="Lan Nguyễn Thị",
                                        **content)
    assert inbound.account == "111222333"
    assert ptb_view(update) == ("111222333", "111222333")
    return inbound


def test_command_with_its_entity() -> None:
    inbound = expect(COMMAND, text="/start ABCDEFGHJK")
    assert (inbound.query_id, inbound.origin) == (None, None)


def test_button_press_answers_and_edits_its_message() -> None:
    inbound = expect(PRESS, action="me")
    assert inbound.query_id == "4382bfdwdsb323b2d9"
    assert inbound.origin == 77
    parsed = Update.de_json(copy.deepcopy(PRESS), None)
    assert parsed.callback_query is not None
    assert isinstance(parsed.callback_query.message, Message)  # PTB would have edited it too


def test_press_on_a_message_too_old_to_edit_gets_a_new_message() -> None:
    inbound = expect(STALE_PRESS, action="me")
    assert inbound.origin is None and inbound.query_id == "4382bfdwdsb323b2d9"
    parsed = Update.de_json(copy.deepcopy(STALE_PRESS), None)
    assert parsed.callback_query is not None and parsed.callback_query.message is not None
    # PTB called it inaccessible too, but still tried an edit that could only fail.
    assert not parsed.callback_query.message.is_accessible


def test_press_without_data_is_an_empty_action() -> None:
    assert expect(GAME_PRESS, action="").query_id == "4382bfdwdsb323b2d9"


def test_photo_is_its_largest_size_with_caption() -> None:
    inbound = expect(PHOTO, text="Ảnh mô hình dân vận khéo",
                     file=FileRef("AgACAgUAAxkBAAIBlarge", "photo", size=101_230))
    assert inbound.incoming.file is not None and inbound.incoming.file.fetch is not None


def test_document_keeps_name_type_and_size() -> None:
    expect(DOCUMENT, text="Báo cáo quý",
           file=FileRef("BQACAgUAAxkBAAIBdoc", "document", "bao-cao-quy-3.pdf",
                        "application/pdf", 48_213))


async def test_a_file_is_fetched_by_its_file_id_only_when_asked() -> None:
    asked: list[str] = []

    async def download(file_id: str) -> bytes:
        asked.append(file_id)
        return b"%PDF-1.7"

    inbound = parse_update(DOCUMENT, download)
    assert inbound is not None and inbound.incoming.file is not None
    assert asked == []
    fetch = inbound.incoming.file.fetch
    assert fetch is not None
    assert await fetch() == b"%PDF-1.7"
    assert asked == ["BQACAgUAAxkBAAIBdoc"]


def test_contact_is_a_message_without_text() -> None:
    # dvbot asks for typed answers; the flows answer "chỉ hiểu tin nhắn chữ" to this.
    expect(CONTACT)


def test_unknown_fields_of_a_message_are_tolerated() -> None:
    expect(FUTURE_FIELD, text="Xin chào")


@pytest.mark.parametrize("update", [EDITED, LEFT, CHANNEL_POST, GROUP_MESSAGE, FUTURE_KIND,
                                    INLINE_PRESS],
                         ids=["edited_message", "my_chat_member", "channel_post",
                              "group_message", "unknown_kind", "inline_message_press"])
def test_what_dvbot_ignores(update: dict[str, Any]) -> None:
    assert read(update) is None
    assert ptb_view(update) is None  # PTB's reading ignored it as well


@pytest.mark.parametrize("body", [
    {"update_id": 5, "message": "oops"},
    {"update_id": "abc", "message": {}},
    {"message": {"text": "no update_id"}},
    {"update_id": True},
    [COMMAND],
    {"update_id": 6, "message": {**message(text="hi"), "from": {**USER, "id": "111"}}},
    {"update_id": 7, "message": message(text=["not", "a", "string"])},
    {"update_id": 8, "message": message(photo="AgAC")},
    {"update_id": 9, "message": message(document={"file_name": "x.pdf"})},
    {"update_id": 10, "callback_query": {**PRESS["callback_query"], "data": 42}},
])
def test_malformed_updates_are_refused(body: Any) -> None:
    with pytest.raises(BadUpdate):
        read(body)


def test_update_id() -> None:
    assert update_id(COMMAND) == 10000
    with pytest.raises(BadUpdate):
        update_id({"update_id": 1.5})
