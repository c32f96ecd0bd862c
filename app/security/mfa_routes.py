"""Two-factor pages: settings (enrol, recovery codes, turn off, owner policy), login step 2."""

from __future__ import annotations

from functools import partial
from uuid import UUID

from litestar import Response, get, post

from app.accounts import guard, second_factor
from app.accounts.deps import routes_at
from app.accounts.routes import sign_in
from app.accounts.schemas import Current
from app.core import ratelimit
from app.core.access import Level
from app.core.errors import FormInvalid, declare_form_page
from app.core.forms import read_form
from app.core.http_types import Req
from app.core.web import get_session, redirect, refused_form, render, safe_local_path
from app.security import mfa
from app.security.alerts import alert_user_workspaces
from app.security.forms import CodeForm, OwnerPolicy, PasswordAndCode, PasswordForm

PAGE = "security/security.html"


async def _page(
    request: Req,
    current: Current,
    *,
    errors: dict[str, str] | None = None,
    enrol: dict[str, str] | None = None,
    codes: list[str] | None = None,
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
    return render(request, PAGE, ctx)


async def _refused(request: Req, current: Current, refused: FormInvalid) -> Response[str]:
    """The security page again with why (an enrolment in progress stays on screen)."""
    enrol = await mfa.pending_enrolment(current.user_id, current.email)
    # its forms share field names and show by state: the messages go to the top of the page
    errors = refused.beside()
    return await _page(request, current, errors=errors, enrol=enrol)


@get("/settings/security")
async def security_page(request: Req, current: Current) -> Response[str]:
    enrol = await mfa.pending_enrolment(current.user_id, current.email)
    return await _page(request, current, enrol=enrol)


@post("/settings/security/mfa/start")
async def mfa_start(request: Req, current: Current) -> Response[str]:
    declare_form_page(request, partial(_refused, request, current))
    enrol = await mfa.start_enrolment(current.user_id, current.email)
    return await _page(request, current, enrol=enrol)


@post("/settings/security/mfa/confirm")
async def mfa_confirm(request: Req, current: Current) -> Response[str]:
    form = await read_form(request, PasswordAndCode, page=partial(_refused, request, current))
    codes = await mfa.confirm_enrolment(current.user_id, form.current_password, form.code)
    await alert_user_workspaces(current.user_id, "mfa_enabled", {})
    get_session(request).flash("success", "Two-factor authentication is on.")
    return await _page(request, current, codes=codes)


@post("/settings/security/mfa/disable")
async def mfa_disable(request: Req, current: Current) -> Response[str]:
    form = await read_form(request, PasswordAndCode, page=partial(_refused, request, current))
    await mfa.disable(current.user_id, form.current_password, form.code)
    await alert_user_workspaces(current.user_id, "mfa_disabled", {})
    get_session(request).flash("warning", "Two-factor authentication is off.")
    return redirect(request, "/settings/security")


@post("/settings/security/mfa/codes")
async def mfa_codes(request: Req, current: Current) -> Response[str]:
    form = await read_form(request, PasswordForm, page=partial(_refused, request, current))
    codes = await mfa.regenerate_codes(current.user_id, form.current_password)
    return await _page(request, current, codes=codes)


@post("/settings/security/policy")
async def mfa_policy(request: Req, current: Current) -> Response[str]:
    form = await read_form(request, OwnerPolicy, page=partial(_refused, request, current))
    required = form.mfa_required_for_owners
    if required and not await second_factor.is_enabled(current.user_id):
        raise FormInvalid({"form": "Turn on two-factor authentication for yourself first."})
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
    page = refused_form(request, "security/login_mfa.html")
    code = (await read_form(request, CodeForm, page=page)).code
    if not await mfa.verify_second_factor(user_id, code):
        raise FormInvalid({"code": mfa.BAD_CODE})
    session = get_session(request)
    target = safe_local_path(session.mfa_next)
    proved_at = session.mfa_started_at  # when the password (or reset link) was checked
    session.mfa_user_id = None
    await sign_in(request, user_id, proved_at=proved_at)
    return redirect(request, target)


ROUTES = [
    # the user's own second factor: open to an owner the workspace holds until they enrol
    routes_at(Level.SIGNED_IN, [security_page, mfa_start, mfa_confirm, mfa_disable, mfa_codes]),
    routes_at(Level.OWNER, [mfa_policy]),
    routes_at(Level.PUBLIC, [login_mfa_page, login_mfa_submit]),
]
