"""A small organization for dashboard tests: cadres, reviewers and members on Telegram, one
directive, one proposal waiting at the grassroots level, one anonymous survey."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.deps import Deps
from bot.org.models import Member, Role
from bot.surveys.models import Spec, Survey
from tests.conftest import make_member
from tests.library.helpers import directive, import_folder, write
from tests.proposals.helpers import content


@dataclass(frozen=True)
class Org:
    """Who is who in the seeded organization (Telegram user id = member's account)."""

    khoi_cadre: Member  # cadre and reviewer of the whole Khối
    a_reviewer: Member  # reviewer of Đảng bộ cơ sở A only
    b_cadre: Member  # cadre of Đảng bộ cơ sở B only
    author: Member  # plain member in Chi bộ A1
    members: list[Member]
    proposal_code: str
    survey: Survey


TG = {"khoi_cadre": 9001, "a_reviewer": 9002, "b_cadre": 9003, "author": 9004}


async def seed(deps: Deps, folder: Path) -> Org:
    """Members, a directive for everyone, a proposal and an anonymous survey."""
    khoi = await make_member(deps, user_id=str(TG["khoi_cadre"]), unit="khoi",
                             name="Hoàng Văn Khối",
                             grants=((Role.CADRE, "khoi"), (Role.REVIEWER, "khoi")))
    a_rev = await make_member(deps, user_id=str(TG["a_reviewer"]), unit="dbcs-a",
                              name="Trần Văn Thẩm", grants=((Role.REVIEWER, "dbcs-a"),))
    b_cadre = await make_member(deps, user_id=str(TG["b_cadre"]), unit="dbcs-b",
                                name="Phạm Thị Bê", grants=((Role.CADRE, "dbcs-b"),))
    author = await make_member(deps, user_id=str(TG["author"]), unit="cb-a1",
                               name="Lê Thị Tác Giả")
    others = [await make_member(deps, user_id=str(9100 + n), unit=unit,
                                name=f"Đảng viên {unit.upper()} số {n}")
              for n, unit in enumerate(["cb-a1"] * 4 + ["cb-a2"] * 3 + ["cb-b1"] * 3)]
    write(folder, "directives/12-nq-du.md", directive("12-NQ/ĐU"))
    await import_folder(deps, folder)
    tree = await deps.units.tree()
    now = deps.clock()
    proposal = await deps.proposals.submit(author, content("cb-a1"), tree, now)
    spec = Spec.model_validate({"title": "Tâm tư tháng này", "anonymous": True,
                                "visibility": "while_open", "questions": [
                                    {"text": "Đồng chí yên tâm công tác ở mức nào?",
                                     "kind": "scale"}]})
    survey = await deps.surveys.open(spec, unit="khoi", author_name=khoi.name, tree=tree,
                                     now=now, closes_at=now + timedelta(days=7))
    return Org(khoi, a_rev, b_cadre, author, [author, *others], proposal.code, survey)
