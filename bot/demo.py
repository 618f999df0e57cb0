"""The demo organization for `dvbot console --demo`, kept in its own key namespace."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from bot.deps import Deps
from bot.library.importer import import_library
from bot.library.loader import load_library
from bot.org.models import Grant, Member
from bot.org.tree import parse_units_yaml

DEMO_PREFIX = "dvdemo"  # never "dv": demo data must not mix with a real organization
ADMIN_ACCOUNT = "demo-admin"


class DemoPerson(BaseModel):
    """One sample member of the demo organization."""

    name: str
    unit: str
    roles: list[Grant] = Field(default_factory=list)
    admin: bool = False


class DemoPeople(BaseModel):
    """The members.yaml file."""

    members: list[DemoPerson]


async def load_demo(deps: Deps, folder: Path) -> Member:
    """Import the demo units and people (idempotent); return the demo admin."""
    units = parse_units_yaml((folder / "units.yaml").read_text(encoding="utf-8"),
                             source="units.yaml")
    await deps.units.import_units(units)
    people = DemoPeople.model_validate(
        yaml.safe_load((folder / "members.yaml").read_text(encoding="utf-8")))
    admin: Member | None = None
    for index, person in enumerate(people.members, start=1):
        # The console person signs in as the admin; the others get accounts of their own.
        channel, account = ("console", ADMIN_ACCOUNT) if person.admin else ("demo", f"p{index}")
        member = await deps.members.register(channel=channel, user_id=account, name=person.name,
                                             unit=person.unit, grants=person.roles,
                                             now=deps.clock())
        if person.admin:
            admin = member
    if admin is None:
        raise ValueError("members.yaml needs one person with `admin: true`")
    # The starter library lives beside the demo folder (content/directives, content/materials).
    await import_library(deps.library, load_library(folder.parent), await deps.units.tree(),
                         deps.clock())
    return admin
