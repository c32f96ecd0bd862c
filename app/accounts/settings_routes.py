"""Settings pages: profile (right to correct), company, team and invitations."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.params import Parameter

from app.accounts import services, team
from app.accounts.deps import routes_at
from app.accounts.routes import _form, sign_in
from app.accounts.schemas import ROLES, Current
from app.core.access import Level
from app.core.errors import FormInvalid, RecordNotFound
from app.core.web import get_session, redirect, render
from app.security import guard, sessions

Req = Request[Any, Any, Any]


@get("/settings/profile")
async def profile_page(request: Req, current: Current) -> Response[str]:
    return render(request, "accounts/profile.html", {"errors": {}, "values": {}})


@post("/settings/profile")
async def profile_submit(request: Req, current: Current) -> Response[str]:
    values = await _form(request)
    section = values.get("section", "name")
    try:
        if section == "email":
            await services.change_email(
                current, values.get("email", ""), values.get("current_password", "")
            )
            message = "Email changed. We sent a link to the new address to verify it."
        elif section == "password":
            await services.change_password(
                current,
                values.get("current_password", ""),
                values.get("new_password", ""),
                values.get("confirm", ""),
            )
            session = get_session(request)
            await sessions.destroy_user_sessions(
                str(current.user_id), keep_key=sessions.session_key(session.sid)
            )
            message = "Password changed. Your other sessions were signed out."
        else:
            await services.update_profile(current, values.get("name", ""))
            message = "Profile saved."
    except FormInvalid as exc:
        for secret in ("current_password", "new_password", "confirm"):
            values.pop(secret, None)
        ctx = {"errors": exc.errors, "values": values, "section": section}
        return render(request, "accounts/profile.html", ctx, status=422)
    get_session(request).flash("success", message)
    return redirect(request, "/settings/profile")


@get("/settings/company")
async def company_page(request: Req, current: Current) -> Response[str]:
    return render(request, "accounts/company.html", {"errors": {}, "values": {}})


@post("/settings/company")
async def company_submit(request: Req, current: Current) -> Response[str]:
    values = await _form(request)
    try:
        await services.rename_company(current, values.get("company", ""))
    except FormInvalid as exc:
        ctx = {"errors": exc.errors, "values": values}
        return render(request, "accounts/company.html", ctx, block="form", status=422)
    get_session(request).flash("success", "Company details saved.")
    return redirect(request, "/settings/company")


async def _team_page(
    request: Req,
    current: Current,
    errors: dict[str, str],
    values: dict[str, str],
    status: int = 200,
) -> Response[str]:
    ctx = {
        "members": await team.list_members(current),
        "invitations": await team.list_invitations(current),
        "roles": ROLES,
        "errors": errors,
        "values": values,
    }
    return render(request, "accounts/team.html", ctx, status=status)


@get("/settings/team")
async def team_page(request: Req, current: Current) -> Response[str]:
    return await _team_page(request, current, {}, {})


@post("/settings/team/invite")
async def team_invite(request: Req, current: Current) -> Response[str]:
    values = await _form(request)
    await guard.limit_invitations(request, current.user_id)
    try:
        await team.invite(current, values.get("email", ""), values.get("role", "member"))
    except FormInvalid as exc:
        return await _team_page(request, current, exc.errors, values, status=422)
    get_session(request).flash("success", f"Invitation sent to {values.get('email', '').strip()}.")
    return redirect(request, "/settings/team")


@post("/settings/team/invitations/{invitation_id:uuid}/revoke")
async def team_revoke(request: Req, current: Current, invitation_id: UUID) -> Response[str]:
    await team.revoke_invitation(current, invitation_id)
    get_session(request).flash("info", "Invitation withdrawn.")
    return redirect(request, "/settings/team")


@post("/settings/team/members/{membership_id:uuid}/role")
async def team_role(request: Req, current: Current, membership_id: UUID) -> Response[str]:
    values = await _form(request)
    try:
        await team.change_role(current, membership_id, values.get("role", ""))
    except FormInvalid as exc:
        return await _team_page(request, current, exc.errors, values, status=422)
    get_session(request).flash("success", "Role updated.")
    return redirect(request, "/settings/team")


@post("/settings/team/members/{membership_id:uuid}/remove")
async def team_remove(request: Req, current: Current, membership_id: UUID) -> Response[str]:
    try:
        await team.remove_member(current, membership_id)
    except FormInvalid as exc:
        return await _team_page(request, current, exc.errors, {}, status=422)
    get_session(request).flash("success", "Member removed from the workspace.")
    return redirect(request, "/settings/team")


@get("/workspaces")
async def workspaces_page(request: Req, current: Current) -> Response[str]:
    workspaces = await services.list_workspaces(current.user_id)
    return render(request, "accounts/workspaces.html", {"workspaces": workspaces})


@post("/workspaces/{tenant_id:uuid}/switch")
async def workspace_switch(request: Req, current: Current, tenant_id: UUID) -> Response[str]:
    """Open another workspace the user belongs to (membership checked, else 404)."""
    if tenant_id not in {w["tenant_id"] for w in await services.list_workspaces(current.user_id)}:
        raise RecordNotFound()
    session = get_session(request)
    session.tenant_id = str(tenant_id)
    session.dirty = True
    return redirect(request, "/app")


@get("/invite/accept")
async def invite_page(
    request: Req, token: str = Parameter(query="token", default="")
) -> Response[str]:
    try:
        preview = await team.preview_invitation(token)
    except FormInvalid as exc:
        return render(request, "accounts/verify.html", {"error": exc.errors["token"]}, status=400)
    ctx = {"preview": preview, "token": token, "errors": {}, "values": {}}
    return render(request, "accounts/invite_accept.html", ctx)


@post("/invite/accept")
async def invite_submit(request: Req) -> Response[str]:
    values = await _form(request)
    token = values.get("token", "")
    session = get_session(request)
    proved_at = time.time()  # the mailed link (and the password, for a new account)
    try:
        user_id, tenant_id = await team.accept_invitation(
            token,
            UUID(session.user_id) if session.user_id else None,
            values.get("name", ""),
            values.get("password", ""),
        )
    except FormInvalid as exc:
        if "token" in exc.errors:
            failed = {"error": exc.errors["token"]}
            return render(request, "accounts/verify.html", failed, status=400)
        preview = await team.preview_invitation(token)
        values.pop("password", None)
        ctx: dict[str, object] = {
            "preview": preview,
            "token": token,
            "errors": exc.errors,
            "values": values,
        }
        return render(request, "accounts/invite_accept.html", ctx, block="form", status=422)
    await sign_in(request, user_id, tenant_id, proved_at=proved_at)
    session.flash("success", "You've joined the workspace.")
    return redirect(request, "/app")


ROUTES = [
    # the person's own account and workspaces: open to an owner held by the MFA rule
    routes_at(Level.SIGNED_IN, [profile_page, profile_submit, workspaces_page, workspace_switch]),
    routes_at(Level.MEMBER, [team_page]),
    routes_at(
        Level.ADMIN,
        [company_page, company_submit, team_invite, team_revoke, team_role, team_remove],
    ),
    routes_at(Level.PUBLIC, [invite_page, invite_submit]),
]
