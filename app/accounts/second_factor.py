"""What signing in must know of a user's second factor (enrolment itself: app.security.mfa).

These two reads sit here, below security, because the sign-in and the request's `Current`
ask them on every request; the MFA tables stay security's.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from app.core.db import global_transaction


async def is_enabled(user_id: UUID) -> bool:
    """Has this user turned two-factor authentication on?"""
    async with global_transaction() as conn:
        enabled = await conn.fetchval(
            "select enabled_at from user_mfa where user_id = $1 and enabled_at is not null",
            user_id,
        )
    return enabled is not None


async def owner_must_enrol(conn: Any, user_id: UUID) -> bool:
    """Inside a tenant transaction: does this workspace require MFA for owners while the user
    has none? (Asked for owners on every request: a switch, a promotion or MFA turned off
    elsewhere can't get around the rule.)"""
    return bool(
        await conn.fetchval(
            "select coalesce((select mfa_required_for_owners from tenant_security limit 1), false)"
            " and not exists (select 1 from user_mfa where user_id = $1"
            " and enabled_at is not null)",
            user_id,
        )
    )
