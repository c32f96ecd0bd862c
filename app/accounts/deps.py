"""Request dependencies: who is signed in, in which workspace."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request

from app.accounts.schemas import Current
from app.accounts.services import load_current
from app.core.errors import LoginRequired
from app.core.web import get_session
from app.security import guard


async def provide_current(request: Request[Any, Any, Any]) -> Current:
    """The signed-in user and workspace; sends anonymous visitors to the login page."""
    cached = request.scope.get("odex.current")
    if cached is not None:
        assert isinstance(cached, Current)
        return cached
    session = get_session(request)
    if not session.user_id or not session.tenant_id:
        raise LoginRequired()
    current = await load_current(UUID(session.user_id), UUID(session.tenant_id))
    if current is None:  # removed from the workspace since logging in
        session.user_id = session.tenant_id = None
        session.dirty = True
        raise LoginRequired()
    guard.enforce_mfa_enrolment(request)  # owners who must turn on MFA first
    request.scope["odex.current"] = current  # type: ignore[typeddict-unknown-key]
    return current
