"""Reading a backup file before anything is written: the header, the trailer, the checksums and
every record, so a damaged or edited file is refused as a whole, with the line at fault named
in plain Vietnamese (never a traceback)."""

from __future__ import annotations

import hmac
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.ops.backup import FORMAT, VERSION, BackupError, Digest

_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
TYPES = ("string", "hash", "list", "set", "zset", "stream")


@dataclass(frozen=True)
class Backup:
    """A checked backup: its header and its records (each with its line number)."""

    header: dict[str, Any]
    records: list[dict[str, Any]]
    signed: bool  # False when the signature was not checked (--ignore-signature)


def read(lines: Iterable[str], prefix: str, key: bytes, *,
         ignore_signature: bool = False) -> Backup:
    """Parse, verify and validate a whole file; BackupError names the first problem."""
    header, records, trailer, body = _parse(lines)
    if header.get("prefix") != prefix:
        raise BackupError(f"tệp sao lưu của tiền tố {header.get('prefix')!r}, không phải "
                          f"{prefix!r}")
    signed = _verify(header, trailer, body, key, ignore_signature)
    seen: set[str] = set()
    for number, record in records:
        check_record(number, record, prefix)
        if record["key"] in seen:
            raise BackupError(f"dòng {number}: khóa {record['key']} xuất hiện hai lần")
        seen.add(record["key"])
    return Backup(header, [record for _number, record in records], signed)


def _parse(lines: Iterable[str]) -> tuple[dict[str, Any], list[tuple[int, dict[str, Any]]],
                                          dict[str, Any], list[str]]:
    """Header, numbered records, trailer, and the lines the checksums cover."""
    records: list[tuple[int, dict[str, Any]]] = []
    header: dict[str, Any] | None = None
    trailer: dict[str, Any] | None = None
    body: list[str] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        item = _json(number, line)
        if header is None:
            header = _header(item)
        elif trailer is not None:
            raise BackupError(f"dòng {number} nằm sau dòng kết thúc")
        elif item.get("end") is True:
            trailer = item
            continue
        else:
            records.append((number, item))
        body.append(line)
    if header is None or trailer is None or trailer.get("keys") != len(records):
        raise BackupError("tệp sao lưu bị cắt dở (thiếu dòng kết thúc hoặc thiếu khóa)")
    return header, records, trailer, body


def _json(number: int, line: str) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        raise BackupError(f"dòng {number} không phải JSON") from None
    if not isinstance(item, dict):
        raise BackupError(f"dòng {number} không phải một bản ghi (cần một đối tượng JSON)")
    return item


def _header(item: dict[str, Any]) -> dict[str, Any]:
    if item.get("format") != FORMAT:
        raise BackupError("không phải tệp sao lưu dvbot")
    if item.get("version") not in (1, VERSION):
        raise BackupError(f"phiên bản tệp {item.get('version')} không được hỗ trợ "
                          f"(cần {VERSION})")
    return item


def _verify(header: dict[str, Any], trailer: dict[str, Any], body: list[str], key: bytes,
            ignore_signature: bool) -> bool:
    """Check the SHA-256 (always) and the HMAC (unless told not to); True if signed."""
    if header.get("version") == 1:
        if not ignore_signature:
            raise BackupError("tệp sao lưu phiên bản 1 không có chữ ký nên không kiểm tra được "
                              "có bị sửa hay không; nếu chắc chắn tệp nguyên vẹn, chạy lại "
                              "với --ignore-signature")
        return False
    digest = Digest(key)
    for line in body:
        digest.add(line)
    if not hmac.compare_digest(str(trailer.get("sha256", "")), digest.sha256()):
        raise BackupError("tệp sao lưu bị hỏng hoặc bị sửa: mã kiểm tra SHA-256 không khớp")
    if ignore_signature:
        return False
    if not hmac.compare_digest(str(trailer.get("hmac", "")), digest.hmac()):
        raise BackupError("chữ ký của tệp sao lưu không khớp: tệp đã bị sửa sau khi tạo, hoặc "
                          "được tạo với bí mật triển khai khác (DVBOT_SURVEY_SECRET hoặc tệp "
                          "survey-secret.key trong thư mục dữ liệu)")
    return True


def check_record(number: int, record: dict[str, Any], prefix: str) -> None:
    """Refuse a record whose key, type, TTL or value the store could not take as it is."""
    key, kind, pttl = record.get("key"), record.get("type"), record.get("pttl")
    if not isinstance(key, str) or not key.startswith(f"{prefix}:"):
        raise BackupError(f"dòng {number}: khóa {key!r} không thuộc tiền tố {prefix}:")
    where = f"dòng {number} (khóa {key})"
    if kind not in TYPES:
        raise BackupError(f"{where}: kiểu {kind!r} không hợp lệ")
    if not isinstance(pttl, int) or isinstance(pttl, bool) or (pttl != -1 and pttl <= 0):
        raise BackupError(f"{where}: thời hạn pttl {pttl!r} không hợp lệ (cần -1 hoặc số "
                          "mili giây dương)")
    if "value" not in record:
        raise BackupError(f"{where}: thiếu giá trị")
    problem = _value_problem(str(kind), record["value"])
    if problem:
        raise BackupError(f"{where}: {problem}")


def _value_problem(kind: str, value: Any) -> str | None:
    if kind == "string":
        return None if isinstance(value, str) else "giá trị phải là một chuỗi"
    if kind == "hash":
        ok = isinstance(value, dict) and bool(value) and all(
            isinstance(v, str) for v in value.values())
        return None if ok else "giá trị phải là bảng trường → chuỗi, không rỗng"
    if kind in ("list", "set"):
        ok = isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
        return None if ok else "giá trị phải là danh sách chuỗi, không rỗng"
    if kind == "zset":
        ok = isinstance(value, list) and bool(value) and all(_scored(v) for v in value)
        return None if ok else "giá trị phải là danh sách cặp [phần tử, điểm số], không rỗng"
    return _stream_problem(value)


def _stream_problem(value: Any) -> str | None:
    if not isinstance(value, dict) or not _is_id(value.get("last_id")):
        return "luồng thiếu last_id hợp lệ"
    entries, groups = value.get("entries"), value.get("groups")
    if not isinstance(entries, list) or not isinstance(groups, list):
        return "luồng thiếu danh sách entries hoặc groups"
    previous = (0, 0)
    for entry in entries:
        if not (isinstance(entry, list) and len(entry) == 2 and _is_id(entry[0])
                and isinstance(entry[1], dict) and entry[1]
                and all(isinstance(v, str) for v in entry[1].values())):
            return "luồng có bản ghi không hợp lệ"
        current = _id(entry[0])
        if current <= previous or current > _id(value["last_id"]):
            return "mã bản ghi của luồng không tăng dần hoặc vượt last_id"
        previous = current
    for group in groups:
        if not (isinstance(group, dict) and isinstance(group.get("name"), str)
                and _is_id(group.get("last_id"))
                and (group.get("entries_read") is None or _is_int(group.get("entries_read")))
                and isinstance(group.get("pending"), list)
                and all(_pending(p) for p in group["pending"])):
            return "luồng có nhóm tiêu thụ không hợp lệ"
    return None


def _pending(item: Any) -> bool:
    return (isinstance(item, list) and len(item) == 4 and _is_id(item[0])
            and isinstance(item[1], str) and _is_int(item[2]) and item[2] >= 0
            and _is_int(item[3]) and item[3] >= 0)


def _scored(item: Any) -> bool:
    return (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
            and isinstance(item[1], int | float) and not isinstance(item[1], bool)
            and not math.isnan(item[1]))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and _ID.match(value) is not None


def _id(value: str) -> tuple[int, int]:
    millis, seq = value.split("-")
    return int(millis), int(seq)
