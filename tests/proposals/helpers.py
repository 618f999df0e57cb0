"""Shared helpers for proposal tests: a filled form, members, and a service with a short
claim timeout."""

from __future__ import annotations

from dataclasses import replace

from bot.deps import Deps
from bot.org.models import Member, Role
from bot.proposals.models import Area, Content
from bot.proposals.service import ProposalService
from tests.conftest import make_member


def content(unit: str = "cb-a1", name: str = "Mô hình «Chi bộ 4 tốt»") -> Content:
    """A complete form."""
    return Content(name=name, area=Area.ECONOMY, unit=unit,
                   executor="Chi bộ A1 phối hợp Đoàn thanh niên",
                   method="Mỗi đảng viên phụ trách 5 hộ dân, họp dân mỗi tháng một lần.",
                   results="Thu nhập bình quân tăng 12%, 30 hộ thoát nghèo trong năm 2025.")


def with_claim_ms(deps: Deps, claim_ms: int) -> Deps:
    """The same deps with another claim timeout (to make abandoned claims go stale fast)."""
    p = deps.proposals
    service = ProposalService(deps.redis, p.store, p.queue, p.durability, p.levels,
                              claim_ms=claim_ms)
    return replace(deps, proposals=service)


async def people(deps: Deps) -> tuple[Member, Member, Member, Member]:
    """An author in cb-a1, two reviewers of dbcs-a, one reviewer of the Khối."""
    author = await make_member(deps, user_id="author", unit="cb-a1", name="Lê Thị Tác Giả")
    r1 = await make_member(deps, user_id="r1", unit="dbcs-a", name="Trần Văn Một",
                           grants=((Role.REVIEWER, "dbcs-a"),))
    r2 = await make_member(deps, user_id="r2", unit="dbcs-a", name="Phạm Văn Hai",
                           grants=((Role.REVIEWER, "dbcs-a"),))
    top = await make_member(deps, user_id="top", unit="khoi", name="Hoàng Văn Khối",
                            grants=((Role.REVIEWER, "khoi"),))
    return author, r1, r2, top
