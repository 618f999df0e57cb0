"""The "Dân vận khéo" year around the proposals: the fields and criteria of the movement (from
`content/dan-van-kheo.yaml`), the models units register at the start of the year, and the units
that replicate (nhân rộng) a recognised model.

Registrations of a year live in one hash (`Keys.dvk_registrations`), replications of a model in
a hash beside the proposal (same hash tag). Values are JSON from the models below.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import uuid4

import yaml
from pydantic import BaseModel, Field, ValidationError
from redis.asyncio import Redis

from bot.org.tree import OrgTree
from bot.proposals.models import Kind
from bot.storage.keys import Keys

CONFIG_FILE = "dan-van-kheo.yaml"
ITEM_ID = re.compile(r"^[a-z][a-z0-9_]{1,23}$")


class Item(BaseModel):
    """One field (lĩnh vực) or criterion (tiêu chí)."""

    id: str = Field(pattern=ITEM_ID.pattern)
    name: str = Field(min_length=2, max_length=80)


class DvkConfig(BaseModel):
    """The movement's fields and the reviewing level's criteria."""

    fields: list[Item] = Field(min_length=1, max_length=12)
    criteria: list[Item] = Field(default_factory=list, max_length=10)

    def field_name(self, field_id: str) -> str | None:
        """The configured name of a field id, or None."""
        return next((f.name for f in self.fields if f.id == field_id), None)

    def assessed(self, ticked: Iterable[str]) -> dict[str, int]:
        """Every criterion by name (the history keeps names: they survive a change of the
        list), 1 when its id is among `ticked`: what the chat and the web record."""
        chosen = set(ticked)
        return {c.name: int(c.id in chosen) for c in self.criteria}

    def unknown_criteria(self, ticked: Iterable[str]) -> list[str]:
        """The ids in `ticked` that name no criterion of the list (a forged or stale form)."""
        known = {c.id for c in self.criteria}
        return sorted(set(ticked) - known)


# Used only when a deployment has no content/dan-van-kheo.yaml: the four fields local guidance
# uses, no criteria.
DEFAULT = DvkConfig(fields=[
    Item(id="kinh_te", name="Kinh tế"), Item(id="van_hoa_xa_hoi", name="Văn hóa – xã hội"),
    Item(id="quoc_phong_an_ninh", name="Quốc phòng – an ninh"),
    Item(id="xay_dung_dang", name="Xây dựng hệ thống chính trị")])


def load_config(root: Path) -> tuple[DvkConfig, list[str]]:
    """The configuration in `root/dan-van-kheo.yaml` (the default when absent) and problems."""
    path = root / CONFIG_FILE
    if not path.is_file():
        return DEFAULT, []
    try:
        config = DvkConfig.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as exc:
        return DEFAULT, [f"{CONFIG_FILE}: YAML sai cú pháp: {' '.join(str(exc).split())}"]
    except ValidationError as exc:
        return DEFAULT, [f"{CONFIG_FILE}: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                         for e in exc.errors()]
    problems = [f"{CONFIG_FILE}: {what}: mã {dup!r} bị lặp"
                for what, items in (("fields", config.fields), ("criteria", config.criteria))
                for dup in _duplicates([i.id for i in items])]
    return config, problems


def _duplicates(ids: list[str]) -> list[str]:
    return sorted({i for i in ids if ids.count(i) > 1})


class Registration(BaseModel):
    """A model (or exemplary person/collective) a unit registers to build during the year."""

    id: str = Field(default_factory=lambda: uuid4().hex[:10])
    year: int
    unit: str
    kind: Kind = "mo_hinh"
    name: str
    area: str
    area_name: str = ""
    goal: str
    executor: str
    timeline: str
    by: str
    by_name: str
    at: datetime
    built: bool = False  # the unit reported it built (or proposed it for recognition)
    proposal: str = ""  # the code of the proposal it became


class Replica(BaseModel):
    """A unit that replicates a recognised model, with its own results once it has them."""

    unit: str
    by: str
    by_name: str
    at: datetime
    results: str = ""


@dataclass
class DvkYear:
    """Configuration, registrations and replications."""

    redis: Redis
    keys: Keys
    config: DvkConfig

    async def register(self, item: Registration) -> None:
        """Store (or replace) a registration."""
        await self.redis.hset(self.keys.dvk_registrations(item.year), item.id,
                           item.model_dump_json())

    async def registrations(self, year: int) -> list[Registration]:
        """Every registration of the year, oldest first."""
        raw = await self.redis.hgetall(self.keys.dvk_registrations(year))
        found = [Registration.model_validate_json(v) for v in raw.values()]
        return sorted(found, key=lambda r: r.at)

    async def registration(self, year: int, reg_id: str) -> Registration | None:
        """One registration, or None."""
        raw = await self.redis.hget(self.keys.dvk_registrations(year), reg_id)
        return Registration.model_validate_json(raw) if raw else None

    async def replicate(self, code: str, replica: Replica) -> bool:
        """Declare that a unit replicates the model; False if it had declared so already."""
        added = await self.redis.hsetnx(self.keys.dvk_replicas(code), replica.unit,
                                     replica.model_dump_json())
        return bool(added)

    async def update_replica(self, code: str, replica: Replica) -> None:
        """Record the replicating unit's results."""
        await self.redis.hset(self.keys.dvk_replicas(code), replica.unit, replica.model_dump_json())

    async def replicas(self, code: str) -> list[Replica]:
        """Units replicating the model, oldest first."""
        raw = await self.redis.hgetall(self.keys.dvk_replicas(code))
        return sorted((Replica.model_validate_json(v) for v in raw.values()),
                      key=lambda r: r.at)

    async def replica_counts(self, codes: list[str]) -> dict[str, int]:
        """How many units replicate each model (one pipelined round trip)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for code in codes:
                pipe.hlen(self.keys.dvk_replicas(code))
            counts = await pipe.execute()
        return {code: int(n) for code, n in zip(codes, counts, strict=True)}


def in_scope(tree: OrgTree, unit: str, root: str) -> bool:
    """True when `unit` is `root` or below it (and still exists)."""
    return tree.get(unit) is not None and tree.within(unit, root)
