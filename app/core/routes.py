"""Core pages: home redirect, health checks and the dev mailbox (all public)."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.message import Message
from pathlib import Path

from litestar import Response, get
from litestar.exceptions import NotFoundException

from app.core.access import public_router
from app.core.availability import RETRY_AFTER_SECONDS
from app.core.health import readiness
from app.core.http_types import Req
from app.core.web import content_disposition, get_session, redirect, render
from app.settings import get_settings

MAIL_FILE = re.compile(r"^\d{1,30}$", re.ASCII)  # a caught mail's file name (time.time_ns())


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
    for stem, message in reversed(_caught(Path(settings.mailbox_dir))):
        text, files = _text_and_files(message)
        attachments = [
            {"name": name, "type": kind, "size": len(data), "url": f"/dev/mailbox/{stem}/{i}"}
            for i, (name, kind, data) in enumerate(files)
        ]
        messages.append(
            {
                "to": message["To"],
                "subject": message["Subject"],
                "body": text,
                "attachments": attachments,
            }
        )
    return render(request, "core/mailbox.html", {"messages": messages})


def _caught(folder: Path, stem: str | None = None) -> list[tuple[str, Message]]:
    """The last 50 caught mails (file stem, message), oldest first; or just the one `stem`."""
    if not folder.exists():
        return []
    paths = [folder / f"{stem}.eml"] if stem else sorted(folder.glob("*.eml"))[-50:]
    return [(p.stem, message_from_bytes(p.read_bytes())) for p in paths if p.is_file()]


def _text_and_files(message: Message) -> tuple[str, list[tuple[str, str, bytes]]]:
    """A caught mail's plain-text body and its attachments (name, type, bytes)."""
    text = ""
    files: list[tuple[str, str, bytes]] = []
    for part in message.walk() if message.is_multipart() else [message]:
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else str(payload or "").encode()
        name = part.get_filename()
        if name or part.get_content_disposition() == "attachment":
            files.append((name or "attachment", part.get_content_type(), data))
        elif not text and part.get_content_type() == "text/plain":
            text = data.decode(part.get_content_charset() or "utf-8", "replace")
    return text, files


@get("/dev/mailbox/{message:str}/{index:int}")
async def dev_mailbox_attachment(request: Req, message: str, index: int) -> Response[bytes]:
    """One attachment of a caught mail, as the recipient would open it (dev and tests only)."""
    settings = get_settings()
    if not settings.dev_features or not MAIL_FILE.match(message):
        raise NotFoundException()
    found = _caught(Path(settings.mailbox_dir), message)
    if not found:
        raise NotFoundException()
    _, files = _text_and_files(found[0][1])
    if not 0 <= index < len(files):
        raise NotFoundException()
    name, kind, data = files[index]
    headers = {"Content-Disposition": content_disposition(name, "inline")}
    return Response(data, media_type=kind, headers=headers)


ROUTES = [public_router([home, healthz, readyz, dev_mailbox, dev_mailbox_attachment])]
