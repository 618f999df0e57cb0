"""The organization tree: import from YAML, cached snapshot, subtree questions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import yaml
from pydantic import ValidationError
from redis.asyncio import Redis

from bot import pydantic_vi
from bot.org.models import KIND_ID, Unit, UnitKind
from bot.storage.keys import Keys


class UnitImportError(ValueError):
    """The units file is invalid; nothing was written. `problems` lists every issue found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class OrgTree:
    """An immutable snapshot of the units, with parent/child lookups."""

    units: dict[str, Unit]
    children: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, units: Iterable[Unit]) -> OrgTree:
        """Build a snapshot, children ordered by name for stable menus."""
        by_id = {unit.id: unit for unit in units}
        kids: dict[str, list[str]] = {}
        for unit in sorted(by_id.values(), key=lambda u: u.name):
            if unit.parent is not None:
                kids.setdefault(unit.parent, []).append(unit.id)
        return cls(by_id, {k: tuple(v) for k, v in kids.items()})

    def get(self, unit_id: str) -> Unit | None:
        """The unit, or None if it does not exist."""
        return self.units.get(unit_id)

    def ancestors(self, unit_id: str) -> list[str]:
        """The unit itself, then its parent, up to the root."""
        chain: list[str] = []
        current: str | None = unit_id
        while current is not None and current in self.units and current not in chain:
            chain.append(current)
            current = self.units[current].parent
        return chain

    def within(self, unit_id: str, root_id: str) -> bool:
        """True if `unit_id` is `root_id` or below it."""
        return root_id in self.ancestors(unit_id)

    def subtree(self, root_id: str) -> list[str]:
        """`root_id` and every unit below it, depth first."""
        out: list[str] = []
        stack = [root_id] if root_id in self.units else []
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(reversed(self.children.get(current, ())))
        return out

    def roots(self) -> list[str]:
        """Units without a parent."""
        return sorted((u.id for u in self.units.values() if u.parent is None),
                      key=lambda i: self.units[i].name)

    def path(self, unit_id: str) -> str:
        """Human-readable path from the top, e.g. 'Đảng bộ Khối › Đảng bộ Sở › Chi bộ 1'."""
        return " › ".join(self.units[u].name for u in reversed(self.ancestors(unit_id)))


def group_of(tree: OrgTree, home: str, target: str) -> str:
    """The child of `target` on the way down to `home` (or `target` itself): the row of a
    report on `target` that a member of `home` is counted in."""
    chain = tree.ancestors(home)
    index = chain.index(target) if target in chain else 0
    return chain[index - 1] if index > 0 else target


def parse_units_yaml(text: str, *, source: str = "tệp") -> list[Unit]:
    """Parse and validate a units file: a list under `units:` of {id, name, kind, parent}, and
    the kinds it uses with their names under `kinds:` (the built-in ones need no declaring)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UnitImportError([f"{source}: YAML sai cú pháp: {exc}"]) from None
    raw = data.get("units") if isinstance(data, dict) else data
    if not isinstance(raw, list) or not raw:
        raise UnitImportError([f"{source}: cần một danh sách đơn vị dưới khóa `units:`"])
    problems: list[str] = []
    kinds = _kinds(data.get("kinds") if isinstance(data, dict) else None, source, problems)
    units: list[Unit] = []
    for index, item in enumerate(raw, start=1):
        try:
            unit = Unit.model_validate(item)
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"])
                problems.append(
                    f"{source}: đơn vị thứ {index} ({where}): {pydantic_vi.message(err)}")
            continue
        if unit.kind not in kinds:
            problems.append(f"{source}: đơn vị thứ {index} (kind): loại {unit.kind!r} chưa khai "
                            "báo trong `kinds:`")
            continue
        units.append(unit.model_copy(update={"kind_name": kinds[unit.kind]}))
    if problems:
        raise UnitImportError(problems)
    return units


def _kinds(raw: object, source: str, problems: list[str]) -> dict[str, str]:
    """The file's `kinds:` (id -> name) over the built-in ones (whose name is kept as '')."""
    kinds = {k.value: "" for k in UnitKind}
    if raw is None:
        return kinds
    if not isinstance(raw, dict):
        problems.append(f"{source}: `kinds:` cần các cặp `mã: tên loại đơn vị`")
        return kinds
    for kind_id, name in raw.items():
        if not KIND_ID.match(str(kind_id)) or not isinstance(name, str) or not name.strip():
            problems.append(f"{source}: kinds: {kind_id!r} cần mã a–z, 0–9, _ (2–32 ký tự) và "
                            "tên loại đơn vị")
            continue
        kinds[str(kind_id)] = name.strip()
    return kinds


def check_tree(existing: dict[str, Unit], incoming: list[Unit]) -> dict[str, Unit]:
    """Merge `incoming` over `existing`; reject duplicates, unknown parents and cycles."""
    problems: list[str] = []
    seen: set[str] = set()
    for unit in incoming:
        if unit.id in seen:
            problems.append(f"mã đơn vị {unit.id!r} bị lặp lại")
        seen.add(unit.id)
    merged = {**existing, **{u.id: u for u in incoming}}
    for unit in incoming:
        if unit.parent is not None and unit.parent not in merged:
            problems.append(f"đơn vị {unit.id!r}: đơn vị cấp trên {unit.parent!r} không tồn tại")
    for unit in incoming:
        chain: list[str] = []
        current: str | None = unit.id
        while current is not None and current in merged:
            if current in chain:
                problems.append(f"vòng lặp cấp trên: {' → '.join([*chain, current])}")
                break
            chain.append(current)
            current = merged[current].parent
    if problems:
        raise UnitImportError(sorted(set(problems)))
    return merged


class UnitStore:
    """Units in Redis, with a per-process snapshot refreshed when the version counter moves."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._cached: tuple[int, OrgTree] | None = None

    async def tree(self) -> OrgTree:
        """Current snapshot; one GET per call, a full reload only after a change."""
        version = int(await self._redis.get(self._keys.units_version()) or 0)
        if self._cached is None or self._cached[0] != version:
            raw = await self._redis.hgetall(self._keys.units())
            units = [Unit.model_validate_json(value) for value in raw.values()]
            self._cached = (version, OrgTree.of(units))
        return self._cached[1]

    async def tree_at(self, version: int) -> OrgTree:
        """The snapshot of `version`, read with the account's state: no round trip unless
        the tree changed since this process last loaded it."""
        if self._cached is not None and self._cached[0] == version:
            return self._cached[1]
        return await self.tree()

    async def import_units(self, units: list[Unit]) -> tuple[int, int]:
        """Validate against what is stored, then write all in one transaction.

        Returns (added, changed). Importing the same file again changes nothing.
        """
        current = (await self.tree()).units
        check_tree(current, units)
        changed = [u for u in units if current.get(u.id) != u]
        added = sum(1 for u in changed if u.id not in current)
        if changed:
            # Not one MULTI: the two keys live in different cluster slots. Writing the units
            # before bumping the version is enough, because `tree()` reads the version first:
            # a snapshot is never older than the version it is cached under.
            await self._redis.hset(self._keys.units(),
                                   mapping={u.id: u.model_dump_json() for u in changed})
            await self._redis.incr(self._keys.units_version())
        return added, len(changed) - added
