"""Public privacy pages: the policy and its versions, processors, cookie consent, staff publish."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import ClientException
from litestar.params import Parameter

from app.accounts.deps import optional_current, routes_at
from app.accounts.routes import _form
from app.accounts.schemas import Current
from app.core.access import Level
from app.core.errors import FormInvalid, RecordNotFound
from app.core.web import client_ip, get_session, redirect, render, safe_local_path
from app.privacy import consent, policy
from app.privacy.middleware import state_of
from app.privacy.processors import processors
from app.settings import get_settings

Req = Request[Any, Any, Any]


@get("/privacy")
async def policy_page(
    request: Req, version: int | None = Parameter(query="version", default=None)
) -> Response[str]:
    await optional_current(request)
    info = await policy.overview()
    shown = info["current"]
    if version is not None:
        shown = next((r for r in info["history"] if r["version"] == version), None)
        if shown is None:
            raise RecordNotFound()
    ctx = {
        "in_force": info["current"],  # not "current": that is the signed-in user
        "upcoming": info["upcoming"],
        "history": info["history"],
        "shown": shown,
        "policy_html": policy.policy_html(shown),
    }
    return render(request, "privacy/policy.html", ctx)


@get("/privacy/processors")
async def processors_page(request: Req) -> Response[str]:
    await optional_current(request)
    return render(request, "privacy/processors.html", {"processors": processors(get_settings())})


@get("/settings/cookies")
async def cookies_page(request: Req) -> Response[str]:
    await optional_current(request)
    return render(request, "privacy/cookies.html", {})


@post("/privacy/consent")
async def consent_submit(request: Req) -> Response[str]:
    """Record Accept / Reject (banner) or the preferences toggle; effective in this response."""
    values = await _form(request)
    choice = values.get("choice", "")
    if choice not in ("accept", "reject"):
        raise ClientException("Choose whether to allow analytics cookies.")
    session = get_session(request)
    granted = choice == "accept"
    await consent.record_choice(
        granted=granted,
        user_id=session.user_id,
        visitor_id=session.visitor_id,
        source=values.get("source", "banner"),
        page=safe_local_path(values.get("next")),
        ip=client_ip(request.scope),
        user_agent=request.headers.get("user-agent", ""),
    )
    state = state_of(request.scope)
    if state is not None:  # the middleware sets or deletes the analytics cookie from this
        state.consent = granted
    session.flash(
        "success",
        "Analytics cookies allowed. Thank you!" if granted else "Analytics cookies are off.",
    )
    return redirect(request, safe_local_path(values.get("next")))


@post("/privacy/acknowledge")
async def acknowledge_submit(request: Req, current: Current) -> Response[str]:
    values = await _form(request)
    try:
        version = int(values.get("version", ""))
        await policy.acknowledge(current.user_id, version)
    except (ValueError, FormInvalid) as exc:
        raise ClientException("That policy version does not exist.") from exc
    state = state_of(request.scope)
    if state is not None:
        state.policy_notice = None
    return redirect(request, safe_local_path(values.get("next")))


@get("/privacy/admin")
async def publish_page(request: Req, current: Current) -> Response[str]:
    earliest = policy.earliest_effective().date().isoformat()
    ctx = {"errors": {}, "values": {}, "earliest": earliest, "versions": await policy.versions()}
    return render(request, "privacy/publish.html", ctx)


@post("/privacy/admin")
async def publish_submit(request: Req, current: Current) -> Response[str]:
    values = await _form(request)
    try:
        effective = policy.parse_effective(values.get("effective_at", ""))
        version = await policy.publish_version(
            current, values.get("summary", ""), effective, values.get("body_md", "")
        )
    except FormInvalid as exc:
        ctx = {
            "errors": exc.errors,
            "values": values,
            "earliest": policy.earliest_effective().date().isoformat(),
            "versions": await policy.versions(),
        }
        return render(request, "privacy/publish.html", ctx, status=422)
    get_session(request).flash(
        "success", f"Version {version} published. Every user is being notified."
    )
    return redirect(request, "/privacy/admin")


ROUTES = [
    routes_at(Level.PUBLIC, [policy_page, processors_page, cookies_page, consent_submit]),
    routes_at(Level.SIGNED_IN, [acknowledge_submit]),
    routes_at(Level.STAFF, [publish_page, publish_submit]),
]
