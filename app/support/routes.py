"""Support pages: the public contact form and the staff inbox (thin routes)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import Parameter

from app.accounts.deps import optional_current, routes_at
from app.accounts.schemas import Current
from app.core.access import Level
from app.core.errors import FormInvalid
from app.core.web import client_ip, get_session, redirect, render
from app.support import services

Req = Request[Any, Any, Any]
HONEYPOT = "website"  # hidden from people; a bot that fills every field reveals itself


async def _form(request: Req) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


def _form_context(
    values: dict[str, str], errors: dict[str, str], who: Current | None, sent: bool = False
) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "topics": list(services.TOPICS.items()),
        "who": who,
        "sent": sent,
        "max_message": services.MAX_MESSAGE,
    }


@get("/support", name="support")
async def support_page(
    request: Req,
    topic: str = Parameter(query="topic", default="general"),
    sent: str = Parameter(query="sent", default=""),
) -> Response[str]:
    who = await optional_current(request)
    values = {"topic": topic if topic in services.TOPICS else "general"}
    if who is not None:
        values.update(name=who.name, email=who.email)
    return render(request, "support/form.html", _form_context(values, {}, who, sent == "1"))


@post("/support")
async def support_submit(request: Req) -> Response[str]:
    values = await _form(request)
    who = await optional_current(request)
    if values.get(HONEYPOT):
        # Look the same as success to the bot, store nothing.
        return redirect(request, "/support?sent=1")
    try:
        inquiry = services.clean_inquiry(values)
        ticket_id = await services.submit_inquiry(
            inquiry, who.user_id if who else None, client_ip(request.scope)
        )
    except FormInvalid as exc:
        # 422 for the rate limit too: htmx swaps the form in place with the wait time in it
        ctx = _form_context(values, exc.errors, who)
        return render(request, "support/form.html", ctx, block="form", status=422)
    get_session(request).flash(
        "success", f"Thanks! We received your request #{ticket_id} and mailed you a copy."
    )
    return redirect(request, "/support?sent=1")


@get("/staff/support")
async def inbox(
    request: Req,
    current: Current,
    status: str = Parameter(query="status", default="open"),
    q: str = Parameter(query="q", default=""),
    before: str | None = Parameter(query="before", default=None),
) -> Response[str]:
    chosen = status if status in (*services.STATUSES, "all") else "open"
    tickets, older = await services.list_tickets(
        current, None if chosen == "all" else chosen, q, before
    )
    counts = await services.status_counts(current)
    next_url = (
        "/staff/support?" + urlencode({"status": chosen, "q": q, "before": older})
        if older
        else None
    )
    ctx = {
        "tickets": tickets,
        "status": chosen,
        "counts": counts,
        "topics": services.TOPICS,
        "q": q,
        "next_url": next_url,
    }
    return render(request, "support/inbox.html", ctx, block="inbox")


async def _ticket_page(
    request: Req, current: Current, ticket_id: int, errors: dict[str, str], body: str = ""
) -> Response[str]:
    ticket, thread = await services.get_ticket(current, ticket_id)
    ctx = {
        "ticket": ticket,
        "thread": thread,
        "topics": services.TOPICS,
        "errors": errors,
        "values": {"body": body},
    }
    status = 422 if errors else 200
    return render(
        request, "support/ticket.html", ctx, block="reply" if errors else None, status=status
    )


@get("/staff/support/{ticket_id:int}")
async def ticket_detail(request: Req, current: Current, ticket_id: int) -> Response[str]:
    return await _ticket_page(request, current, ticket_id, {})


@post("/staff/support/{ticket_id:int}/reply")
async def ticket_reply(request: Req, current: Current, ticket_id: int) -> Response[str]:
    values = await _form(request)
    body = values.get("body", "")
    try:
        await services.reply_to_ticket(current, ticket_id, body, values.get("close") == "1")
    except FormInvalid as exc:
        return await _ticket_page(request, current, ticket_id, exc.errors, body)
    get_session(request).flash("success", f"Reply sent to the requester of #{ticket_id}.")
    return redirect(request, f"/staff/support/{ticket_id}")


@post("/staff/support/{ticket_id:int}/status")
async def ticket_status(request: Req, current: Current, ticket_id: int) -> Response[str]:
    values = await _form(request)
    status = values.get("status", "")
    try:
        await services.set_ticket_status(current, ticket_id, status)
    except FormInvalid as exc:
        get_session(request).flash("error", exc.errors["status"])
    else:
        get_session(request).flash("success", f"Request #{ticket_id} is now {status}.")
    return redirect(request, f"/staff/support/{ticket_id}")


ROUTES = [
    routes_at(Level.PUBLIC, [support_page, support_submit]),  # the form works signed out too
    routes_at(Level.STAFF, [inbox, ticket_detail, ticket_reply, ticket_status]),
]
