"""Account pages: sign-up, verification, login/logout, password reset (thin routes)."""

from __future__ import annotations

import time
from functools import partial
from uuid import UUID

from litestar import Response, get, post

from app.accounts import guard, services
from app.accounts.deps import routes_at
from app.accounts.forms import ForgotForm, LoginForm, NextQuery, ResetForm, SignupForm, TokenQuery
from app.core import sessions
from app.core.access import Level
from app.core.errors import FormInvalid
from app.core.forms import read_form, read_query
from app.core.http_types import Req
from app.core.web import get_session, redirect, refused_form, render, safe_local_path


async def sign_in(
    request: Req, user_id: UUID, tenant_id: UUID | None = None, *, proved_at: float
) -> None:
    """Start an authenticated session: new session id (no fixation), first open workspace.

    `proved_at` is when the credentials were checked: a "sign out everywhere" after that
    moment (a password change racing this login) keeps the new session from being saved.
    """
    session = get_session(request)
    if tenant_id is None:
        workspaces = await services.list_workspaces(user_id)  # active workspaces only
        if not workspaces:
            raise FormInvalid({"form": "Your account isn't part of any workspace any more."})
        tenant_id = workspaces[0].tenant_id
    sessions.rotate(session)
    session.user_id = str(user_id)
    session.tenant_id = str(tenant_id)
    session.authenticated_at = proved_at
    await guard.after_sign_in(request, user_id, tenant_id)  # new-device alert


@get("/signup", name="signup")
async def signup_page(request: Req) -> Response[str]:
    return render(request, "accounts/signup.html", {"values": {}, "errors": {}})


@post("/signup")
async def signup_submit(request: Req) -> Response[str]:
    await guard.limit_signup(request)
    page = refused_form(request, "accounts/signup.html")
    form = await read_form(request, SignupForm, page=page)
    user_id, tenant_id = await services.sign_up(form.name, form.email, form.company, form.password)
    await sign_in(request, user_id, tenant_id, proved_at=time.time())
    get_session(request).flash("success", "Welcome to Odex! Check your inbox to verify your email.")
    return redirect(request, "/app")


async def link_refused(request: Req, refused: FormInvalid) -> Response[str]:
    """A mailed link that can't be used (broken, used, expired, withdrawn): says why, 400."""
    error = " ".join(refused.errors.values())
    response = render(request, "accounts/verify.html", {"error": error})
    response.status_code = 400
    return response


@get("/verify")
async def verify(request: Req) -> Response[str]:
    query = read_query(request, TokenQuery, page=partial(link_refused, request))
    await services.verify_email(query.token)
    get_session(request).flash("success", "Your email is verified. Your account is fully active.")
    return redirect(request, "/app" if get_session(request).user_id else "/login")


@post("/verify/resend")
async def verify_resend(request: Req) -> Response[str]:
    session = get_session(request)
    if session.user_id:
        await services.resend_verification(UUID(session.user_id))
        session.flash("info", "We sent a new verification link. It may take a minute to arrive.")
    return redirect(request, "/app")


@get("/login", name="login")
async def login_page(request: Req) -> Response[str]:
    target = safe_local_path(read_query(request, NextQuery).next)
    if get_session(request).user_id:
        return redirect(request, target)
    return render(request, "accounts/login.html", {"values": {"next": target}, "errors": {}})


@post("/login")
async def login_submit(request: Req) -> Response[str]:
    form = await read_form(request, LoginForm, page=refused_form(request, "accounts/login.html"))
    await guard.before_login(request, form.email)  # 429 with the wait when limited or locked
    target = safe_local_path(form.next)
    proved_at = time.time()  # before the check: a revocation from now on beats this login
    try:
        user_id = await services.authenticate(form.email, form.password)
    except FormInvalid:
        await guard.login_failed(request, form.email)
        raise
    await guard.login_succeeded(form.email)
    if await guard.needs_second_factor(request, user_id, target, proved_at):
        return redirect(request, "/login/mfa")
    await sign_in(request, user_id, proved_at=proved_at)
    return redirect(request, target)


@post("/logout")
async def logout(request: Req) -> Response[str]:
    session = get_session(request)
    await sessions.destroy_session(session)
    fresh = sessions.new_session(session.ip, session.user_agent)
    request.scope["odex.session"] = fresh  # type: ignore[typeddict-unknown-key]
    fresh.flash("info", "You're logged out.")
    return redirect(request, "/login")


@get("/password/forgot")
async def forgot_page(request: Req) -> Response[str]:
    return render(request, "accounts/forgot.html", {"values": {}, "errors": {}, "sent": False})


@post("/password/forgot")
async def forgot_submit(request: Req) -> Response[str]:
    page = refused_form(request, "accounts/forgot.html", sent=False)
    form = await read_form(request, ForgotForm, page=page)
    await guard.limit_password_reset(request, form.email)
    await services.request_password_reset(form.email)
    ctx = {"values": {"email": form.email}, "errors": {}, "sent": True}
    return render(request, "accounts/forgot.html", ctx, block="form")


@get("/password/reset")
async def reset_page(request: Req) -> Response[str]:
    query = read_query(request, TokenQuery, page=partial(link_refused, request))
    return render(request, "accounts/reset.html", {"token": query.token, "errors": {}})


async def _refused_reset(request: Req, refused: FormInvalid) -> Response[str]:
    token = str(refused.shown().get("token", ""))
    ctx = {"token": token, "errors": refused.errors}
    return render(request, "accounts/reset.html", ctx, block="form")


@post("/password/reset")
async def reset_submit(request: Req) -> Response[str]:
    form = await read_form(request, ResetForm, page=partial(_refused_reset, request))
    user_id = await services.reset_password(form.token, form.password)
    await sessions.destroy_user_sessions(str(user_id))
    proved_at = time.time()  # the mailed link, checked just now (after the revocation)
    if await guard.needs_second_factor(request, user_id, "/app", proved_at):
        # the link proves the mailbox, not the second factor: ask for it like a login does
        get_session(request).flash(
            "success", "Your password is changed. Enter your two-factor code to log in."
        )
        return redirect(request, "/login/mfa")
    try:
        await sign_in(request, user_id, proved_at=proved_at)
    except FormInvalid:  # no workspace left: the new password works once they're invited
        get_session(request).flash("success", "Your password is changed.")
        return redirect(request, "/login")
    get_session(request).flash("success", "Your password is changed and you're logged in.")
    return redirect(request, "/app")


ROUTES = [
    routes_at(
        Level.PUBLIC,
        [
            signup_page,
            signup_submit,
            verify,
            verify_resend,
            login_page,
            login_submit,
            logout,
            forgot_page,
            forgot_submit,
            reset_page,
            reset_submit,
        ],
    )
]
