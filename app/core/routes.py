"""Core pages: home redirect, health check and the dev mailbox (all public)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException

from app.core.access import public_router
from app.core.embedded import read_mailbox
from app.core.web import get_session, redirect, render
from app.settings import get_settings

Req = Request[Any, Any, Any]


@get("/")
async def home(request: Req) -> Response[str]:
    return redirect(request, "/app" if get_session(request).user_id else "/login")


@get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/dev/mailbox")
async def dev_mailbox(request: Req) -> Response[str]:
    """Mail caught by the local SMTP sink (dev only: absent in production settings)."""
    settings = get_settings()
    if settings.is_production:
        raise NotFoundException()
    messages = []
    for message in reversed(read_mailbox(Path(settings.mailbox_dir))[-50:]):
        body = message.get_payload(decode=True)
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        messages.append({"to": message["To"], "subject": message["Subject"], "body": text})
    return render(request, "core/mailbox.html", {"messages": messages})


ROUTES = [public_router([home, healthz, dev_mailbox])]
