"""Shapes the accounts domain hands to routes and templates."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

ROLES = ("owner", "admin", "member")
ROLE_RANK = {"member": 1, "admin": 2, "owner": 3}


class Current(msgspec.Struct, frozen=True):
    """Who is asking: the signed-in user in their active workspace."""

    user_id: UUID
    name: str
    email: str
    verified: bool
    tenant_id: UUID
    tenant_name: str
    role: str
    is_staff: bool = False
    # an owner in a workspace that requires MFA for owners, without MFA: held at the
    # enrolment page (app.core.access) until they turn it on, on every request path
    must_enrol_mfa: bool = False
    # how dates, times, numbers and money read for them (app/core/formats.py)
    time_zone: str = "UTC"
    locale: str = "en-GB"

    @property
    def is_admin(self) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK["admin"]

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"


class Member(msgspec.Struct, frozen=True):
    membership_id: UUID
    user_id: UUID
    name: str
    email: str
    role: str
    joined_at: datetime
    verified: bool


class PendingInvitation(msgspec.Struct, frozen=True):
    id: UUID
    email: str
    role: str
    expires_at: datetime
    created_at: datetime


class InvitationPreview(msgspec.Struct, frozen=True):
    """What a visitor holding an invitation link sees before accepting."""

    email: str
    role: str
    tenant_name: str
    has_account: bool
