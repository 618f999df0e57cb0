"""Pydantic's validation messages in Vietnamese, for operators and content editors.

Pydantic words its errors in English ("Input should be a valid integer"); every place that shows
one to a person (settings, units file, content files, survey templates) goes through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_core import ErrorDetails

_FIXED = {
    "missing": "thiếu trường bắt buộc",
    "extra_forbidden": "trường này không có trong định dạng (viết sai tên?)",
    "int_parsing": "phải là số nguyên",
    "int_type": "phải là số nguyên",
    "int_from_float": "phải là số nguyên",
    "float_parsing": "phải là số",
    "float_type": "phải là số",
    "bool_parsing": "phải là true hoặc false",
    "bool_type": "phải là true hoặc false",
    "string_type": "phải là một đoạn chữ",
    "list_type": "phải là một danh sách",
    "dict_type": "phải là một nhóm trường (khóa: giá trị)",
    "model_type": "phải là một nhóm trường (khóa: giá trị)",
    "string_pattern_mismatch": "sai định dạng",
    "date_parsing": "ngày không hợp lệ",
    "date_from_datetime_parsing": "ngày không hợp lệ",
    "date_type": "ngày không hợp lệ",
    "datetime_parsing": "thời điểm không hợp lệ",
    "datetime_type": "thời điểm không hợp lệ",
    "json_invalid": "không phải JSON hợp lệ",
    "url_parsing": "không phải địa chỉ URL hợp lệ",
    "url_scheme": "địa chỉ URL có giao thức không được phép",
}


def message(err: ErrorDetails | Mapping[str, Any]) -> str:
    """What is wrong with one value, in Vietnamese (never pydantic's English)."""
    kind = str(err.get("type", ""))
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", "giá trị không hợp lệ"))
    bounded = _bounded(kind, ctx)
    if bounded:
        return bounded
    if kind in ("literal_error", "enum"):
        return f"phải là một trong các giá trị: {ctx.get('expected', '')}".replace(" or ", ", ")
    return _FIXED.get(kind, "giá trị không hợp lệ")


def _bounded(kind: str, ctx: Mapping[str, Any]) -> str | None:
    limits = {
        "greater_than_equal": ("phải từ {} trở lên", "ge"),
        "greater_than": ("phải lớn hơn {}", "gt"),
        "less_than_equal": ("phải không quá {}", "le"),
        "less_than": ("phải nhỏ hơn {}", "lt"),
        "string_too_short": ("quá ngắn (tối thiểu {} ký tự)", "min_length"),
        "string_too_long": ("quá dài (tối đa {} ký tự)", "max_length"),
        "too_short": ("cần ít nhất {} mục", "min_length"),
        "too_long": ("nhiều nhất {} mục", "max_length"),
    }
    if kind not in limits:
        return None
    template, key = limits[kind]
    return template.format(_number(ctx.get(key)))


def _number(value: object) -> str:
    """The limit as an operator would type it in a setting: 65535, 0.5 (never 65.535)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
