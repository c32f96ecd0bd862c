"""Errors for people: domain exceptions and the handlers that turn them into pages."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)

from app.core.availability import (
    BACKEND_DOWN,
    RETRY_AFTER_SECONDS,
    which_service,
)
from app.core.templating import render_html

log = logging.getLogger("odex")


class FormInvalid(Exception):
    """A submitted form broke a rule; `errors` maps field name to a message for the user."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


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


TITLES = {
    400: "That request didn't make sense",
    401: "Please log in",
    403: "You can't do that",
    404: "We couldn't find that",
    405: "That action isn't available here",
    413: "That upload is too large",
    429: "Slow down a little",
    500: "Something went wrong on our side",
    503: "Odex is briefly unavailable",
}
HINTS = {
    400: "Check what you entered and try again.",
    403: "If you think you should have access, ask an admin of your workspace.",
    404: "It may have been deleted, or the link is wrong. Go back and try again.",
    413: "Try a smaller file.",
    429: "Wait a moment, then try again.",
    500: "We've logged it. Try again in a minute; if it keeps happening, contact support.",
    503: "Nothing you did caused this, and nothing you saved is lost. Try again in a few seconds.",
}


def _error_page(request: Request[Any, Any, Any], status: int, detail: str) -> Response[str]:
    title = TITLES.get(status, "Something went wrong")
    hint = HINTS.get(status, "Go back and try again.")
    if request.headers.get("hx-request") == "true":
        # htmx shows this text in a toast (static/js/app.js), never a page inside a page.
        return Response(detail or title, status_code=status, media_type="text/plain")
    html = render_html(
        "layout/error.html", {"status": status, "title": title, "detail": detail, "hint": hint}
    )
    return Response(html, status_code=status, media_type="text/html")


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if isinstance(exc, LoginRequired) or status == 401:
        target = "/login?" + urlencode({"next": request.url.path}, safe="/")
        if request.headers.get("hx-request") == "true":
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


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error_page(request, 500, "")


def forbidden_handler(request: Request[Any, Any, Any], exc: Forbidden) -> Response[Any]:
    """A guard or a service refused an action for the user's role."""
    return _error_page(request, 403, exc.message)


def not_found_handler(request: Request[Any, Any, Any], exc: RecordNotFound) -> Response[Any]:
    """A service could not find a record in the current tenant (or it belongs to another)."""
    return _error_page(request, 404, "")


def unavailable_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """PostgreSQL or Valkey is unreachable: answer at once with 503 and Retry-After (the
    clients reconnect by themselves), never a trace and never a generic 500."""
    log.warning(
        "%s unreachable on %s %s: %s", which_service(exc), request.method, request.url.path, exc
    )
    detail = "The service is briefly unavailable. Try again in a few seconds."
    response = _error_page(request, 503, detail)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


EXCEPTION_HANDLERS: dict[Any, Any] = {
    HTTPException: http_exception_handler,
    Forbidden: forbidden_handler,
    RecordNotFound: not_found_handler,
    **dict.fromkeys(BACKEND_DOWN, unavailable_handler),
    Exception: internal_error_handler,
}
