"""Unit kinds come from the units file: declared kinds and their names, the built-in ones,
stored units from before (kind without a name), the 2025 example file and its review route."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.deps import Deps
from bot.org.models import Unit
from bot.org.tree import OrgTree, UnitImportError, parse_units_yaml
from bot.proposals.levels import BadLevels, parse_levels, route_of

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "content" / "examples" / "units-tinh-2025.yaml"
DEMO = ROOT / "content" / "demo" / "units.yaml"


def test_declared_kinds_name_the_units() -> None:
    units = parse_units_yaml("""
kinds:
  dang_bo_cqd_tinh: Đảng bộ các cơ quan Đảng tỉnh
units:
  - {id: cqd, name: Đảng bộ các cơ quan Đảng tỉnh X, kind: dang_bo_cqd_tinh}
  - {id: a, name: Chi bộ A, kind: chi_bo_co_so, parent: cqd}
  - {id: b, name: Tổ B, parent: cqd}
""")
    labels = {u.id: u.kind_label for u in units}
    assert labels == {"cqd": "Đảng bộ các cơ quan Đảng tỉnh", "a": "Chi bộ cơ sở", "b": "Đơn vị"}


@pytest.mark.parametrize(("text", "words"), [
    ("units:\n  - {id: a, name: Đơn vị A, kind: dang_bo_moi}", "loại 'dang_bo_moi' chưa khai báo"),
    ("kinds: [x]\nunits:\n  - {id: a, name: Đơn vị A}", "`kinds:` cần các cặp"),
    ("kinds: {X-Y: Tên}\nunits:\n  - {id: a, name: Đơn vị A}", "kinds: 'X-Y' cần mã"),
    ("kinds: {abc: ''}\nunits:\n  - {id: a, name: Đơn vị A}", "kinds: 'abc' cần mã"),
])
def test_bad_kinds_are_named(text: str, words: str) -> None:
    with pytest.raises(UnitImportError) as caught:
        parse_units_yaml(text)
    assert any(words in p for p in caught.value.problems), caught.value.problems


async def test_units_stored_before_keep_their_kind(deps: Deps, redis: Redis) -> None:
    # JSON written by the enum-typed model: no kind_name.
    await redis.hset(deps.keys.units(), "old", '{"id":"old","name":"Đảng bộ Khối Cũ",'
                                               '"kind":"dang_bo_khoi","parent":null}')
    await redis.incr(deps.keys.units_version())
    tree = await deps.units.tree()
    assert tree.units["old"].kind == "dang_bo_khoi"
    assert tree.units["old"].kind_label == "Đảng bộ Khối"


async def test_the_2025_example_imports_and_routes_proposals(deps: Deps) -> None:
    units = parse_units_yaml(EXAMPLE.read_text(encoding="utf-8"), source=EXAMPLE.name)
    tree = OrgTree.of(units)
    assert tree.units["ubnd"].kind_label == "Đảng bộ Ủy ban nhân dân tỉnh"
    assert tree.units["xa-an-binh"].kind_label == "Đảng bộ xã, phường, đặc khu"
    assert "Khối" not in EXAMPLE.read_text(encoding="utf-8").split("units:")[1]
    levels = parse_levels("co_so,khoi")  # the default setting
    assert route_of(tree, "ubnd-snv-vp", levels) == ["ubnd-snv", "ubnd"]
    assert route_of(tree, "cqd-tgdv", levels) == ["cqd-tgdv", "cqd"]
    assert route_of(tree, "xa-an-binh-thon1", levels) == ["xa-an-binh"]
    assert parse_levels("co_so,dang_bo_cqd_tinh+dang_bo_ubnd_tinh")[1] == frozenset(
        {"dang_bo_cqd_tinh", "dang_bo_ubnd_tinh"})
    with pytest.raises(BadLevels):
        parse_levels("co_so,Khoi Moi")
    assert await deps.units.import_units(units) == (len(units), 0)


def test_the_demo_declares_its_kinds() -> None:
    units = {u.id: u for u in parse_units_yaml(DEMO.read_text(encoding="utf-8"))}
    assert units["khoi"].kind_label == "Đảng bộ Ủy ban nhân dân tỉnh"
    assert all(isinstance(u, Unit) for u in units.values())
