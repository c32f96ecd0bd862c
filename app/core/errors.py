"""Errors for people: domain exceptions and the handlers that turn them into pages."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode

from litestar import Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.types import ExceptionHandler, ExceptionHandlersMap, Receive, Scope, Send

from app.core.availability import (
    BACKEND_DOWN,
    RETRY_AFTER_SECONDS,
    which_service,
)
from app.core.http_types import Req
from app.core.problems import (
    AUTH_DETAIL_KEY,
    FAILED_KEY,
    SCHEMA_CHECKED_KEY,
    is_api_path,
    problem,
)
from app.core.templating import render_html

log = logging.getLogger("odex")
E = TypeVar("E", bound=Exception)


class FormInvalid(Exception):
    """Submitted input broke a rule: `errors` maps each field (or "form") to what to fix;
    `values` is what was submitted, as the form shows it back (filled in from the request
    when the exception is raised further down, e.g. by a service)."""

    status = 422

    def __init__(self, errors: dict[str, str], values: Mapping[str, object] | None = None) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.values = values

    def shown(self) -> dict[str, object]:
        """The values the refused form shows again."""
        return dict(self.values or {})

    def beside(self, *fields: str) -> dict[str, str]:
        """The messages for a page that has a place beside `fields` only: the others join
        the one at the top ("form"), so that none goes unsaid."""
        kept = {k: v for k, v in self.errors.items() if k in fields}
        rest = [v for k, v in self.errors.items() if k not in fields]
        return {**kept, "form": " ".join(rest)} if rest else kept


class UploadRefused(FormInvalid):
    """An upload over the size limit: the form again with the limit, as 413."""

    status = 413


class EditConflict(FormInvalid):
    """Someone else saved the record after this form was filled (its version moved on).

    `theirs` holds the fields the other person changed, as the user reads them; `version` is
    the record's version now, which the form carries so that saving again applies the user's
    input on top of the other change (a deliberate choice, not a silent overwrite)."""

    status = 409

    def __init__(self, message: str, theirs: dict[str, str], version: int) -> None:
        errors = {"form": message}
        errors.update({k: f"Saved meanwhile as “{v}”." for k, v in theirs.items()})
        super().__init__(errors)
        self.theirs = theirs
        self.version = version

    def shown(self) -> dict[str, object]:
        """The user's input, carrying the version saved now (saving again applies it)."""
        return {**(self.values or {}), "version": str(self.version)}


class Forbidden(Exception):
    """The signed-in user's role (or the record's rules) do not allow this action.

    The message says what is refused and who may do it; it is shown to the user with 403.
    """

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class RecordNotFound(Exception):
    """A record is not in the current tenant (missing, deleted, or another tenant's)."""


class LoginRequired(NotAuthorizedException):
    """The page needs a signed-in user."""


FormPage = Callable[[FormInvalid], Awaitable[Response[str]]]
FORM_PAGE_KEY = "odex.form_page"
FORM_VALUES_KEY = "odex.form_values"


def declare_form_page(request: Req, page: FormPage) -> None:
    """Say how this request's form is shown again when its input is refused: `page` renders
    it with the exception's errors and values (the one handler sets the status)."""
    request.scope[FORM_PAGE_KEY] = page  # type: ignore[literal-required]


def remember_form_values(request: Req, values: Mapping[str, object]) -> None:
    """The submitted values as a refused form shows them back."""
    request.scope[FORM_VALUES_KEY] = values  # type: ignore[literal-required]


TITLES = {
    400: "That request didn't make sense",
    401: "Please log in",
    403: "You can't do that",
    404: "We couldn't find that",
    405: "That action isn't available here",
    409: "Someone else changed this meanwhile",
    413: "That upload is too large",
    422: "Please check what you entered",
    429: "Slow down a little",
    500: "Something went wrong on our side",
    503: "Odex is briefly unavailable",
}
HINTS = {
    400: "Check what you entered and try again.",
    403: "If you think you should have access, ask an admin of your workspace.",
    404: "It may have been deleted, or the link is wrong. Go back and try again.",
    409: "Reload the page to see the latest version, then make your change again.",
    413: "Try a smaller file.",
    422: "Go back, correct it and try again.",
    429: "Wait a moment, then try again.",
    500: "We've logged it. Try again in a minute; if it keeps happening, contact support.",
    503: "Nothing you did caused this, and nothing you saved is lost. Try again in a few seconds.",
}


def wants_fragment(request: Req) -> bool:
    """An htmx request that swaps part of a page (a history restore needs the whole page)."""
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )


def _error_page(request: Req, status: int, detail: str) -> Response[str]:
    title = TITLES.get(status, "Something went wrong")
    hint = HINTS.get(status, "Go back and try again.")
    if wants_fragment(request):
        # htmx shows this text in a toast (static/js/app.js), never a page inside a page.
        return Response(detail or title, status_code=status, media_type="text/plain")
    html = render_html(
        "layout/error.html", {"status": status, "title": title, "detail": detail, "hint": hint}
    )
    return Response(html, status_code=status, media_type="text/html")


def http_exception_handler(request: Req, exc: HTTPException) -> Response[str]:
    status = exc.status_code
    if isinstance(exc, LoginRequired) or status == 401:
        target = "/login?" + urlencode({"next": request.url.path}, safe="/")
        if wants_fragment(request):
            return Response("", status_code=200, headers={"HX-Redirect": target})
        return Response("", status_code=303, headers={"Location": target})
    if isinstance(exc, ValidationException):
        detail = "Some of what was sent is missing or malformed."
    elif isinstance(exc, NotFoundException):
        detail = exc.detail if exc.detail and exc.detail != "Not Found" else ""
    elif isinstance(exc, PermissionDeniedException):
        detail = exc.detail if exc.detail != "Forbidden" else ""
    else:
        detail = exc.detail if status < 500 else ""
    response = _error_page(request, status, detail)
    response.headers.update(exc.headers or {})  # e.g. Retry-After on a 429
    return response


def internal_error_handler(request: Req, exc: Exception) -> Response[str]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error_page(request, 500, "")


def forbidden_handler(request: Req, exc: Forbidden) -> Response[str]:
    """A guard or a service refused an action for the user's role."""
    return _error_page(request, 403, exc.message)


def not_found_handler(request: Req, exc: RecordNotFound) -> Response[str]:
    """A service could not find a record in the current tenant (or it belongs to another)."""
    return _error_page(request, 404, "")


def unavailable_handler(request: Req, exc: Exception) -> Response[str]:
    """PostgreSQL or Valkey is unreachable: answer at once with 503 and Retry-After (the
    clients reconnect by themselves), never a trace and never a generic 500."""
    log.warning(
        "%s unreachable on %s %s: %s", which_service(exc), request.method, request.url.path, exc
    )
    detail = "The service is briefly unavailable. Try again in a few seconds."
    response = _error_page(request, 503, detail)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class _DeferredResponse(Response[str]):
    """A response rendered when it is sent: exception handlers are synchronous, while a form
    page needs the database (choices, the record) to render."""

    def __init__(self, render: Callable[[], Awaitable[Response[str]]], status: int) -> None:
        super().__init__("", status_code=status)
        self._render = render

    def to_asgi_response(self, app: Any, request: Req, **kwargs: Any) -> Any:
        render, status = self._render, self.status_code

        async def send_rendered(scope: Scope, receive: Receive, send: Send) -> None:
            try:
                response = await render()
                if response.status_code in (None, 200):  # None: "the route's default"
                    response.status_code = status
            except Exception as exc:  # the page failed too (the record went away meanwhile)
                response = _handler_for(exc)(request, exc)
            await response.to_asgi_response(None, request, **kwargs)(scope, receive, send)

        return send_rendered


def _refused(request: Req, exc: FormInvalid) -> Response[str]:
    """Refused input with no form page declared: the messages as a page (or, for htmx, a
    toast: the target keeps its content)."""
    text = " ".join(exc.errors.values()) or "Some of what was sent is missing or malformed."
    if wants_fragment(request):
        headers = {"HX-Reswap": "none", "HX-Trigger": json.dumps({"odex:error": text})}
        return Response(text, status_code=exc.status, media_type="text/plain", headers=headers)
    return _error_page(request, exc.status, text)


def form_invalid_handler(request: Req, exc: FormInvalid) -> Response[str]:
    """The one path for refused input: the route's form again with every message inline and
    the values kept (422, or 409 for an edit conflict), as a page or as the htmx fragment."""
    scope: dict[str, Any] = request.scope  # type: ignore[assignment]
    page: FormPage | None = scope.pop(FORM_PAGE_KEY, None)  # popped: a failing page can't loop
    if exc.values is None:
        exc.values = scope.get(FORM_VALUES_KEY) or {}
    if page is None:
        return _refused(request, exc)
    return _DeferredResponse(lambda: page(exc), exc.status)


def _handler_for(exc: Exception) -> ExceptionHandler[Exception]:
    for kind, handler in EXCEPTION_HANDLERS.items():
        if not isinstance(kind, int) and isinstance(exc, kind):
            return handler
    return internal_error_handler


def _validation_errors(exc: ValidationException) -> dict[str, str]:
    """Litestar's decoding problems (a body or parameter of the wrong type) by field."""
    found: dict[str, str] = {}
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            found[str(item.get("key") or "body")] = str(item.get("message") or "Invalid value.")
    return found


def api_problem(request: Req, exc: Exception) -> Response[bytes]:
    """Every exception on an API path as problem details (app/core/problems.py), never a page."""
    response = _problem_for(request, exc)
    request.scope[FAILED_KEY] = response.status_code  # type: ignore[literal-required]
    return response


def _problem_for(request: Req, exc: Exception) -> Response[bytes]:
    if isinstance(exc, EditConflict):
        rest = {k: v for k, v in exc.errors.items() if k != "form"}
        return problem(409, exc.errors.get("form", ""), errors=rest, version=exc.version)
    if isinstance(exc, FormInvalid):
        errors = exc.errors
        status = exc.status
        if status == 422 and request.scope.get(SCHEMA_CHECKED_KEY):
            status = 409  # the schema allows it; the data as it is now doesn't
        detail = errors.get("form") or (
            "Some fields are missing or invalid; see errors."
            if status == 422
            else "The workspace's data as it is now doesn't allow this; see errors."
        )
        return problem(status, detail, errors={k: v for k, v in errors.items() if k != "form"})
    if isinstance(exc, Forbidden):
        return problem(403, exc.message)
    if isinstance(exc, RecordNotFound):
        if request.scope.get(SCHEMA_CHECKED_KEY) and not request.path_params:
            # no record in the path: the missing one is named in the body (a reference)
            return problem(409, "A record this request names is not in this workspace.")
        return problem(404, "No such record in this workspace.")
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc)
        return problem(
            422, "The request is malformed or has values of the wrong type.", errors=errors
        )
    if isinstance(exc, HTTPException) and exc.status_code == 401:
        detail = str(request.scope.get(AUTH_DETAIL_KEY) or "Send a valid API token.")
        return problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="odex"'})
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        detail = exc.detail if exc.detail not in ("Not Found", "Forbidden") else ""
        return problem(exc.status_code, detail, headers=dict(exc.headers or {}))
    if isinstance(exc, BACKEND_DOWN):
        log.warning("%s unreachable on %s %s", which_service(exc), request.method, request.url)
        detail = "The service is briefly unavailable. Try again in a few seconds."
        return problem(503, detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "")


def _or_problem(
    handler: Callable[[Req, E], Response[str]],
) -> Callable[[Req, E], Response[str] | Response[bytes]]:
    """`handler` for pages; problem details on API paths."""

    def handle(request: Req, exc: E) -> Response[str] | Response[bytes]:
        if is_api_path(request.url.path):
            return api_problem(request, exc)
        return handler(request, exc)

    return handle


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    FormInvalid: _or_problem(form_invalid_handler),
    HTTPException: _or_problem(http_exception_handler),
    Forbidden: _or_problem(forbidden_handler),
    RecordNotFound: _or_problem(not_found_handler),
    **dict.fromkeys(BACKEND_DOWN, _or_problem(unavailable_handler)),
    Exception: _or_problem(internal_error_handler),
}
