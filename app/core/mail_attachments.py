"""Files attached to outbox mail (an invoice's PDF), kept under the data directory until the
mail is sent or given up: ``mail_attachments/<workspace id | platform>/<random id>``.

The outbox row lists them (``attachments``: name, type, path relative to the data directory,
size). The mail job reads them at send time and deletes them once the mail is out or given up;
the daily retention sweep deletes any file no waiting mail refers to (a mail whose transaction
was rolled back) after a day.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from app.settings import get_settings

FOLDER = "mail_attachments"
ORPHAN_AFTER = timedelta(days=1)
MAX_TOTAL_BYTES = 10 * 1024 * 1024  # what one mail may carry (most servers refuse above ~20 MB)


@dataclass(frozen=True)
class Attachment:
    """A file to send with a mail."""

    name: str
    content_type: str
    data: bytes


class AttachmentMissing(ValueError):
    """An attachment's file is gone: the mail can't be sent as written (a permanent failure)."""


def root() -> Path:
    return Path(get_settings().data_dir) / FOLDER


def store(workspace_id: UUID | None, attachments: list[Attachment]) -> list[dict[str, object]]:
    """Write the files; what the outbox row lists about them."""
    if sum(len(a.data) for a in attachments) > MAX_TOTAL_BYTES:
        raise ValueError("attachments over 10 MB")
    folder = root() / (str(workspace_id) if workspace_id else "platform")
    folder.mkdir(parents=True, exist_ok=True)
    listed = []
    for attachment in attachments:
        path = folder / uuid.uuid4().hex
        path.write_bytes(attachment.data)
        listed.append(
            {
                "name": attachment.name,
                "type": attachment.content_type,
                "path": str(path.relative_to(get_settings().data_dir)),
                "size": len(attachment.data),
            }
        )
    return listed


def listed(raw: str | bytes | list[object] | None) -> list[dict[str, object]]:
    """The attachments column as read from the database (jsonb arrives as text)."""
    value = json.loads(raw) if isinstance(raw, str | bytes) else raw
    return [a for a in value or [] if isinstance(a, dict) and "path" in a]


def _path(item: dict[str, object]) -> Path:
    base = Path(get_settings().data_dir).resolve()
    path = (base / str(item["path"])).resolve()
    if not path.is_relative_to(root().resolve()):
        raise AttachmentMissing(f"attachment {item.get('name')!r} is not a mail attachment")
    return path


def load(item: dict[str, object]) -> bytes:
    try:
        return _path(item).read_bytes()
    except FileNotFoundError as exc:
        raise AttachmentMissing(f"attachment {item.get('name')!r} is gone") from exc


def remove(items: list[dict[str, object]]) -> None:
    """Delete the files of a mail that is sent or given up."""
    for item in items:
        try:
            _path(item).unlink(missing_ok=True)
        except AttachmentMissing:
            continue


async def purge_workspace(tenant_id: UUID) -> int:
    folder = root() / str(tenant_id)
    count = len(list(folder.iterdir())) if folder.exists() else 0
    shutil.rmtree(folder, ignore_errors=True)
    return count


async def expire_orphans() -> int:
    """Files older than a day that no waiting mail lists (their mail was rolled back)."""
    from app.core.db import global_transaction

    if not root().exists():
        return 0
    async with global_transaction() as conn:
        rows = await conn.fetch(
            "select attachments from outbox where sent_at is null and failed_at is null"
            " and attachments <> '[]'::jsonb"
        )
    wanted = {str(_path(a)) for r in rows for a in listed(r["attachments"])}
    limit = (datetime.now(UTC) - ORPHAN_AFTER).timestamp()
    removed = 0
    for path in root().glob("*/*"):
        if str(path.resolve()) not in wanted and path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


async def scan_workspace(workspace_id: UUID | None) -> list[str]:
    if workspace_id is None:
        return []
    folder = root() / str(workspace_id)
    return [f"{len(list(folder.iterdir()))} mail attachments"] if folder.exists() else []
