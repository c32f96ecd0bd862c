"""Public privacy pages: the policy and its versions, processors, cookie consent, staff publish."""

from __future__ import annotations

from litestar import Response, get, post

from app.accounts.deps import optional_current, routes_at
from app.accounts.pages import FormsPage
from app.accounts.schemas import Current
from app.core.access import Level
from app.core.errors import RecordNotFound
from app.core.forms import read_form, read_query
from app.core.http_types import Req
from app.core.web import client_ip, get_session, redirect, render, safe_local_path
from app.privacy import consent, policy
from app.privacy.forms import AcknowledgeForm, ConsentForm, PolicyQuery, PublishForm, ReturnQuery
from app.privacy.middleware import state_of
from app.privacy.processors import processors
from app.settings import get_settings


@get("/privacy")
async def policy_page(request: Req) -> Response[str]:
    version = read_query(request, PolicyQuery).version
    await optional_current(request)
    info = await policy.overview()
    shown: policy.PolicyVersionRow | None = info["current"]
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
    back = safe_local_path(read_query(request, ReturnQuery).next, default="")
    if back.split("?", 1)[0] == "/settings/cookies":
        back = ""
    return render(request, "privacy/cookies.html", {"back": back})


@post("/privacy/consent")
async def consent_submit(request: Req) -> Response[str]:
    """Record Accept / Reject (banner) or the preferences toggle; effective in this response."""
    form = await read_form(request, ConsentForm)
    session = get_session(request)
    granted = form.choice == "accept"
    target = safe_local_path(form.next)
    await consent.record_choice(
        granted=granted,
        user_id=session.user_id,
        visitor_id=session.visitor_id,
        source=form.source,
        page=target.split("?", 1)[0],  # proof of where, never a token of the query
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
    return redirect(request, target)


@post("/privacy/acknowledge")
async def acknowledge_submit(request: Req, current: Current) -> Response[str]:
    form = await read_form(request, AcknowledgeForm)
    await policy.acknowledge(current.user_id, form.policy_version)
    state = state_of(request.scope)
    if state is not None:
        state.policy_notice = None
    return redirect(request, safe_local_path(form.next))


async def _publish_context(current: Current) -> dict[str, object]:
    return {
        "earliest": policy.earliest_effective().date().isoformat(),
        "versions": await policy.versions(),
    }


async def _publish(current: Current, form: PublishForm) -> str:
    effective = policy.parse_effective(form.effective_at)
    version = await policy.publish_version(current, form.summary, effective, form.body_md)
    return f"Version {version} published. Every user is being notified."


PUBLISH = FormsPage("/privacy/admin", "privacy/publish.html", _publish_context)
publish_page = PUBLISH.page()
publish_submit = PUBLISH.action(PUBLISH.path, PublishForm, _publish)


ROUTES = [
    routes_at(Level.PUBLIC, [policy_page, processors_page, cookies_page, consent_submit]),
    routes_at(Level.SIGNED_IN, [acknowledge_submit]),
    routes_at(Level.STAFF, [publish_page, publish_submit]),
]
