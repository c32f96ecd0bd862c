"""Security headers on every response: strict CSP (no inline script), nosniff, no framing."""

from __future__ import annotations

from litestar.types import ASGIApp, Message, Receive, Scope, Send

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


def security_headers_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if str(scope["type"]) != "http":
            await app(scope, receive, send)
            return
        secure = get_settings().secure_cookies or scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                extra = {
                    b"content-security-policy": CSP.encode(),
                    b"x-content-type-options": b"nosniff",
                    b"x-frame-options": b"DENY",
                    b"referrer-policy": b"strict-origin-when-cross-origin",
                    b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
                    b"cross-origin-opener-policy": b"same-origin",
                }
                if secure:
                    extra[b"strict-transport-security"] = b"max-age=63072000; includeSubDomains"
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in extra.items() if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


async def security_headers_before_send(message: Message, scope: Scope) -> None:
    """The same headers for responses no route produced (404/405 from the router itself),
    which app middleware never sees; registered as an app-level before_send hook."""
    if message["type"] != "http.response.start" or str(scope["type"]) != "http":
        return
    secure = get_settings().secure_cookies or scope.get("scheme") == "https"
    headers = list(message.get("headers", []))
    present = {bytes(k).lower() for k, _ in headers}
    extra = {
        b"content-security-policy": CSP.encode(),
        b"x-content-type-options": b"nosniff",
        b"x-frame-options": b"DENY",
        b"referrer-policy": b"strict-origin-when-cross-origin",
        b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
        b"cross-origin-opener-policy": b"same-origin",
    }
    if secure:
        extra[b"strict-transport-security"] = b"max-age=63072000; includeSubDomains"
    headers += [(k, v) for k, v in extra.items() if k not in present]
    message["headers"] = headers
