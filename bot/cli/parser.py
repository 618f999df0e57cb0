"""argparse in Vietnamese: usage, section titles, -h and the error messages an operator meets.

argparse writes "usage:", "positional arguments", "options" and its errors in English; the
operators of dvbot read Vietnamese, so the parser says the same things in their language.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from typing import Any, NoReturn

# argparse's messages (Python 3.11-3.13) and their Vietnamese wording.
_ERRORS = (
    (r"the following arguments are required: (.*)", r"thiếu tham số bắt buộc: \1"),
    (r"argument (.*?): invalid choice: (.*?) \(choose from (.*)\)",
     r"\1: không có lựa chọn \2 (chọn một trong: \3)"),
    (r"argument (.*?): invalid int value: (.*)", r"\1: \2 không phải số nguyên"),
    (r"argument (.*?): invalid float value: (.*)", r"\1: \2 không phải số"),
    (r"argument (.*?): invalid (\w+) value: (.*)", r"\1: giá trị \3 không hợp lệ"),
    (r"argument (.*?): expected one argument", r"\1: cần một giá trị"),
    (r"argument (.*?): expected at least one argument", r"\1: cần ít nhất một giá trị"),
    (r"argument (.*?): not allowed with argument (.*)", r"\1: không dùng cùng \2"),
    (r"unrecognized arguments: (.*)", r"không hiểu tham số: \1"),
    (r"ambiguous option: (.*?) could match (.*)", r"tùy chọn \1 không rõ, có thể là \2"),
    (r"one of the arguments (.*) is required", r"cần một trong các tham số \1"),
)


def translate(message: str) -> str:
    """argparse's English error as Vietnamese (unknown ones are kept as they are)."""
    for pattern, replacement in _ERRORS:
        translated, count = re.subn(f"^{pattern}$", replacement, message)
        if count:
            return translated
    return message


# Placeholders shown in usage lines, by argument name.
_METAVARS = {"file": "TỆP", "out": "TỆP", "unit": "ĐƠN_VỊ", "uses": "SỐ_LƯỢT",
             "days": "SỐ_NGÀY", "member": "MÃ_THÀNH_VIÊN", "code": "MÃ_MỜI", "dir": "THƯ_MỤC"}


class VnHelpFormatter(argparse.HelpFormatter):
    """'Cách dùng:' instead of 'usage:'."""

    def add_usage(self, usage: str | None, actions: Iterable[argparse.Action],
                  groups: Iterable[argparse._MutuallyExclusiveGroup],
                  prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, "Cách dùng: " if prefix is None else prefix)


class VnArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose every line a person sees is Vietnamese (subcommands too)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", VnHelpFormatter)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = "tham số"
        self._optionals.title = "tùy chọn"
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS,
                          help="xem hướng dẫn này rồi thoát")

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        """As argparse's, with a Vietnamese placeholder for the value (ĐƠN_VỊ, not UNIT)."""
        name = (args[-1] if args else "").lstrip("-").replace("-", "_")
        if name in _METAVARS and "metavar" not in kwargs and "choices" not in kwargs \
                and kwargs.get("action") in (None, "store"):
            kwargs["metavar"] = _METAVARS[name]
        return super().add_argument(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """One usage line, then the reason in Vietnamese; exit code 2 as argparse does."""
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: lỗi: {translate(message)}\n")
