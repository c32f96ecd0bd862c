"""Core pages: home redirect, health checks and the dev mailbox (all public)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException

from app.core.access import public_router
from app.core.availability import RETRY_AFTER_SECONDS
from app.core.embedded import read_mailbox
from app.core.health import readiness
from app.core.web import get_session, redirect, render
from app.settings import get_settings

Req = Request[Any, Any, Any]


@get("/")
async def home(request: Req) -> Response[str]:
    return redirect(request, "/app" if get_session(request).user_id else "/login")


@get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive (answers without touching PostgreSQL or Valkey)."""
    return {"status": "ok"}


@get("/readyz")
async def readyz() -> Response[dict[str, str]]:
    """Ready for traffic: PostgreSQL and Valkey answer, the migrations are current (else 503)."""
    ready, report = await readiness()
    headers = {} if ready else {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return Response(report, status_code=200 if ready else 503, headers=headers)


@get("/dev/mailbox")
async def dev_mailbox(request: Req) -> Response[str]:
    """Mail caught by the local SMTP sink (dev and tests only: a 404 like any unknown page
    otherwise, whatever ODEX_ENV is set to)."""
    settings = get_settings()
    if not settings.dev_features:
        raise NotFoundException()
    messages = []
    for message in reversed(read_mailbox(Path(settings.mailbox_dir))[-50:]):
        body = message.get_payload(decode=True)
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        messages.append({"to": message["To"], "subject": message["Subject"], "body": text})
    return render(request, "core/mailbox.html", {"messages": messages})


ROUTES = [public_router([home, healthz, readyz, dev_mailbox])]
