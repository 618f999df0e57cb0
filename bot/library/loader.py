"""Read `content/directives/*.md` and `content/materials/*.md` and validate every file.

Every problem is collected (file and field named) instead of stopping at the first, so one run
of `dvbot content check` shows everything an editor has to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from bot import pydantic_vi
from bot.library.files import DEFAULT_UPLOAD_LIMIT, describe, human_size
from bot.library.identity import fits_with_year
from bot.library.markdown import FrontMatterError, split_front_matter
from bot.library.models import Directive, Material
from bot.library.sohieu import parse
from bot.library.status import check_links


class _TextDates(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so pydantic reports a bad one against its field
    (PyYAML would raise on 2024-13-01 before validation could name the field)."""


_TextDates.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

FOLDERS: dict[str, type[Directive] | type[Material]] = {
    "directives": Directive, "materials": Material}


@dataclass(frozen=True)
class Loaded:
    """One valid content file."""

    doc: Directive | Material
    origin: str  # path relative to the content folder, e.g. "directives/25-nq-tw.md"
    attachment: Path | None = None  # the file to copy into the file store on import


@dataclass
class LoadResult:
    """Valid documents and every problem found."""

    docs: list[Loaded] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def count(self, kind: type[Directive] | type[Material]) -> int:
        """How many valid documents of one kind."""
        return sum(1 for loaded in self.docs if isinstance(loaded.doc, kind))


def load_library(root: Path, *, attachment_limit: int = DEFAULT_UPLOAD_LIMIT) -> LoadResult:
    """Parse and validate the whole library under `root`."""
    result = LoadResult()
    if not root.is_dir():
        result.problems.append(f"{root}: không có thư mục nội dung")
        return result
    seen: dict[str, str] = {}
    for folder, model in FOLDERS.items():
        for path in sorted((root / folder).glob("*.md")):
            origin = path.relative_to(root).as_posix()
            loaded = _load_file(path, origin, model, root, attachment_limit, result.problems)
            if loaded is None:
                continue
            key = _identity(loaded.doc)
            if key in seen:
                result.problems.append(f"{origin}: trùng mã {loaded.doc.id!r} với {seen[key]} "
                                       "(cùng số hiệu và năm ban hành, hoặc cùng tên tệp)")
                continue
            seen[key] = origin
            result.docs.append(loaded)
    result.docs = _tell_terms_apart(result.docs, result.problems)
    result.problems += check_links((loaded.origin, loaded.doc) for loaded in result.docs)
    return result


def _identity(doc: Directive | Material) -> str:
    """One document per số hiệu and year (numbering restarts each term), per material id."""
    if isinstance(doc, Directive):
        return f"{parse(doc.so_hieu).doc_id}@{doc.issued.year}"
    return doc.id


def _tell_terms_apart(docs: list[Loaded], problems: list[str]) -> list[Loaded]:
    """Directives sharing a số hiệu: the oldest keeps the bare id, later ones get the year
    (the store keeps whatever id a document already has; see LibraryStore.place)."""
    groups: dict[str, list[Loaded]] = {}
    for loaded in docs:
        if isinstance(loaded.doc, Directive):
            groups.setdefault(parse(loaded.doc.so_hieu).doc_id, []).append(loaded)
    later: dict[str, Loaded] = {}
    for bare, group in groups.items():
        if len(group) < 2:
            continue
        if not fits_with_year(bare):
            problems += [f"{g.origin}: so_hieu: số hiệu dùng chung với văn bản năm khác nhưng "
                         "quá dài để phân biệt theo năm ban hành" for g in group]
            continue
        oldest = min(group, key=lambda g: g.doc.issued)  # type: ignore[union-attr]
        later |= {g.origin: replace(g, doc=g.doc.model_copy(update={"id_year": True}))
                  for g in group if g is not oldest}
    return [later.get(loaded.origin, loaded) for loaded in docs]


def _load_file(path: Path, origin: str, model: type[Directive] | type[Material], root: Path,
               limit: int, problems: list[str]) -> Loaded | None:
    try:
        front, body = split_front_matter(path.read_text(encoding="utf-8"))
        data = yaml.load(front, Loader=_TextDates) if front.strip() else None  # noqa: S506
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{origin}: không đọc được tệp ({exc})")
        return None
    except FrontMatterError as exc:
        problems.append(f"{origin}: {exc}")
        return None
    except yaml.YAMLError as exc:
        problems.append(f"{origin}: YAML sai cú pháp: {' '.join(str(exc).split())}")
        return None
    if not isinstance(data, dict):
        problems.append(f"{origin}: phần khai báo phải là các cặp `tên: giá trị`")
        return None
    data = {**data, "body": body}
    if model is Material:
        data["id"] = path.stem
    before = len(problems)
    attachment = _attachment(data, path, root, limit, origin, problems)
    try:
        doc = model.model_validate(data)
    except ValidationError as exc:
        problems.extend(f"{origin}: {line}" for line in explain(exc))
        return None
    return Loaded(doc, origin, attachment) if len(problems) == before else None


def _attachment(data: dict[str, Any], path: Path, root: Path, limit: int, origin: str,
                problems: list[str]) -> Path | None:
    """Resolve `attachment: files/x.pdf` (relative to the Markdown file) to a stored-file record."""
    raw = data.get("attachment")
    if raw is None:
        return None
    source = (path.parent / str(raw)).resolve()
    data.pop("attachment")
    if not source.is_relative_to(root.resolve()):
        problems.append(f"{origin}: attachment: tệp {raw!r} nằm ngoài thư mục nội dung")
    elif not source.is_file():
        problems.append(f"{origin}: attachment: không tìm thấy tệp {raw!r}")
    elif source.stat().st_size > limit:
        problems.append(f"{origin}: attachment: tệp {raw!r} nặng "
                        f"{human_size(source.stat().st_size)}, vượt giới hạn {human_size(limit)}")
    elif source.stat().st_size == 0:
        problems.append(f"{origin}: attachment: tệp {raw!r} rỗng")
    else:
        data["attachment"] = describe(source).model_dump()
        return source
    return None


def explain(exc: ValidationError) -> list[str]:
    """'field: what is wrong', in Vietnamese, for each validation error."""
    # A check across fields (a model validator) has no location: its message names the field.
    return [f"{_where(err)}: {_message(err)}" if err["loc"] else _message(err)
            for err in exc.errors()]


def _where(err: ErrorDetails) -> str:
    parts = [str(p + 1) if isinstance(p, int) else str(p) for p in err["loc"]]
    return ".".join(parts) or "(tệp)"


_DATE = "ngày không hợp lệ (viết dạng 2013-06-03 hoặc 03/6/2013)"


def _message(err: ErrorDetails) -> str:
    """Vietnamese wording for the validation errors editors meet."""
    if err["type"] in ("date_from_datetime_parsing", "date_parsing", "date_type"):
        return _DATE
    return pydantic_vi.message(err)
