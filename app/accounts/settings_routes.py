"""Settings pages: profile (right to correct), company, team and invitations."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import partial
from uuid import UUID

from litestar import Response, get, post

from app.accounts import guard, services, team
from app.accounts.deps import routes_at
from app.accounts.form_routes import shown_again
from app.accounts.forms import (
    CompanyNameForm,
    CurrencyForm,
    InviteAcceptForm,
    InviteForm,
    ProfileEmail,
    ProfileName,
    ProfilePassword,
    ProfileRegion,
    ProfileSection,
    RoleForm,
    SellerForm,
    TokenQuery,
)
from app.accounts.pages import FormsPage, said
from app.accounts.routes import link_refused, sign_in
from app.accounts.schemas import ROLES, Current
from app.core import formats, sessions
from app.core.access import Level
from app.core.errors import FormInvalid, RecordNotFound, declare_form_page
from app.core.forms import read_form, read_query
from app.core.http_types import Req
from app.core.money import currencies
from app.core.web import get_session, redirect, refused_form, render


@get("/settings/profile")
async def profile_page(request: Req, current: Current) -> Response[str]:
    return render(request, "accounts/profile.html", {"errors": {}, "values": {}, **_region()})


def _region() -> dict[str, object]:
    """The time zone and format choices of the profile page."""
    return {
        "time_zones": sorted(formats.time_zones()),
        "locales": formats.LOCALES,
        "now": datetime.now(UTC),
    }


@post("/settings/profile")
async def profile_submit(request: Req, current: Current) -> Response[str]:
    section = (await read_form(request, ProfileSection)).section
    page = refused_form(request, "accounts/profile.html", block=None, section=section, **_region())
    if section == "region":
        region = await read_form(request, ProfileRegion, page=page)
        await services.update_region(current, region.time_zone, region.locale)
        message = "Time zone and formats saved."
    elif section == "email":
        email = await read_form(request, ProfileEmail, page=page)
        await services.change_email(current, email.email, email.current_password)
        message = "Email changed. We sent a link to the new address to verify it."
    elif section == "password":
        change = await read_form(request, ProfilePassword, page=page)
        await services.change_password(current, change.current_password, change.new_password)
        session = get_session(request)
        await sessions.destroy_user_sessions(
            str(current.user_id), keep_key=sessions.session_key(session.sid)
        )
        message = "Password changed. Your other sessions were signed out."
    else:
        name = await read_form(request, ProfileName, page=page)
        await services.update_profile(current, name.name)
        message = "Profile saved."
    return redirect(request, "/settings/profile", message)


async def _company_context(current: Current) -> dict[str, object]:
    """Company settings: the name, seller details and currency forms (any one refused)."""
    return {
        "seller_errors": {},
        "seller_values": await services.get_seller(current),
        "currency_errors": {},
        "currency_values": await services.get_currency(current),
        "currencies": currencies(),
    }


COMPANY = FormsPage("/settings/company", "accounts/company.html", _company_context, block="form")
company_page = COMPANY.page()
company_submit = COMPANY.action(
    COMPANY.path,
    CompanyNameForm,
    lambda c, f: said(services.rename_company(c, f.company), "Company details saved."),
)


async def _save_seller(current: Current, form: SellerForm) -> str:
    """The seller details printed on invoices (legal name, address, VAT id, payment, footer)."""
    values = {key: getattr(form, key) for key in services.SELLER_FIELDS}
    await services.save_seller(current, values, form.version)
    return "Seller details saved. New invoice pages and PDFs show them."


async def _save_currency(current: Current, form: CurrencyForm) -> str:
    """The default currency of deal totals and the exchange rates to it."""
    await services.save_currency(current, form.default_currency, form.parsed_rates(), form.version)
    return "Currency and exchange rates saved."


company_seller_submit = COMPANY.action(
    "/settings/company/seller", SellerForm, _save_seller, slot="seller"
)
company_currency_submit = COMPANY.action(
    "/settings/company/currency", CurrencyForm, _save_currency, slot="currency"
)


async def _team_context(current: Current) -> dict[str, object]:
    return {
        "members": await team.list_members(current),
        "invitations": await team.list_invitations(current),
        "roles": ROLES,
    }


TEAM = FormsPage("/settings/team", "accounts/team.html", _team_context)
team_page = TEAM.page()


async def _invite(current: Current, form: InviteForm) -> str:
    await team.invite(current, form.email, form.role)
    return f"Invitation sent to {form.email}."


@post("/settings/team/invite")
async def team_invite(request: Req, current: Current) -> Response[str]:
    await guard.limit_invitations(request, current.user_id)  # every send counts, refused too
    return await TEAM.submit(request, current, InviteForm, _invite)


@post("/settings/team/invitations/{invitation_id:uuid}/revoke")
async def team_revoke(request: Req, current: Current, invitation_id: UUID) -> Response[str]:
    await team.revoke_invitation(current, invitation_id)
    return redirect(request, TEAM.path, "Invitation withdrawn.", level="info")


team_role = TEAM.item_action(
    "/settings/team/members/{membership_id:uuid}/role",
    RoleForm,
    lambda c, membership_id, f: said(team.change_role(c, membership_id, f.role), "Role updated."),
)


@post("/settings/team/members/{membership_id:uuid}/remove")
async def team_remove(request: Req, current: Current, membership_id: UUID) -> Response[str]:
    declare_form_page(request, shown_again(TEAM.show, request, current))
    await team.remove_member(current, membership_id)
    return redirect(request, TEAM.path, "Member removed from the workspace.")


@get("/workspaces")
async def workspaces_page(request: Req, current: Current) -> Response[str]:
    workspaces = await services.list_workspaces(current.user_id)
    return render(request, "accounts/workspaces.html", {"workspaces": workspaces})


@post("/workspaces/{tenant_id:uuid}/switch")
async def workspace_switch(request: Req, current: Current, tenant_id: UUID) -> Response[str]:
    """Open another workspace the user belongs to (membership checked, else 404)."""
    if tenant_id not in {w.tenant_id for w in await services.list_workspaces(current.user_id)}:
        raise RecordNotFound()
    session = get_session(request)
    session.tenant_id = str(tenant_id)
    session.dirty = True
    return redirect(request, "/app")


@get("/invite/accept")
async def invite_page(request: Req) -> Response[str]:
    page = partial(link_refused, request)
    token = read_query(request, TokenQuery, page=page).token
    preview = await team.preview_invitation(token)
    ctx = {"preview": preview, "token": token, "errors": {}, "values": {}}
    return render(request, "accounts/invite_accept.html", ctx)


async def _refused_invite(request: Req, refused: FormInvalid) -> Response[str]:
    """The accept form again; an invitation that can't be used says why instead (400)."""
    token = str(refused.shown().get("token", ""))
    if "token" in refused.errors:
        return await link_refused(request, refused)
    try:
        preview = await team.preview_invitation(token)
    except FormInvalid as gone:  # the token itself is broken or withdrawn
        return await link_refused(request, gone)
    ctx = {"preview": preview, "token": token, "errors": refused.errors}
    ctx["values"] = refused.shown()
    return render(request, "accounts/invite_accept.html", ctx, block="form")


@post("/invite/accept")
async def invite_submit(request: Req) -> Response[str]:
    form = await read_form(request, InviteAcceptForm, page=partial(_refused_invite, request))
    session = get_session(request)
    proved_at = time.time()  # the mailed link (and the password, for a new account)
    user_id, tenant_id = await team.accept_invitation(
        form.token,
        UUID(session.user_id) if session.user_id else None,
        form.name,
        form.password,
    )
    await sign_in(request, user_id, tenant_id, proved_at=proved_at)
    session.flash("success", "You've joined the workspace.")
    return redirect(request, "/app")


ROUTES = [
    # the person's own account and workspaces: open to an owner held by the MFA rule
    routes_at(Level.SIGNED_IN, [profile_page, profile_submit, workspaces_page, workspace_switch]),
    routes_at(Level.MEMBER, [team_page]),
    routes_at(
        Level.ADMIN,
        [
            company_page,
            company_submit,
            company_seller_submit,
            company_currency_submit,
            team_invite,
            team_revoke,
            team_role,
            team_remove,
        ],
    ),
    routes_at(Level.PUBLIC, [invite_page, invite_submit]),
]
