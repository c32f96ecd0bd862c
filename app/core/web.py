"""Request plumbing: the session middleware, CSRF check, page rendering and redirects."""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from contextlib import AsyncExitStack
from typing import Protocol
from urllib.parse import quote, urlsplit
from uuid import UUID

from litestar import Response
from litestar.datastructures import Cookie
from litestar.exceptions import ClientException, PermissionDeniedException
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from markupsafe import Markup, escape

from app.core import formats, sessions
from app.core.db import request_connection, tenant_transaction
from app.core.errors import FormInvalid, FormPage, wants_fragment
from app.core.http_types import Req
from app.core.kept import CSRF_MARK, Kept
from app.core.templating import render_html, slots_variance, unkeepable_slots
from app.settings import Settings, get_settings

SESSION_SCOPE_KEY = "odex.session"
# what the session middleware read with the session (its `also_read` keys, by name)
READ_WITH_SESSION_KEY = "odex.read_with_session"
EXTRA_COOKIES_KEY = "odex.set_cookies"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "_csrf"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
# the webhook is signed by Stripe; the API authenticates by bearer token only, never cookies
CSRF_EXEMPT_PREFIXES = ("/billing/webhook", "/api/")


def cookie_name(settings: Settings) -> str:
    return "__Host-odex_session" if settings.secure_cookies else "odex_session"


def client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


def scope_header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


def scope_cookie(scope: Scope, name: str) -> str | None:
    raw = scope_header(scope, b"cookie")
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


class RequestPart(Protocol):
    """A part of one HTTP request's handling that `session_middleware` runs for a layer of
    its own (the privacy state): `start` when the response starts (before the session is
    saved; it may add headers), `finish` once the response is sent."""

    def start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None: ...

    async def finish(self) -> None: ...


# made once per HTTP request with a session, before the handler: its part, or None
RequestHook = Callable[[Scope, sessions.Session], Awaitable[RequestPart | None]]


def session_middleware(
    app: ASGIApp, also_read: Sequence[str] = (), hooks: Sequence[RequestHook] = ()
) -> ASGIApp:
    """Load the server-side session into the scope; save it and set the cookie after. One
    layer for what every page request needs around its handler, in this order: the session,
    the `hooks`' parts (the consent state), the request's pooled connection
    (`db.request_connection`) and the one transaction of a page declared ONE_READ; their
    work at the response's start is done in one `send` wrapper, the reverse order.

    `also_read`: key templates over the session's fields (`sessions.derived_key`) that later
    middleware reads on every request (the consent state): read with the session in its one
    round trip, into the scope as {key: value} (READ_WITH_SESSION_KEY)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        kind = str(scope["type"])
        # the API never reads nor sets the session cookie (bearer tokens only)
        if kind not in ("http", "websocket") or scope["path"].startswith(("/static/", "/api/")):
            await app(scope, receive, send)
            return
        settings = get_settings()
        name = cookie_name(settings)
        sid = scope_cookie(scope, name)
        session, read = (
            await sessions.load_session_with(sid, settings, also_read) if sid else (None, {})
        )
        scope[READ_WITH_SESSION_KEY] = read  # type: ignore[literal-required]
        if session is None:
            session = sessions.new_session(client_ip(scope), scope_header(scope, b"user-agent"))
        elif time.time() - session.last_seen > 60:
            session.last_seen = time.time()
            session.ip = client_ip(scope)
            session.dirty = True
        scope[SESSION_SCOPE_KEY] = session  # type: ignore[literal-required]
        if kind == "websocket":
            await app(scope, receive, send)
            return
        parts = [part for hook in hooks if (part := await hook(scope, session)) is not None]
        async with request_connection() as give_back:
            read_txn = await _open_one_read(scope, session)

            async def send_started(message: Message) -> None:
                nonlocal read_txn
                if message["type"] == "http.response.start":
                    if read_txn is not None:
                        txn, read_txn = read_txn, None
                        await txn.aclose()  # commit (nothing was written: a read) before sending
                    await give_back()
                    headers = list(message.get("headers", []))
                    for part in reversed(parts):
                        part.start(message["status"], headers)
                    current: sessions.Session = scope[SESSION_SCOPE_KEY]  # type: ignore[literal-required]
                    if current.dirty:
                        await sessions.save_session(current, settings)
                    if current.is_new:
                        headers.append(_session_cookie(name, current.sid, settings))
                    extra: list[Cookie] = scope.get(EXTRA_COOKIES_KEY) or []  # type: ignore[assignment]
                    headers += [
                        (b"set-cookie", c.to_header(header="").encode("latin-1")) for c in extra
                    ]
                    message = {**message, "headers": headers}
                await send(message)

            try:
                await app(scope, receive, send_started)
            except BaseException as exc:
                if read_txn is not None:
                    txn, read_txn = read_txn, None
                    await txn.__aexit__(type(exc), exc, exc.__traceback__)
                raise
            if read_txn is not None:
                txn, read_txn = read_txn, None
                await txn.aclose()
        for part in reversed(parts):
            await part.finish()

    return middleware


def site_cookie(key: str, value: str, max_age: int, settings: Settings) -> Cookie:
    """A cookie of ours (the session, the trusted device, the analytics choice): the whole
    site, HttpOnly, SameSite=Lax, Secure on TLS."""
    return Cookie(
        key=key,
        value=value,
        path="/",
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )


def _session_cookie(name: str, sid: str, settings: Settings) -> tuple[bytes, bytes]:
    cookie = site_cookie(name, sid, settings.session_absolute_hours * 3600, settings)
    return (b"set-cookie", cookie.to_header(header="").encode("latin-1"))


# a GET page handler's `opt`: the whole request reads in one transaction (see _open_one_read)
ONE_READ = {"one_read": True}


async def _open_one_read(scope: Scope, session: sessions.Session) -> AsyncExitStack | None:
    """One tenant transaction for a signed-in GET of a page declared with `opt=ONE_READ`: the
    check of the signed-in user and the page's own reads join it (`joins`: same tenant and
    user), so the page costs one BEGIN/scope/COMMIT instead of one per read. It commits when
    the response starts, before the page is sent; an exception rolls it back. The session's
    ids only pick the RLS scope: who may see the page is still decided by the access guard
    inside it, as without it."""
    handler = scope.get("route_handler")
    if (
        scope.get("method") not in ("GET", "HEAD")
        or handler is None
        or not handler.opt.get("one_read")
        or not session.user_id
        or not session.tenant_id
    ):
        return None
    try:
        tenant_id, user_id = UUID(session.tenant_id), UUID(session.user_id)
    except ValueError:
        return None
    read = AsyncExitStack()
    await read.enter_async_context(tenant_transaction(tenant_id, user_id))
    return read


def queue_cookie(request: Req, cookie: Cookie) -> None:
    """Set `cookie` on this request's response, whatever the handler returns (e.g. a redirect
    decided elsewhere): the session middleware adds it with the session cookie."""
    request.scope.setdefault(EXTRA_COOKIES_KEY, []).append(cookie)  # type: ignore[misc]


def get_session(request: Req) -> sessions.Session:
    return request.scope[SESSION_SCOPE_KEY]  # type: ignore[literal-required]


async def check_csrf(request: Req) -> None:
    """Refuse an unsafe request whose CSRF token does not match the session's (htmx included)."""
    if request.method in SAFE_METHODS or request.url.path.startswith(CSRF_EXEMPT_PREFIXES):
        return
    session = get_session(request)
    token = request.headers.get(CSRF_HEADER, "")
    if not token and request.content_type[0] in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        try:
            form = await request.form()
            token = str(form.get(CSRF_FIELD, ""))
        except (ValueError, UnicodeDecodeError):  # a body that isn't text: no token in it
            token = ""
        except ClientException as exc:  # a body that can't be parsed: no token in it either
            if exc.status_code == HTTP_413_REQUEST_ENTITY_TOO_LARGE:
                raise  # too large is answered as such, whatever the token
            token = ""
    # bytes: compare_digest raises TypeError on non-ASCII str (a forged "_csrf=é")
    sent = token.encode("utf-8", "replace")
    if not token or not hmac.compare_digest(sent, session.csrf.encode("utf-8")):
        raise PermissionDeniedException(
            "Your form expired or came from another site. Reload the page and try again."
        )


def is_htmx(request: Req) -> bool:
    """htmx asks for a block of the page: not a boosted link, not a history restore (the
    browser's Back after a cache miss), which both need the whole page."""
    return wants_fragment(request) and request.headers.get("hx-boosted") != "true"


async def vary_on_htmx(message: Message, scope: Scope) -> None:
    """`Vary: HX-Request` on every app response: pages, redirects and errors all differ by it
    (block or page, HX-Redirect or 303, toast text or error page), so caches keep both."""
    if message["type"] != "http.response.start" or scope["path"].startswith("/static/"):
        return
    headers = list(message.get("headers", []))
    for index, (key, value) in enumerate(headers):
        if bytes(key).lower() == b"vary":
            if b"hx-request" not in bytes(value).lower():
                headers[index] = (key, bytes(value) + b", HX-Request")
            break
    else:
        headers.append((b"vary", b"HX-Request"))
    message["headers"] = headers


def render(
    request: Req,
    template: str,
    context: Mapping[str, object] | None = None,
    *,
    block: str | None = None,
    status: int = 200,
) -> Response[str]:
    """A full page, or only `block` when htmx asked for a fragment."""
    ctx = base_context(request)
    ctx.update(context or {})
    html = render_html(template, ctx, block if block and is_htmx(request) else None)
    return Response(html, status_code=status, media_type="text/html")


# a kept part's place in a rendered page: no text from the database can hold it (PostgreSQL
# text has no NUL), and autoescaping leaves it as it is
_PART = "\x00odex-part-{}\x00"

# pages kept rendered whole around their parts (see `render_with_parts`): few bytes each
# (the layout, the heading), per page and reader
KEPT_SHELLS = 2048
KEPT_SHELLS_SIZE = 16_000_000
# a kept page's pieces: its text (bytes), where the reader's CSRF token goes (None) and where
# each part goes (its name)
ShellPiece = bytes | str | None
_shells: Kept[Hashable, tuple[ShellPiece, ...]] = Kept(KEPT_SHELLS, KEPT_SHELLS_SIZE)
KEPT_HERE_MAX = 2000  # a longer address (path and query) is a made-up one: never kept


def kept_shells() -> int:
    """How many pages are kept whole around their parts (tests)."""
    return len(_shells)


def forget_shells() -> None:
    """Drop every page kept whole (tests)."""
    _shells.clear()


def render_with_parts(
    request: Req,
    template: str,
    context: Mapping[str, object],
    parts: Mapping[str, bytes],
    *,
    kept_by: Hashable = None,
) -> Response[bytes]:
    """A full page like `render`, with large parts kept already rendered as UTF-8 (a board's
    cards): the template writes each `parts` name (a context variable) once, in the order
    given, and the page is the rest of it encoded around the kept bytes, which are neither
    joined as text nor encoded again per request.

    `kept_by`: everything of `context` the page around the parts shows (a hashable value, not
    None): that page is then kept rendered (UTF-8) per it, the reader (`current`: name,
    role, workspace, formats), the address, what the layout's slots read of the request
    (`varies_by`) and the parts' names, with the CSRF token put in per request; a page with
    toasts to show, or one that renders a slot not saying what it reads, is rendered anew."""
    ctx = base_context(request)
    here = str(ctx["here"])
    marks = {name: Markup(_PART.format(name)) for name in parts}  # noqa: S704
    if kept_by is None or ctx["flashes"] or len(here) > KEPT_HERE_MAX:
        ctx.update(context)
        ctx.update(marks)
        return Response(_spliced(render_html(template, ctx), parts), media_type="text/html")
    key = (
        template,
        kept_by,
        ctx["current"],
        formats.current(),
        here,
        slots_variance(request.scope),
        tuple(parts),
    )
    token = str(escape(ctx["csrf_token"])).encode()
    shell = _shells.get(key)
    if shell is None:
        ctx.update(context)
        ctx.update(marks)
        ctx["csrf_token"] = CSRF_MARK
        unkept = unkeepable_slots()
        page = render_html(template, ctx).encode()
        shell = _shell_pieces(page, tuple(parts))
        if unkeepable_slots() == unkept:
            _shells.put(key, shell, len(page))
    # the kept pieces joined around the reader's token and the parts: one copy of the page
    chunks = [token if x is None else parts[x] if isinstance(x, str) else x for x in shell]
    return Response(b"".join(chunks), media_type="text/html")


def _shell_pieces(page: bytes, names: tuple[str, ...]) -> tuple[ShellPiece, ...]:
    """`page` (rendered with CSRF_MARK and each part's mark) cut at those marks, once when it
    is kept: a request then joins the pieces, no search of the page's text."""
    marks: dict[bytes, ShellPiece] = {CSRF_MARK.encode(): None}
    marks |= {_PART.format(name).encode(): name for name in names}
    cut = re.compile(b"(" + b"|".join(re.escape(mark) for mark in marks) + b")")
    pieces: list[ShellPiece] = []
    for index, text in enumerate(cut.split(page)):
        pieces.append(marks[text] if index % 2 else text)
    return tuple(piece for piece in pieces if piece != b"")


def _spliced(html: str, parts: Mapping[str, bytes]) -> bytes:
    """`html` rendered with each part's mark (`_PART`), encoded around the parts' bytes."""
    chunks: list[bytes] = []
    for name in parts:
        before, html = html.split(_PART.format(name), 1)
        chunks += [before.encode(), parts[name]]
    chunks.append(html.encode())
    return b"".join(chunks)


def refused_form(
    request: Req,
    template: str,
    *,
    block: str | None = "form",
    **context: object,
) -> FormPage:
    """The FormPage of a simple form: `template` (its `block` for htmx) rendered again with
    the refusal's messages and the values that were sent (never passwords)."""

    async def page(refused: FormInvalid) -> Response[str]:
        ctx = {**context, "values": refused.shown(), "errors": refused.errors}
        return render(request, template, ctx, block=block)

    return page


def base_context(request: Req) -> dict[str, object]:
    """What every page needs: the session's CSRF token, toasts, the signed-in user."""
    session = get_session(request)
    return {
        "request": request,
        "csrf_token": session.csrf,
        "flashes": session.pop_flashes(),
        "current": request.scope.get("odex.current"),
        "settings": get_settings(),
        "path": request.url.path,
        # where this page is, query included: return addresses (the cookie banner, the policy
        # banner) must bring the visitor back to the same invitation or reset link
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }


def safe_local_path(target: str | None, default: str = "/app") -> str:
    """`target` when it is a path on this site, else `default`: the one guard against open
    redirects for every `next`/return value that came from a request.

    Refused: anything not starting with a single `/`, backslashes (browsers read them as `/`),
    and any whitespace, control or non-ASCII character (browsers drop tabs and newlines, so
    `/<tab>/evil.example` would become `//evil.example`, another site).
    """
    if not target or len(target) > 2000 or not target.startswith("/"):
        return default
    if any(not 0x21 <= ord(ch) <= 0x7E for ch in target) or "\\" in target:
        return default
    parts = urlsplit(target)
    if target.startswith("//") or parts.scheme or parts.netloc:
        return default
    return target


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """A `Content-Disposition` value for any file name (RFC 6266 with RFC 5987 `filename*`).

    The plain `filename` is an ASCII stand-in without quotes, separators or control
    characters (so a crafted upload name can't break out of the header); `filename*` carries
    the real name, UTF-8 and percent-encoded, for browsers that read it.
    """
    name = "".join(ch for ch in filename if ch.isprintable()).replace("/", "_").replace("\\", "_")
    name = name.strip(" .") or "download"
    fallback = "".join(ch if 0x20 <= ord(ch) < 0x7F and ch not in '"%;' else "_" for ch in name)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def redirect(
    request: Req, url: str, message: str | None = None, level: str = "success"
) -> Response[str]:
    """Redirect a normal request with 303, an htmx request with HX-Redirect; `message`, when
    given, is a toast (at `level`) on the page it leads to."""
    if message is not None:
        get_session(request).flash(level, message)
    if wants_fragment(request):
        return Response("", status_code=200, headers={"HX-Redirect": url})
    return Response("", status_code=303, headers={"Location": url})
