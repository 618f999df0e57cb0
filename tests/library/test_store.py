"""Import into Redis: idempotent, changed files update, same số hiệu never duplicates,
problems refuse the whole import; acknowledgements and quiz scores."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.deps import Deps
from bot.library.importer import ContentError
from bot.library.models import Directive
from tests.conftest import make_member
from tests.library.helpers import directive, import_folder, import_shipped, material, write


async def test_import_is_idempotent_and_updates_changed_files(deps: Deps, tmp_path: Path,
                                                              clock: object) -> None:
    first = await import_shipped(deps)
    assert first.added >= 14 and first.updated == 0
    version = await deps.redis.get("dv:{lib}:ver")
    again = await import_shipped(deps)
    assert (again.added, again.updated, again.unchanged) == (0, 0, first.added)
    assert await deps.redis.get("dv:{lib}:ver") == version  # nothing written at all

    write(tmp_path, "directives/a.md", directive("25-NQ/TW", title="Tiêu đề đã sửa lại",
                                                 issued="2013-06-03"))
    changed = await import_folder(deps, tmp_path)
    assert (changed.added, changed.updated) == (0, 1)
    library = await deps.library.snapshot()
    assert library.entries["25-nq-tw"].title == "Tiêu đề đã sửa lại"
    assert len([e for e in library.entries.values() if e.so_hieu == "25-NQ/TW"]) == 1
    record = await deps.library.get("25-nq-tw")
    assert record is not None and record.origin == "file:directives/a.md"


async def test_a_broken_library_writes_nothing(deps: Deps, tmp_path: Path) -> None:
    write(tmp_path, "directives/a.md", directive())
    write(tmp_path, "directives/b.md", directive("13-NQ/ĐU", extra="audience: khong-co"))
    write(tmp_path, "materials/bad.md", material(topic="x"))
    with pytest.raises(ContentError) as caught:
        await import_folder(deps, tmp_path)
    assert any("materials/bad.md: topic" in p for p in caught.value.problems)
    assert any("directives/b.md: audience: không có đơn vị 'khong-co'" in p
               for p in caught.value.problems)
    assert await deps.redis.exists("dv:{lib}:catalog") == 0


async def test_attachments_are_stored_once_by_hash(deps: Deps, tmp_path: Path) -> None:
    write(tmp_path, "directives/a.md", directive(extra="attachment: files/a.pdf"))
    (tmp_path / "directives/files").mkdir()
    (tmp_path / "directives/files/a.pdf").write_bytes(b"%PDF-1.4 toan van")
    await import_folder(deps, tmp_path)
    await import_folder(deps, tmp_path)
    record = await deps.library.get("12-nq-du")
    assert record is not None and isinstance(record.doc, Directive)
    stored = record.doc.attachment
    assert stored is not None and stored.filename == "a.pdf" and stored.mime == "application/pdf"
    path = deps.library.files.path(stored)
    assert path.read_bytes() == b"%PDF-1.4 toan van"
    assert len(list(path.parent.iterdir())) == 1


async def test_publishing_the_same_so_hieu_updates(deps: Deps) -> None:
    doc = Directive(so_hieu="12-NQ/ĐU", issuer="Đảng ủy", issued="2024-01-02",  # type: ignore[arg-type]
                    title="Bản đầu tiên", summary="Tóm tắt bản đầu tiên.", audience="dbcs-a")
    assert await deps.library.save(doc, origin="chat:1", now=deps.clock()) == "added"
    same = Directive(so_hieu="12-nq/du", issuer="Đảng ủy", issued="2024-01-02",  # type: ignore[arg-type]
                     title="Bản thứ hai", summary="Tóm tắt bản thứ hai.", audience="dbcs-a")
    assert await deps.library.save(same, origin="chat:1", now=deps.clock()) == "updated"
    assert await deps.library.save(same, origin="chat:1", now=deps.clock()) == "unchanged"
    assert list((await deps.library.snapshot()).entries) == ["12-nq-du"]
    # The version moves only when the content changes (publication notices are keyed by it).
    record = await deps.library.get("12-nq-du")
    assert record is not None and record.version == 2
    assert (await deps.library.snapshot()).entries["12-nq-du"].version == 2


async def test_acknowledgement_counts_once_per_member(deps: Deps) -> None:
    await import_shipped(deps)
    member = await make_member(deps, user_id="m1", unit="cb-a1")
    assert await deps.library.ack("25-nq-tw", member.id, member.unit) is True
    assert await deps.library.ack("25-nq-tw", member.id, member.unit) is False
    assert await deps.redis.hget("dv:{doc:25-nq-tw}:ackunits", "cb-a1") == "1"
    assert await deps.library.acked(member.id) == {"25-nq-tw"}
    assert await deps.library.has_acked("25-nq-tw", member.id)


async def test_best_quiz_score_is_kept(deps: Deps) -> None:
    assert await deps.library.record_quiz("7", "dan-van-kheo", 3) == 3
    assert await deps.library.record_quiz("7", "dan-van-kheo", 1) == 3
    assert await deps.library.record_quiz("7", "dan-van-kheo", 5) == 5
    assert await deps.library.quiz_scores("7") == {"dan-van-kheo": 5}
