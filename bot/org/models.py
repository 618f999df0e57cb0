"""Domain models stored in Redis as JSON (pydantic), never pickled."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

UNIT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


class Role(StrEnum):
    """Roles a member can hold, each scoped to a unit subtree."""

    MEMBER = "member"
    CADRE = "cadre"
    REVIEWER = "reviewer"
    LISTENER = "listener"  # answers "tâm tư, kiến nghị" sent to their unit's level
    ADMIN = "admin"

    @property
    def label(self) -> str:
        """Vietnamese name shown to users."""
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.MEMBER: "Đảng viên",
    Role.CADRE: "Cán bộ phụ trách",
    Role.REVIEWER: "Người thẩm định",
    Role.LISTENER: "Người tiếp nhận tâm tư",
    Role.ADMIN: "Quản trị",
}


class UnitKind(StrEnum):
    """Levels of the organization tree (any depth of chi bộ below)."""

    KHOI = "dang_bo_khoi"
    DANG_BO_CO_SO = "dang_bo_co_so"
    CHI_BO_CO_SO = "chi_bo_co_so"
    CHI_BO = "chi_bo"
    OTHER = "khac"

    @property
    def label(self) -> str:
        """Vietnamese name of the level."""
        return UNIT_KIND_LABELS[self]


UNIT_KIND_LABELS = {
    UnitKind.KHOI: "Đảng bộ Khối",
    UnitKind.DANG_BO_CO_SO: "Đảng bộ cơ sở",
    UnitKind.CHI_BO_CO_SO: "Chi bộ cơ sở",
    UnitKind.CHI_BO: "Chi bộ trực thuộc",
    UnitKind.OTHER: "Đơn vị",
}


class Unit(BaseModel):
    """One node of the organization tree."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str = Field(min_length=2, max_length=200)
    kind: UnitKind = UnitKind.OTHER
    parent: str | None = None

    @field_validator("id", "parent")
    @classmethod
    def _id_shape(cls, value: str | None) -> str | None:
        if value is not None and not UNIT_ID.match(value):
            raise ValueError("mã đơn vị chỉ gồm a–z, 0–9, _ hoặc -, tối đa 32 ký tự")
        return value


class Grant(BaseModel):
    """A role held over one unit and everything below it."""

    model_config = ConfigDict(frozen=True)

    role: Role
    unit: str


class Member(BaseModel):
    """A registered person. Home unit membership is implicit; grants add higher roles."""

    id: str
    name: str
    unit: str
    grants: list[Grant] = Field(default_factory=list)
    identities: dict[str, str] = Field(default_factory=dict)
    joined_at: datetime


class Invite(BaseModel):
    """An invite code: joins a unit with a role, a limited number of times, until it expires."""

    code: str
    unit: str
    role: Role
    max_uses: int
    uses: int = 0
    expires_at: datetime
    revoked: bool = False
    created_by: str
    created_at: datetime
