"""The demo organization for `dvbot console --demo`, kept in its own key namespace."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, Field
from redis.asyncio import Redis

from bot.channels.console import CHANNEL, ConsoleChannel
from bot.deps import Deps
from bot.library.importer import import_library
from bot.library.loader import load_library
from bot.org.models import Grant, Member
from bot.org.tree import OrgTree, parse_units_yaml

DEMO_PREFIX = "dvdemo"  # never "dv": demo data must not mix with a real organization
ADMIN_ACCOUNT = "demo-admin"
ADMIN = "admin"


class UnknownPerson(ValueError):
    """`dvbot console --demo --as X` names nobody in members.yaml."""


class DemoPerson(BaseModel):
    """One sample member of the demo organization."""

    name: str
    unit: str
    roles: list[Grant] = Field(default_factory=list)
    admin: bool = False
    # Who `dvbot console --demo --as <as>` signs in as (the admin is "admin").
    as_: str | None = Field(default=None, alias="as")

    @property
    def key(self) -> str | None:
        """The `--as` name of this person, if the console can sign in as them."""
        return ADMIN if self.admin else self.as_


class DemoPeople(BaseModel):
    """The members.yaml file."""

    members: list[DemoPerson]


def demo_people(folder: Path) -> list[DemoPerson]:
    """The people of members.yaml, in order."""
    return DemoPeople.model_validate(
        yaml.safe_load((folder / "members.yaml").read_text(encoding="utf-8"))).members


def console_account(key: str) -> str:
    """The console account of the demo person named `key` ("demo-admin" for the admin)."""
    return f"demo-{key}"


async def load_demo(deps: Deps, folder: Path, person: str = ADMIN) -> Member:
    """Import the demo units and people (idempotent); return the person the console signs in
    as (`person` is an `as:` name from members.yaml; the admin by default)."""
    units = parse_units_yaml((folder / "units.yaml").read_text(encoding="utf-8"),
                             source="units.yaml")
    await deps.units.import_units(units)
    people = demo_people(folder)
    keys = [p.key for p in people if p.key]
    if person not in keys:
        raise UnknownPerson(f"Không có người mẫu «{person}». Chọn một trong: {', '.join(keys)}.")
    chosen: Member | None = None
    for index, demo in enumerate(people, start=1):
        # Everyone gets a console account, so /dongvai can be anyone; a notice prints only
        # for the person at the terminal, the others' just count as delivered.
        key = demo.key
        member = await deps.members.register(
            channel="console", user_id=console_account(key or f"p{index}"), name=demo.name,
            unit=demo.unit, grants=demo.roles, now=deps.clock())
        if key == person:
            chosen = member
    assert chosen is not None
    # The starter library lives beside the demo folder (content/directives, content/materials).
    await import_library(deps.library, load_library(folder.parent), await deps.units.tree(),
                         deps.clock())
    return chosen


async def reset_demo(redis: Redis) -> int:
    """Delete every demo key (the `dvdemo:` namespace only); how many were deleted."""
    deleted = 0
    async for key in redis.scan_iter(match=f"{DEMO_PREFIX}:*", count=500):
        deleted += await redis.delete(key)
    return deleted


class Roleplay:
    """`/dongvai` in the demo console: list the demo people, or become one of them (by number
    or `as:` name), to try a flow from both sides (author and reviewer, cadre and member)."""

    def __init__(self, console: ConsoleChannel, deps: Deps, folder: Path) -> None:
        self._console = console
        self._deps = deps
        self._people = demo_people(folder)

    async def line(self, line: str) -> bool:
        """Handle `/dongvai [who]`; False for any other line."""
        word, _, who = line.strip().partition(" ")
        if word.casefold() != "/dongvai":
            return False
        account = self._account(who.strip())
        if account is None:
            self._console.write(await self._listing(bool(who.strip())))
            return True
        self._console.user_id = account
        member = await self._deps.members.by_account(CHANNEL, account)
        assert member is not None, "load_demo registered everyone"
        self._console.write(f"Đồng chí đang đóng vai: {await self._who(member)}")
        if not await self._console.resume():
            await self._console.say("/menu")
        return True

    def _account(self, who: str) -> str | None:
        for index, person in enumerate(self._people, start=1):
            key = person.key or f"p{index}"
            if who in (str(index), key):
                return console_account(key)
        return None

    async def _listing(self, unknown: bool) -> str:
        lines = ["Không có người này trong danh sách."] if unknown else []
        lines.append("Người mẫu (gõ /dongvai <số> hoặc /dongvai <tên vai>):")
        for index, person in enumerate(self._people, start=1):
            key = person.key or f"p{index}"
            member = await self._deps.members.by_account(CHANNEL, console_account(key))
            if member is not None:
                tag = f" [{person.key}]" if person.key else ""
                lines.append(f"{index}. {await self._who(member)}{tag}")
        return "\n".join(lines)

    async def _who(self, member: Member) -> str:
        tree = await self._deps.units.tree()
        unit = _name(tree, member.unit)
        roles = "; ".join(f"{g.role.label} ({_name(tree, g.unit)})" for g in member.grants)
        return f"{member.name} — {unit}" + (f" — {roles}" if roles else "")


def _name(tree: OrgTree, unit_id: str) -> str:
    return tree.units[unit_id].name if unit_id in tree.units else unit_id
