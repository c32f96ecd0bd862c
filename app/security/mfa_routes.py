"""Two-factor pages: settings (enrol, recovery codes, turn off, owner policy), login step 2."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post

from app.accounts.deps import routes_at
from app.accounts.routes import _form, sign_in
from app.accounts.schemas import Current
from app.core.access import Level
from app.core.errors import FormInvalid
from app.core.web import get_session, redirect, render, safe_local_path
from app.security import guard, mfa, ratelimit
from app.security.alerts import alert_user_workspaces

Req = Request[Any, Any, Any]
PAGE = "security/security.html"


async def _page(
    request: Req,
    current: Current,
    *,
    errors: dict[str, str] | None = None,
    enrol: dict[str, str] | None = None,
    codes: list[str] | None = None,
    status: int = 200,
) -> Response[str]:
    ctx = {
        "mfa": await mfa.status(current.user_id),
        "enrol": enrol,
        "codes": codes,
        "errors": errors or {},
        "values": {},
        "owner_policy": await mfa.owners_must_use_mfa(current.tenant_id),
        "must_enrol": current.must_enrol_mfa,
    }
    return render(request, PAGE, ctx, status=status)


@get("/settings/security")
async def security_page(request: Req, current: Current) -> Response[str]:
    enrol = await mfa.pending_enrolment(current.user_id, current.email)
    return await _page(request, current, enrol=enrol)


@post("/settings/security/mfa/start")
async def mfa_start(request: Req, current: Current) -> Response[str]:
    try:
        enrol = await mfa.start_enrolment(current.user_id, current.email)
    except FormInvalid as exc:
        return await _page(request, current, errors=exc.errors, status=422)
    return await _page(request, current, enrol=enrol)


@post("/settings/security/mfa/confirm")
async def mfa_confirm(request: Req, current: Current) -> Response[str]:
    values = await _form(request)
    try:
        codes = await mfa.confirm_enrolment(
            current.user_id, values.get("current_password", ""), values.get("code", "")
        )
    except FormInvalid as exc:
        enrol = await mfa.pending_enrolment(current.user_id, current.email)
        return await _page(request, current, errors=exc.errors, enrol=enrol, status=422)
    await alert_user_workspaces(current.user_id, "mfa_enabled", {})
    get_session(request).flash("success", "Two-factor authentication is on.")
    return await _page(request, current, codes=codes)


@post("/settings/security/mfa/disable")
async def mfa_disable(request: Req, current: Current) -> Response[str]:
    values = await _form(request)
    try:
        await mfa.disable(
            current.user_id, values.get("current_password", ""), values.get("code", "")
        )
    except FormInvalid as exc:
        return await _page(request, current, errors=exc.errors, status=422)
    await alert_user_workspaces(current.user_id, "mfa_disabled", {})
    get_session(request).flash("warning", "Two-factor authentication is off.")
    return redirect(request, "/settings/security")


@post("/settings/security/mfa/codes")
async def mfa_codes(request: Req, current: Current) -> Response[str]:
    values = await _form(request)
    try:
        codes = await mfa.regenerate_codes(current.user_id, values.get("current_password", ""))
    except FormInvalid as exc:
        return await _page(request, current, errors=exc.errors, status=422)
    return await _page(request, current, codes=codes)


@post("/settings/security/policy")
async def mfa_policy(request: Req, current: Current) -> Response[str]:
    required = (await _form(request)).get("mfa_required_for_owners") == "on"
    if required and not await mfa.is_enabled(current.user_id):
        errors = {"form": "Turn on two-factor authentication for yourself first."}
        return await _page(request, current, errors=errors, status=422)
    await mfa.set_owner_requirement(current.tenant_id, current.user_id, required)
    message = "Owners now need two-factor authentication." if required else "Policy saved."
    get_session(request).flash("success", message)
    return redirect(request, "/settings/security")


# --- login, second step -------------------------------------------------------------------


@get("/login/mfa")
async def login_mfa_page(request: Req) -> Response[str]:
    if guard.pending_second_factor(request) is None:
        return redirect(request, "/login")
    return render(request, "security/login_mfa.html", {"errors": {}, "values": {}})


@post("/login/mfa")
async def login_mfa_submit(request: Req) -> Response[str]:
    user_id: UUID | None = guard.pending_second_factor(request)
    if user_id is None:
        get_session(request).flash("info", "That took too long. Log in again.")
        return redirect(request, "/login")
    await ratelimit.enforce(
        ratelimit.MFA_PER_LOGIN, str(user_id), "Too many wrong codes for this account."
    )
    code = (await _form(request)).get("code", "")
    if not await mfa.verify_second_factor(user_id, code):
        ctx = {"errors": {"code": mfa.BAD_CODE}, "values": {}}
        return render(request, "security/login_mfa.html", ctx, block="form", status=422)
    session = get_session(request)
    target = safe_local_path(session.mfa_next)
    proved_at = session.mfa_started_at  # when the password (or reset link) was checked
    session.mfa_user_id = None
    try:
        await sign_in(request, user_id, proved_at=proved_at)
    except FormInvalid as exc:
        ctx = {"errors": exc.errors, "values": {}}
        return render(request, "security/login_mfa.html", ctx, block="form", status=422)
    return redirect(request, target)


ROUTES = [
    # the user's own second factor: open to an owner the workspace holds until they enrol
    routes_at(Level.SIGNED_IN, [security_page, mfa_start, mfa_confirm, mfa_disable, mfa_codes]),
    routes_at(Level.OWNER, [mfa_policy]),
    routes_at(Level.PUBLIC, [login_mfa_page, login_mfa_submit]),
]
