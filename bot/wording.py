"""Shared Vietnamese wording used outside any single flow (dispatcher, channels, errors)."""

from __future__ import annotations

NOT_REGISTERED = (
    "Đồng chí chưa đăng ký sử dụng bot.\n"
    "Xin đồng chí mở đường dẫn mời do cán bộ chi bộ gửi, hoặc gõ <code>/start MÃ-MỜI</code>. "
    "Nếu chưa có mã mời, đồng chí liên hệ đồng chí bí thư chi bộ hoặc cán bộ phụ trách."
)
BAD_BUTTON = (
    "Nút bấm này không hợp lệ hoặc đã hết hiệu lực. Đồng chí gõ /menu để mở lại menu chính."
)
UNKNOWN_COMMAND = "Không có lệnh {command}. Đồng chí gõ /help để xem các lệnh có thể dùng."
TOO_LONG = (
    "Tin nhắn dài {length} ký tự, vượt giới hạn {limit} ký tự. "
    "Đồng chí vui lòng rút gọn rồi gửi lại; thông tin đang nhập vẫn được giữ nguyên."
)
UNEXPECTED_FILE = (
    "Lúc này bot chưa cần tệp hay ảnh. Đồng chí gõ /menu để chọn chức năng cần dùng."
)
UNSUPPORTED = "Bot chỉ hiểu tin nhắn chữ và các nút bấm. Đồng chí gõ /menu để mở menu chính."
PICK_NUMBER = "Xin đồng chí trả lời bằng một số từ 1 đến {count}."
NO_OPTIONS = ("Tin nhắn gần nhất của bot không có lựa chọn đánh số, nên bot chưa biết số này "
              "chọn gì. Đồng chí gõ /menu để mở menu chính.")


def pick_number(count: int) -> str:
    """Asking for an option number; with one option, naming it ("từ 1 đến 1" reads as a bug)."""
    if count == 1:
        return "Xin đồng chí gõ số 1 để chọn."
    return PICK_NUMBER.format(count=count)


def pick_prefix(count: int) -> str:
    """Asking for #1, #2… on a screen that takes text (plain digits are the text there)."""
    which = "#1" if count == 1 else f"#1 đến #{count}"
    return f"Xin đồng chí gõ {which} để chọn (số không có dấu # là nội dung)."


BUSY = "Tin nhắn trước của đồng chí vẫn đang được xử lý. Đồng chí vui lòng gửi lại sau giây lát."
STORE_DOWN = (
    "Hệ thống lưu trữ đang tạm thời gián đoạn nên bot chưa ghi nhận được tin nhắn này. "
    "Đồng chí vui lòng gửi lại sau ít phút. Xin lỗi đồng chí vì sự bất tiện."
)
INTERNAL_ERROR = (
    "Xin lỗi đồng chí, bot gặp lỗi khi xử lý yêu cầu này. Sự cố đã được ghi lại để khắc phục; "
    "đồng chí vui lòng thử lại hoặc gõ /menu."
)
FORBIDDEN = "Đồng chí không có quyền thực hiện thao tác này."
