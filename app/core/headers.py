"""Security headers on every response: strict CSP (no inline script), nosniff, no framing."""

from __future__ import annotations

import functools

from litestar.types import Message, Scope

from app.settings import get_settings

# style-src-attr allows exactly one inline style: the empty one (its hash is sha256 of ""),
# which htmx/Bootstrap leave behind when they clear an element's style; nothing else.
EMPTY_STYLE = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    f"style-src-attr 'unsafe-hashes' {EMPTY_STYLE}; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)


@functools.cache
def _security_headers(secure: bool) -> dict[bytes, bytes]:
    """The headers, built once per kind of connection (not per response)."""
    headers = {
        b"content-security-policy": CSP.encode(),
        b"x-content-type-options": b"nosniff",
        b"x-frame-options": b"DENY",
        b"referrer-policy": b"strict-origin-when-cross-origin",
        b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
        b"cross-origin-opener-policy": b"same-origin",
    }
    if secure:  # HSTS only when the site is served over TLS
        headers[b"strict-transport-security"] = b"max-age=63072000; includeSubDomains"
    return headers


async def security_headers_before_send(message: Message, scope: Scope) -> None:
    """Add the headers to every HTTP response the app sends, routed or not (the router's own
    404/405 and static files included), unless a handler set one itself."""
    if message["type"] != "http.response.start" or str(scope["type"]) != "http":
        return
    secure = get_settings().secure_cookies or scope.get("scheme") == "https"
    headers = list(message.get("headers", []))
    present = {bytes(k).lower() for k, _ in headers}
    headers += [(k, v) for k, v in _security_headers(secure).items() if k not in present]
    message["headers"] = headers
