"""Hooks the sign-in routes call: rate limits, lockout, new-device alerts, MFA enforcement."""

from __future__ import annotations

import logging
import time
from uuid import UUID

from app.accounts import devices, second_factor
from app.accounts.users import user_id_by_email
from app.core import ratelimit, sessions
from app.core.events import AccountSecurityEvent, WorkspaceSecurityEvent, emit
from app.core.http_types import Req
from app.core.web import client_ip, get_session, queue_cookie, site_cookie
from app.settings import get_settings

log = logging.getLogger("odex.security")


def _ip(request: Req) -> str:
    return client_ip(request.scope)


def _ua(request: Req) -> str:
    return request.headers.get("user-agent", "")[:300]


async def before_login(request: Req, email: str) -> None:
    """429 when this IP failed too often, or the account is locked (unless from a known device)."""
    wait = await ratelimit.blocked_for(ratelimit.LOGIN_FAILURES_PER_IP, _ip(request))
    if wait:
        raise ratelimit.too_many("Too many failed sign-ins from your network.", wait)
    wait = await ratelimit.lock_remaining(email)
    if wait:
        user_id = await user_id_by_email(email)
        if user_id and await devices.is_trusted_device(user_id, _device_token(request)):
            return  # a browser the owner signed in with before: an attacker can't lock them out
        raise ratelimit.too_many(
            "This account is locked for a while after repeated failed sign-ins.", wait
        )


async def login_failed(request: Req, email: str) -> None:
    """Count the failure; alert the account's workspaces on a burst and on a lockout."""
    await ratelimit.hit(ratelimit.LOGIN_FAILURES_PER_IP, _ip(request))
    outcome = await ratelimit.record_failure(email)
    if not (outcome.burst or outcome.locked_for):
        return
    user_id = await user_id_by_email(email)
    if user_id is None:
        return
    kind = "lockout" if outcome.locked_for else "failed_logins"
    details: dict[str, object] = {
        "failed_attempts": outcome.failures,
        "ip": _ip(request),
        "device": devices.describe(_ua(request)),
    }
    if outcome.locked_for:
        details["locked_for"] = ratelimit.wait_text(outcome.locked_for)
    await emit(AccountSecurityEvent(user_id, kind, details))


async def login_succeeded(email: str) -> None:
    await ratelimit.record_success(email)


def _device_token(request: Req) -> str | None:
    return request.cookies.get(devices.device_cookie_name(get_settings()))


async def after_sign_in(request: Req, user_id: UUID, tenant_id: UUID) -> None:
    """Remember the device; a sign-in from a new one (when others are known) raises an alert
    in the workspace signed in to, with the session attached so an admin can end it. The
    browser gets (or keeps) its trusted-device cookie, its way past a lockout of the account.

    (The owner-MFA rule is not checked here: it holds on every request, app.core.access.)"""
    session = get_session(request)
    session.mfa_user_id = None
    token = await devices.trust_this_device(user_id, _device_token(request))
    settings = get_settings()
    name, days = devices.device_cookie_name(settings), devices.DEVICE_COOKIE_DAYS
    queue_cookie(request, site_cookie(name, token, days * 86400, settings))
    ua, ip = _ua(request), _ip(request)
    is_new, had_others = await devices.remember_device(user_id, ua, ip)
    if is_new and had_others:
        await emit(
            WorkspaceSecurityEvent(
                tenant_id,
                "login_new_device",
                user_id,
                {"device": devices.describe(ua), "ip": ip},
                session_key=sessions.session_key(session.sid),
            )
        )


async def limit_signup(request: Req) -> None:
    await ratelimit.enforce(
        ratelimit.SIGNUP_PER_IP, _ip(request), "Too many new workspaces from your network."
    )


async def limit_password_reset(request: Req, email: str) -> None:
    message = "You asked for several reset links already."
    await ratelimit.enforce(ratelimit.RESET_PER_IP, _ip(request), message)
    await ratelimit.enforce(ratelimit.RESET_PER_EMAIL, email, message)


async def limit_invitations(request: Req, user_id: UUID) -> None:
    message = "You've sent a lot of invitations in a short time."
    await ratelimit.enforce(ratelimit.INVITE_PER_IP, _ip(request), message)
    await ratelimit.enforce(ratelimit.INVITE_PER_USER, str(user_id), message)


MFA_STEP_SECONDS = 300


async def needs_second_factor(request: Req, user_id: UUID, next_url: str, proved_at: float) -> bool:
    """After a correct password (or reset link): if the user has MFA, park the sign-in until
    the code comes. `proved_at` is when the first factor was checked."""
    if not await second_factor.is_enabled(user_id):
        return False
    session = get_session(request)
    session.mfa_user_id = str(user_id)
    session.mfa_started_at = proved_at
    session.mfa_next = next_url
    session.dirty = True
    return True


def pending_second_factor(request: Req) -> UUID | None:
    """The user waiting at the second step (within five minutes of their password)."""
    session = get_session(request)
    if not session.mfa_user_id or time.time() - session.mfa_started_at > MFA_STEP_SECONDS:
        return None
    return UUID(session.mfa_user_id)
