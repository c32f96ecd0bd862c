"""RFC 9457 problem details: the one error shape of the JSON API (/api/…), for every status.

`{"type", "title", "status", "detail", "errors": [{"name", "detail"}]}` as
`application/problem+json`. The page handlers in app/core/errors.py hand every exception on an
API path here, so no HTML error page is ever sent to an API client.
"""

from __future__ import annotations

import msgspec
from litestar import Response
from markupsafe import Markup

API_PREFIX = "/api/"
# why a presented API token was refused, told in the 401 (set by the api domain's resolver)
AUTH_DETAIL_KEY = "odex.api_auth_detail"
FAILED_KEY = "odex.api_failed"  # the status of a request answered with a problem
# the request passed its operation's schema (app/api/enforce.py): a form or service refusing
# it after that did so because of the data as it is now, answered 409, not 422
SCHEMA_CHECKED_KEY = "odex.api_schema_checked"
PROBLEM_TYPE = "application/problem+json"
# status -> (type slug, title): the `type` is a relative URI documented at /api/docs
KINDS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    412: ("precondition-failed", "Precondition failed"),
    413: ("too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation", "Validation failed"),
    429: ("rate-limited", "Too many requests"),
    500: ("server-error", "Internal server error"),
    503: ("unavailable", "Service unavailable"),
}


class FieldProblem(msgspec.Struct, frozen=True):
    """One field that broke a rule: its name in the request and what to fix."""

    name: str
    detail: str


class Problem(msgspec.Struct, frozen=True, omit_defaults=True):
    """An RFC 9457 problem details object (with `errors` for validation, `version` for 409)."""

    type: str
    title: str
    status: int
    detail: str = ""
    errors: list[FieldProblem] = []
    version: int | None = None


def plain(text: str) -> str:
    """A message as plain text: one written for the pages as HTML (Markup, e.g. with a link
    to the billing page) loses its tags (and JSON can't carry a str subclass anyway)."""
    return text.striptags() if isinstance(text, Markup) else str(text)


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIX)


def problem_type(status: int) -> str:
    slug = KINDS.get(status, ("error", ""))[0]
    return f"/api/docs#problem-{slug}"


def problem(
    status: int,
    detail: str = "",
    *,
    errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    version: int | None = None,
) -> Response[bytes]:
    """A problem-details response."""
    title = KINDS.get(status, ("error", "Error"))[1]
    body = Problem(
        type=problem_type(status),
        title=title,
        status=status,
        detail=plain(detail),
        errors=[FieldProblem(k, plain(v)) for k, v in (errors or {}).items()],
        version=version,
    )
    return Response(
        msgspec.json.encode(body),
        status_code=status,
        media_type=PROBLEM_TYPE,
        headers=headers or {},
    )
