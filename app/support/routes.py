"""Support pages: the public contact form and the staff inbox (thin routes)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from urllib.parse import urlencode

from litestar import Response, get, post

from app.accounts.deps import optional_current, routes_at
from app.accounts.form_routes import FormVisit, form_routes, shown_again
from app.accounts.schemas import Current
from app.core.access import Level
from app.core.errors import FormInvalid
from app.core.forms import read_form, read_query
from app.core.http_types import Req
from app.core.web import client_ip, redirect, render
from app.support import services
from app.support.forms import (
    Honeypot,
    InboxQuery,
    InquiryForm,
    ReplyForm,
    SupportQuery,
    TicketStatus,
)


def _form_context(
    values: Mapping[str, object], errors: dict[str, str], who: Current | None, sent: bool = False
) -> dict[str, object]:
    return {
        "values": values,
        "errors": errors,
        "topics": list(services.TOPICS.items()),
        "who": who,
        "sent": sent,
        "max_message": services.MAX_MESSAGE,
    }


@get("/support", name="support")
async def support_page(request: Req) -> Response[str]:
    query = read_query(request, SupportQuery)
    who = await optional_current(request)
    values = {"topic": query.topic}
    if who is not None:
        values.update(name=who.name, email=who.email)
    return render(request, "support/form.html", _form_context(values, {}, who, query.sent == "1"))


async def _refused_inquiry(request: Req, refused: FormInvalid) -> Response[str]:
    """The form again (422, the rate limit too: htmx swaps it in place with the wait)."""
    ctx = _form_context(refused.shown(), refused.errors, await optional_current(request))
    return render(request, "support/form.html", ctx, block="form")


@post("/support")
async def support_submit(request: Req) -> Response[str]:
    if (await read_form(request, Honeypot)).website:
        # Look the same as success to the bot, store nothing.
        return redirect(request, "/support?sent=1")
    inquiry = await read_form(request, InquiryForm, page=partial(_refused_inquiry, request))
    who = await optional_current(request)
    ticket_id = await services.submit_inquiry(
        inquiry, who.user_id if who else None, client_ip(request.scope)
    )
    return redirect(
        request,
        "/support?sent=1",
        f"Thanks! We received your request #{ticket_id} and mailed you a copy.",
    )


@get("/staff/support")
async def inbox(request: Req, current: Current) -> Response[str]:
    query = read_query(request, InboxQuery)
    chosen, q, before = query.status, query.q, query.before or None
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


async def _ticket_page(visit: FormVisit, ticket_id: int) -> Response[str]:
    """The ticket with its thread and the reply form (a refused reply: that form again)."""
    refused = visit.refused
    ticket, thread = await services.get_ticket(visit.current, ticket_id)
    ctx = {
        "ticket": ticket,
        "thread": thread,
        "topics": services.TOPICS,
        "errors": refused.errors if refused else {},
        "values": {"body": refused.shown().get("body", "")} if refused else {"body": ""},
    }
    return render(visit.request, "support/ticket.html", ctx, block="reply" if refused else None)


async def _send_reply(
    request: Req, current: Current, ticket_id: int, form: ReplyForm
) -> Response[str]:
    await services.reply_to_ticket(current, ticket_id, form.body, form.close)
    return redirect(
        request, f"/staff/support/{ticket_id}", f"Reply sent to the requester of #{ticket_id}."
    )


TICKET = "/staff/support/{ticket_id:int}"
# the ticket's page and the reply form on it
TICKET_ROUTES = form_routes(
    "ticket_reply", TICKET, _ticket_page, ReplyForm, _send_reply, posts_to=TICKET + "/reply"
)


@post("/staff/support/{ticket_id:int}/status")
async def ticket_status(request: Req, current: Current, ticket_id: int) -> Response[str]:
    page = shown_again(_ticket_page, request, current, ticket_id)
    form = await read_form(request, TicketStatus, page=page)
    await services.set_ticket_status(current, ticket_id, form.status)
    return redirect(
        request, f"/staff/support/{ticket_id}", f"Request #{ticket_id} is now {form.status}."
    )


ROUTES = [
    routes_at(Level.PUBLIC, [support_page, support_submit]),  # the form works signed out too
    routes_at(Level.STAFF, [inbox, *TICKET_ROUTES, ticket_status]),
]
