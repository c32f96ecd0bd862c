"""Billing pages (plan, usage, invoices, upgrade, portal, test mode) and the Stripe webhook."""

from __future__ import annotations

from functools import partial

import msgspec
from litestar import Response, get, post

from app.accounts.deps import routes_at
from app.accounts.schemas import Current
from app.billing import services, simulate, stripe_client
from app.billing.forms import BillingQuery, PlanForm, PlanQuery, PortalAction
from app.billing.webhooks import receive_webhook
from app.core.access import Level
from app.core.errors import FormInvalid, declare_form_page
from app.core.forms import read_form, read_query
from app.core.http_types import Req
from app.core.web import get_session, redirect, render

PAGE = "billing/page.html"
BILLING = "/settings/billing"


async def _page(
    request: Req,
    current: Current,
    *,
    errors: dict[str, str] | None = None,
    waiting_from: str = "",
    block: str | None = None,
) -> Response[str]:
    overview = await services.billing_overview(current)
    waiting = bool(waiting_from) and await _still_confirming(overview, waiting_from)
    ctx = msgspec.structs.asdict(overview) | {
        "errors": errors or {},
        "waiting_from": waiting_from if waiting else "",
    }
    return render(request, PAGE, ctx, block=block)


async def _overview_ctx(current: Current, **extra: object) -> dict[str, object]:
    """The billing page's data as a template context, with `extra` names."""
    return msgspec.structs.asdict(await services.billing_overview(current)) | extra


async def _still_confirming(overview: services.BillingOverview, from_plan: str) -> bool:
    """After a checkout: the plan has not changed yet, or the events that came with the change
    (the invoice) are still being applied, so the page keeps polling and reloads once all is
    in (a reload at the plan change alone could show the new plan without its invoice)."""
    return overview.plan.key == from_plan or await services.events_pending(overview.account) > 0


async def _refused(request: Req, current: Current, refused: FormInvalid) -> Response[str]:
    return await _page(request, current, errors=refused.errors)


@get(BILLING)
async def billing_page(request: Req, current: Current) -> Response[str]:
    query = read_query(request, BillingQuery)
    if query.checkout == "cancelled":
        get_session(request).flash("info", "Checkout cancelled: nothing was charged.")
    waiting_from = query.from_plan if query.checkout == "success" else ""
    return await _page(request, current, waiting_from=waiting_from)


@get(f"{BILLING}/status")
async def billing_status(request: Req, current: Current) -> Response[str]:
    """The plan summary, polled by the page while an upgrade is being confirmed; once the plan
    changed the whole page reloads (plans and invoices change with it)."""
    from_plan = read_query(request, BillingQuery).from_plan
    overview = await services.billing_overview(current)
    if from_plan and not await _still_confirming(overview, from_plan):
        return Response("", status_code=200, headers={"HX-Refresh": "true"})
    if from_plan and overview.plan.key != from_plan:
        # the new plan is in, the rest of the checkout (its invoice) not yet: keep showing the
        # waiting summary (204: htmx swaps nothing) and reload once it is all there
        return Response("", status_code=204)
    return await _page(request, current, waiting_from=from_plan, block="summary")


@post(f"{BILLING}/checkout")
async def billing_checkout(request: Req, current: Current) -> Response[str]:
    form = await read_form(request, PlanForm, page=partial(_refused, request, current))
    try:
        url = await services.start_checkout(current, form.plan)
    except stripe_client.BillingUnavailable as exc:
        raise FormInvalid({"form": str(exc)}) from exc
    return redirect(request, url)


@post(f"{BILLING}/portal")
async def billing_portal(request: Req, current: Current) -> Response[str]:
    declare_form_page(request, partial(_refused, request, current))
    try:
        url = await services.open_portal(current)
    except stripe_client.BillingUnavailable as exc:
        raise FormInvalid({"form": str(exc)}) from exc
    return redirect(request, url)


@get(f"{BILLING}/test-checkout")
async def test_checkout_page(request: Req, current: Current) -> Response[str]:
    if not stripe_client.is_test_mode():
        return redirect(request, BILLING)
    declare_form_page(request, partial(_refused, request, current))
    chosen = services.paid_plan(read_query(request, PlanQuery).plan)
    ctx = await _overview_ctx(current, errors={}, chosen=chosen)
    return render(request, "billing/test_checkout.html", ctx)


@post(f"{BILLING}/test-checkout")
async def test_checkout_submit(request: Req, current: Current) -> Response[str]:
    form = await read_form(request, PlanForm, page=partial(_refused, request, current))
    before = (await services.billing_overview(current)).plan.key
    await simulate.simulate_checkout(current, form.plan)
    return redirect(request, f"{BILLING}?checkout=success&from={before}")


@get(f"{BILLING}/test-portal")
async def test_portal_page(request: Req, current: Current) -> Response[str]:
    if not stripe_client.is_test_mode():
        return redirect(request, BILLING)
    ctx = await _overview_ctx(current, errors={})
    return render(request, "billing/test_portal.html", ctx)


async def _refused_portal(request: Req, current: Current, refused: FormInvalid) -> Response[str]:
    ctx = await _overview_ctx(current, errors=refused.errors)
    return render(request, "billing/test_portal.html", ctx)


@post(f"{BILLING}/test-portal")
async def test_portal_submit(request: Req, current: Current) -> Response[str]:
    page = partial(_refused_portal, request, current)
    form = await read_form(request, PortalAction, page=page)
    await simulate.simulate_portal_action(current, form.action)
    get_session(request).flash("success", "Test event sent. The page updates once it's applied.")
    return redirect(request, BILLING)


@post("/billing/webhook", status_code=200)
async def stripe_webhook(request: Req) -> Response[dict[str, str]]:
    """Stripe's webhook: 200 once stored (the job applies it), 400 when the signature fails."""
    session = get_session(request)
    session.dirty = session.is_new = False  # Stripe gets no session stored and no cookie
    payload = await request.body()
    try:
        event_id = await receive_webhook(payload, request.headers.get("stripe-signature"))
    except stripe_client.InvalidSignature:
        return Response({"error": "invalid signature"}, status_code=400)
    return Response({"received": event_id}, status_code=200)


ROUTES = [
    routes_at(Level.MEMBER, [billing_page, billing_status]),
    routes_at(
        Level.ADMIN,
        [
            billing_checkout,
            billing_portal,
            test_checkout_page,
            test_checkout_submit,
            test_portal_page,
            test_portal_submit,
        ],
    ),
    routes_at(Level.PUBLIC, [stripe_webhook]),  # signed by Stripe, checked in the handler
]
