"""The privacy middleware: consent state per request, the analytics cookie, usage recording.

Run by the session middleware (app.core.web, a hook). Before the handler it puts a
`PrivacyState` in the scope (templates show the cookie banner and the policy banner from it; the
consent route updates it).
When the response starts it sets or deletes the analytics cookie to match the consent, and after
the response it queues usage events in Redis (analytics only with consent; security events
always), so recording never waits for PostgreSQL.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TypedDict

from litestar.types import Scope

from app.core.redis import redis
from app.core.sessions import Session
from app.core.useragent import classify
from app.core.web import (
    READ_WITH_SESSION_KEY,
    SESSION_SCOPE_KEY,
    client_ip,
    scope_cookie,
    scope_header,
    site_cookie,
)
from app.privacy import consent, policy, usage
from app.privacy.consent import ANALYTICS_COOKIE, STATE_KEY, PrivacyState
from app.settings import get_settings

log = logging.getLogger("odex.privacy")

# (method, path) -> (event kind on success, event kind on failure or None)
SECURITY_ROUTES: dict[tuple[str, str], tuple[str, str | None]] = {
    ("POST", "/login"): ("login", "login_failed"),
    ("POST", "/login/mfa"): ("login", "mfa_failed"),
    ("POST", "/signup"): ("signup", None),
    ("POST", "/logout"): ("logout", None),
    ("POST", "/password/reset"): ("password_reset", "password_reset_failed"),
}
UNTRACKED_PREFIXES = ("/static/", "/privacy/consent", "/healthz", "/dev/", "/ws")


def _set_cookie(value: str, max_age: int) -> tuple[bytes, bytes]:
    cookie = site_cookie(ANALYTICS_COOKIE, value, max_age, get_settings())
    return (b"set-cookie", cookie.to_header(header="").encode("latin-1"))


def state_of(scope: Mapping[str, object]) -> PrivacyState | None:
    state = scope.get(STATE_KEY)
    return state if isinstance(state, PrivacyState) else None


class RequestFields(TypedDict):
    """The usage Event fields every event of one request shares."""

    browser: str
    os: str
    device: str
    ip: str
    path: str


def _events(
    scope: Scope,
    status: int,
    content_type: str,
    before: Session,
    after: Session,
    state: PrivacyState,
) -> list[usage.Event]:
    method = str(scope.get("method", "GET"))
    path = str(scope["path"])
    template = str(scope.get("path_template") or path)
    security = SECURITY_ROUTES.get((method, path))
    kind: str | None
    feature = ""
    if security is not None:
        ok = status < 400
        kind = security[0] if ok else security[1]
        if status == 429:
            kind = "rate_limited"
        elif ok and kind == "login" and not after.user_id:
            kind = "login_second_factor_pending"  # password right, MFA code still to come
        if not kind:
            return []
    elif state.consent is not True or status >= 400:
        return []
    elif method == "GET":
        htmx_partial = scope_header(scope, b"hx-request") == "true" and not scope_header(
            scope, b"hx-boosted"
        )
        if htmx_partial or not content_type.startswith("text/html"):
            return []
        kind, feature = "page", ""
    elif method in ("POST", "PUT", "PATCH", "DELETE"):
        kind, feature = "feature", f"{method} {template}"
    else:
        return []
    # only now that there is something to record: the browser, from its user agent
    browser, os_name, device = classify(scope_header(scope, b"user-agent"))
    common: RequestFields = {  # the Event fields every event of this request shares
        "browser": browser,
        "os": os_name,
        "device": device,
        "ip": client_ip(scope),
        "path": template,
    }
    if security is not None:
        who = after if after.user_id else before
        return [
            usage.Event(
                category="security",
                kind=kind,
                tenant_id=who.tenant_id,
                user_id=who.user_id,
                **common,
            )
        ]
    return [
        usage.Event(
            category="analytics",
            kind=kind,
            tenant_id=after.tenant_id if after.user_id else None,
            user_id=after.user_id,
            feature=feature,
            analytics_id=state.analytics_id,
            **common,
        )
    ]


# read with the session in its round trip (app.core.web.session_middleware's `also_read`)
READ_WITH_SESSION = (*consent.CACHE_KEY_TEMPLATES, policy.LATEST_KEY)


async def _read_state(
    state: PrivacyState, session: Session, read: Mapping[str, bytes | None]
) -> None:
    """The consent and the policy banner of this request: the consent cache and the latest
    policy as read with the session (`read`; one Redis round trip of their own when they were
    not), more only when a cache is cold or a newer policy waits to be acknowledged."""
    if session.is_new and not session.user_id:  # a new browser hasn't chosen
        return
    keys = consent.cache_keys(session.user_id, session.visitor_id)
    if session.user_id:
        keys.append(policy.LATEST_KEY)
    cached: list[bytes | None]
    if all(key in read for key in keys):
        cached = [read[key] for key in keys]
    else:
        cached = await redis().mget(keys)
    if session.user_id:
        state.consent = await consent.analytics_consent(
            session.user_id, session.visitor_id, cached[:-1]
        )
        state.policy_notice = await policy.pending_notice(session.user_id, cached[-1])
    else:
        state.consent = await consent.analytics_consent(None, session.visitor_id, cached)


class _PrivacyPart:
    """One request's privacy work (a `RequestPart` of app.core.web.session_middleware)."""

    __slots__ = ("cookie_id", "scope", "session", "state", "status", "type")

    def __init__(self, scope: Scope, session: Session, state: PrivacyState) -> None:
        self.scope, self.session, self.state = scope, session, state
        self.cookie_id = state.analytics_id
        self.status, self.type = 500, ""

    def start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        """The response starts: note its status and type; the analytics cookie to match the
        consent (set on consent, deleted at once on withdrawal)."""
        self.status = status
        for key, value in headers:
            if key.lower() == b"content-type":
                self.type = value.decode("latin-1")
        current = state_of(self.scope) or self.state
        if current.consent is True and not self.cookie_id:
            current.analytics_id = current.analytics_id or consent.new_analytics_id()
            days = consent.ANALYTICS_COOKIE_DAYS
            headers.append(_set_cookie(current.analytics_id, days * 86400))
        elif current.consent is not True and self.cookie_id:
            current.analytics_id = None
            headers.append(_set_cookie("", 0))

    async def finish(self) -> None:
        """The response is sent: queue its usage events."""
        scope = self.scope
        if str(scope["path"]).startswith(UNTRACKED_PREFIXES):
            return
        after = scope.get(SESSION_SCOPE_KEY)
        try:
            events = _events(
                scope,
                self.status,
                self.type,
                self.session,
                after if isinstance(after, Session) else self.session,
                state_of(scope) or self.state,
            )
            await usage.enqueue(events)
        except Exception:  # recording is best effort; the user's request already succeeded
            log.exception("usage event not queued")


async def privacy_part(scope: Scope, session: Session) -> _PrivacyPart:
    """Before the handler: the request's `PrivacyState` into the scope (consent, policy
    banner, analytics id). A hook of the session middleware (app.core.web), which runs it for
    HTTP page requests with their session (not static files, not the API)."""
    state = PrivacyState()
    try:
        read = scope.get(READ_WITH_SESSION_KEY)
        await _read_state(state, session, read if isinstance(read, dict) else {})
    except Exception:  # privacy extras must never take a page down; consent stays "none"
        log.exception("privacy state unavailable")
    state.analytics_id = scope_cookie(scope, ANALYTICS_COOKIE)
    scope[STATE_KEY] = state  # type: ignore[literal-required]
    return _PrivacyPart(scope, session, state)
