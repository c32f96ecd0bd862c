"""Webhook settings (admins and owners): subscriptions, the secret shown once, the delivery log
with redelivery. One template serves the page and its htmx fragments."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Protocol
from uuid import UUID

from litestar import Response, get, post

from app.accounts.deps import routes_at
from app.accounts.form_routes import FormVisit, form_routes
from app.accounts.schemas import Current
from app.core.access import Level
from app.core.errors import FormInvalid
from app.core.forms import read_form, read_query
from app.core.http_types import Req
from app.core.web import get_session, redirect, render
from app.webhooks import services
from app.webhooks.forms import DeleteForm, LogQuery, WebhookEdit, WebhookForm
from app.webhooks.schemas import EVENTS, SIGNATURE_HEADER
from app.webhooks.scopes import PERSONAL_LABEL, SCOPES, scope_of

BASE = "/settings/webhooks"
# unticked boxes send nothing: a refused form shows them unticked, not as stored
UNTICKED: dict[str, object] = {"events": [], "scopes": [], "personal_data": ""}


class _HookFields(Protocol):
    """What the webhook form shows: a submitted form's fields or the stored webhook's."""

    @property
    def url(self) -> str: ...
    @property
    def events(self) -> list[str]: ...
    @property
    def scopes(self) -> list[str]: ...
    @property
    def personal_data(self) -> bool: ...
    @property
    def description(self) -> str: ...


def _shown(hook: _HookFields, version: int | None = None) -> dict[str, object]:
    """The form's values as the template shows them (the edit form's with the version)."""
    values: dict[str, object] = {
        "url": hook.url,
        "events": hook.events,
        "scopes": hook.scopes,
        "personal_data": "on" if hook.personal_data else "",
        "description": hook.description,
    }
    if version is not None:
        values["version"] = str(version)
    return values


def _choices() -> dict[str, object]:
    """What the webhook form offers: the events (each with the scope it needs), the scopes."""
    return {
        "events": [(e, label, SCOPES[scope_of(e)]) for e, label in EVENTS.items()],
        "scopes": list(SCOPES.items()),
        "personal_label": PERSONAL_LABEL,
    }


async def _list_page(
    request: Req,
    current: Current,
    *,
    values: Mapping[str, object] | None = None,
    errors: dict[str, str] | None = None,
    created: services.Created | None = None,
    status: int = 200,
) -> Response[str]:
    ctx = {
        "hooks": await services.list_hooks(current),
        **_choices(),
        "scope_names": SCOPES,
        "values": values or UNTICKED,
        "errors": errors or {},
        "created": created,
        "signature_header": SIGNATURE_HEADER,
    }
    return render(request, "webhooks/webhooks.html", ctx, block="hooks", status=status)


@get(BASE)
async def webhooks_page(request: Req, current: Current) -> Response[str]:
    return await _list_page(request, current)


async def _refused(request: Req, current: Current, refused: FormInvalid) -> Response[str]:
    return await _list_page(
        request, current, values=refused.shown(), errors=refused.errors, status=422
    )


@post(BASE)
async def webhook_create(request: Req, current: Current) -> Response[str]:
    form = await read_form(request, WebhookForm, page=partial(_refused, request, current))
    try:
        created = await services.create_hook(current, form)
    except FormInvalid as refused:
        refused.values = refused.values or _shown(form)
        return await _refused(request, current, refused)
    # the secret is shown in this answer only (never stored in clear, never in a redirect)
    return await _list_page(request, current, created=created)


async def _log_page(
    request: Req,
    current: Current,
    hook_id: UUID,
    *,
    rotated: services.Created | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response[str]:
    query = read_query(request, LogQuery)
    hook = await services.get_hook(current, hook_id)
    rows, more = await services.delivery_log(current, hook_id, query.before)
    ctx = {
        "hook": hook,
        "deliveries": rows,
        "next_url": f"{BASE}/{hook_id}?before={more}" if more else None,
        "events": EVENTS,
        "scope_names": SCOPES,
        "personal_label": PERSONAL_LABEL,
        "rotated": rotated,
        "errors": errors or {},
        "signature_header": SIGNATURE_HEADER,
    }
    return render(request, "webhooks/webhook.html", ctx, block="log", status=status)


async def _edit_page(visit: FormVisit, hook_id: UUID) -> Response[str]:
    """The edit form: the webhook as stored, or the refused input with its messages."""
    refused = visit.refused
    hook = await services.get_hook(visit.current, hook_id)
    values: Mapping[str, object] = _shown(hook, hook.version)
    if refused is not None:
        values = {**values, **UNTICKED, **(refused.shown() or {})}
    ctx = {
        "hook": hook,
        **_choices(),
        "values": values,
        "errors": refused.errors if refused else {},
    }
    return render(
        visit.request, "webhooks/webhook_edit.html", ctx, status=refused.status if refused else 200
    )


async def _save_edit(
    request: Req, current: Current, hook_id: UUID, form: WebhookEdit
) -> Response[str]:
    try:
        await services.update_hook(current, hook_id, form)
    except FormInvalid as refused:  # the address refused, or changed meanwhile (409)
        refused.values = refused.values or _shown(form, form.version)
        return await _edit_page(FormVisit(request, current, refused), hook_id)
    get_session(request).flash("success", "The webhook is saved.")
    return redirect(request, f"{BASE}/{hook_id}")


EDIT_ROUTES = form_routes(
    "webhook_update", BASE + "/{hook_id:uuid}/edit", _edit_page, WebhookEdit, _save_edit
)


async def _refused_rotate(
    request: Req, current: Current, hook_id: UUID, refused: FormInvalid
) -> Response[str]:
    """A rotation from a stale or broken form: the webhook's page again, saying why (422)."""
    return await _log_page(request, current, hook_id, errors=refused.beside(), status=422)


@post(BASE + "/{hook_id:uuid}/rotate")
async def webhook_rotate(request: Req, current: Current, hook_id: UUID) -> Response[str]:
    page = partial(_refused_rotate, request, current, hook_id)
    form = await read_form(request, DeleteForm, page=page)
    try:
        rotated = await services.rotate_secret(current, hook_id, form.version)
    except FormInvalid as refused:
        return await _refused_rotate(request, current, hook_id, refused)
    # the new secret is shown in this answer only (never stored in clear, never in a redirect)
    return await _log_page(request, current, hook_id, rotated=rotated)


async def _refused_delete(request: Req, current: Current, refused: FormInvalid) -> Response[str]:
    """A delete from a stale or broken form: back to the list, saying why (422)."""
    return await _list_page(request, current, errors=refused.beside(), status=422)


@get(BASE + "/{hook_id:uuid}")
async def webhook_log(request: Req, current: Current, hook_id: UUID) -> Response[str]:
    return await _log_page(request, current, hook_id)


@post(BASE + "/{hook_id:uuid}/enable")
async def webhook_enable(request: Req, current: Current, hook_id: UUID) -> Response[str]:
    await services.set_enabled(current, hook_id, True)
    get_session(request).flash("success", "The webhook is on again.")
    return redirect(request, f"{BASE}/{hook_id}")


@post(BASE + "/{hook_id:uuid}/disable")
async def webhook_disable(request: Req, current: Current, hook_id: UUID) -> Response[str]:
    await services.set_enabled(current, hook_id, False)
    get_session(request).flash("success", "The webhook is off: no events are sent to it.")
    return redirect(request, f"{BASE}/{hook_id}")


@post(BASE + "/{hook_id:uuid}/delete")
async def webhook_delete(request: Req, current: Current, hook_id: UUID) -> Response[str]:
    form = await read_form(request, DeleteForm, page=partial(_refused_delete, request, current))
    await services.delete_hook(current, hook_id, form.version)
    get_session(request).flash("success", "The webhook and its delivery log are deleted.")
    return redirect(request, BASE)


@post(BASE + "/{hook_id:uuid}/deliveries/{delivery_id:uuid}/redeliver")
async def webhook_redeliver(
    request: Req, current: Current, hook_id: UUID, delivery_id: UUID
) -> Response[str]:
    try:
        await services.redeliver(current, hook_id, delivery_id)
    except FormInvalid as refused:  # the webhook may no longer read the event's record
        return await _log_page(request, current, hook_id, errors=refused.beside(), status=422)
    get_session(request).flash("success", "Sent again: the new delivery is at the top of the log.")
    return redirect(request, f"{BASE}/{hook_id}")


ROUTES = [
    routes_at(
        Level.ADMIN,
        [
            webhooks_page,
            webhook_create,
            webhook_log,
            *EDIT_ROUTES,
            webhook_rotate,
            webhook_enable,
            webhook_disable,
            webhook_delete,
            webhook_redeliver,
        ],
    )
]
