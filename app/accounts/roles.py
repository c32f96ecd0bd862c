"""The role checks a service makes before it acts: one rule per role, each caller saying only
why it refuses (Forbidden, 403, with that sentence)."""

from __future__ import annotations

from app.accounts.schemas import Current
from app.core.errors import Forbidden


def require_admin(current: Current, why: str) -> None:
    """Admins and owners pass; a member is refused with `why`."""
    if not current.is_admin:
        raise Forbidden(why)


def require_staff(current: Current, why: str) -> None:
    """Odex staff (the platform's operators) pass; anyone else is refused with `why`."""
    if not current.is_staff:
        raise Forbidden(why)
