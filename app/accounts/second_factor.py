"""What signing in must know of a user's second factor (enrolment itself: app.security.mfa).

These two reads sit here, below security, because the sign-in and the request's `Current`
ask them on every request; the MFA tables stay security's.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from app.accounts import queries
from app.core.db import global_transaction


async def is_enabled(user_id: UUID) -> bool:
    """Has this user turned two-factor authentication on?"""
    async with global_transaction() as conn:
        return await queries.mfa_enabled(conn, user_id)


async def owner_must_enrol(conn: asyncpg.Connection, user_id: UUID) -> bool:
    """Inside a tenant transaction: does this workspace require MFA for owners while the user
    has none? (Asked for owners on every request: a switch, a promotion or MFA turned off
    elsewhere can't get around the rule.)"""
    return await queries.owner_lacks_required_mfa(conn, user_id)
