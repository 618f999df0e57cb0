"""Units tree: YAML import is all-or-nothing and idempotent; subtree questions are right."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from bot.deps import Deps
from bot.org.tree import UnitImportError, parse_units_yaml

GOOD = """
units:
  - {id: k, name: Đảng bộ Khối K, kind: dang_bo_khoi}
  - {id: a, name: Đảng bộ A, kind: dang_bo_co_so, parent: k}
  - {id: a1, name: Chi bộ A1, kind: chi_bo, parent: a}
"""


async def test_import_is_idempotent(deps: Deps) -> None:
    units = parse_units_yaml(GOOD)
    assert await deps.units.import_units(units) == (3, 0)
    assert await deps.units.import_units(units) == (0, 0)
    tree = await deps.units.tree()
    assert tree.within("a1", "k") and not tree.within("k", "a1")


async def test_changed_unit_is_updated_not_duplicated(deps: Deps) -> None:
    await deps.units.import_units(parse_units_yaml(GOOD))
    renamed = GOOD.replace("Chi bộ A1", "Chi bộ A1 (mới)")
    assert await deps.units.import_units(parse_units_yaml(renamed)) == (0, 1)
    assert (await deps.units.tree()).units["a1"].name == "Chi bộ A1 (mới)"


async def test_unknown_parent_writes_nothing(deps: Deps, redis: Redis) -> None:
    before = await redis.hlen(deps.keys.units())
    bad = GOOD + "  - {id: b1, name: Chi bộ B1, parent: nowhere}\n"
    with pytest.raises(UnitImportError) as err:
        await deps.units.import_units(parse_units_yaml(bad))
    assert any("nowhere" in p for p in err.value.problems)
    assert await redis.hlen(deps.keys.units()) == before
    assert (await deps.units.tree()).get("a") is None


async def test_cycle_is_refused(deps: Deps) -> None:
    cyclic = """
units:
  - {id: x, name: Đơn vị X, parent: y}
  - {id: y, name: Đơn vị Y, parent: x}
"""
    with pytest.raises(UnitImportError, match="vòng lặp"):
        await deps.units.import_units(parse_units_yaml(cyclic))


async def test_reparenting_into_own_subtree_is_a_cycle(deps: Deps) -> None:
    """A later import must not hang `khoi` under one of its own descendants."""
    with pytest.raises(UnitImportError, match="vòng lặp"):
        await deps.units.import_units(parse_units_yaml(
            "units:\n  - {id: khoi, name: Khối, parent: cb-a1}\n"))


def test_every_problem_is_listed() -> None:
    bad = """
units:
  - {id: "Bad Id", name: Đơn vị X}
  - {id: ok, name: ""}
  - {id: ok2, name: Tên hợp lệ, color: red}
"""
    with pytest.raises(UnitImportError) as err:
        parse_units_yaml(bad, source="units.yaml")
    assert len(err.value.problems) == 3
    assert all(p.startswith("units.yaml: đơn vị thứ") for p in err.value.problems)


def test_yaml_syntax_error_is_reported() -> None:
    with pytest.raises(UnitImportError, match="YAML"):
        parse_units_yaml("units: [ {id: a")


async def test_subtree_and_path(deps: Deps) -> None:
    tree = await deps.units.tree()
    assert tree.subtree("dbcs-a") == ["dbcs-a", "cb-a1", "cb-a2"]
    assert tree.roots() == ["khoi"]
    assert tree.path("cb-b1") == "Đảng bộ Khối Thử nghiệm › Đảng bộ cơ sở B › Chi bộ B1"


async def test_other_workers_see_a_new_import(deps: Deps, redis: Redis) -> None:
    """The per-process snapshot reloads when another process bumps the version."""
    from bot.org.tree import UnitStore

    other = UnitStore(redis, deps.keys)
    assert (await other.tree()).get("a1") is None
    await deps.units.import_units(parse_units_yaml(GOOD))
    assert (await other.tree()).get("a1") is not None
