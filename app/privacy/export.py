"""CSV export: one human-readable CSV per kind of record in a zip, with a manifest and README.

Who gets what: admins and owners export the workspace; members export their own data (their
account, consents, usage, notifications, security records and support tickets, and the
records they own, wrote, created or were assigned). The files come from the data map
(app/core/datamap.py): each domain declares its files and their documented columns; they are
written by app/privacy/export_files.py (COPY … TO STDOUT, or a cursor for encrypted columns).
"""

from __future__ import annotations

import json
import os
import time
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from app.accounts.schemas import Current
from app.accounts.tables import Membership, Tenant, User
from app.core import datamap
from app.core.availability import BACKEND_DOWN
from app.core.datamap import ExportFile
from app.core.db import tenant_transaction
from app.core.errors import RecordNotFound
from app.core.lease import fence, job_key, leased, run_state, schedule, timed_out
from app.core.mail import queue_mail
from app.core.redis import redis
from app.notifications.services import notify
from app.privacy import hooks
from app.privacy.export_files import args_for, file_sql, readme, start_pool, write_file
from app.privacy.tables import Export
from app.settings import get_settings

EXPORT_JOB = "run_export"
EXPORT_TIMEOUT_SECONDS = 2 * 3600  # the job's arq timeout (app/privacy/jobs.py)
ZIP_LEVEL = 1
SCOPES = {
    "workspace": "everything in the workspace (owners and admins)",
    "own": "your own data and the records you own, wrote, created or were given (members)",
}


def scope_of(current: Current) -> str:
    """Admins and owners export the workspace; members their own data."""
    return "workspace" if current.is_admin else "own"


def files_for(scope: str) -> list[ExportFile]:
    """The data map's files of an export (CRM files by name, then the my_ files)."""
    found = [
        spec
        for place in datamap.places()
        for spec in place.exports
        if (spec.workspace_where if scope == "workspace" else spec.own_where) is not None
    ]
    return sorted(found, key=lambda f: (f.name.startswith("my_"), f.name))


def export_dir() -> Path:
    """Where export zips (and the temp files of exports being written) live."""
    return Path(get_settings().data_dir) / "exports"


def _progress_key(export_id: UUID) -> str:
    return f"privacy:export:{export_id}:progress"


async def request_export(current: Current, bom: bool, visitor_id: str | None = None) -> UUID:
    """Start an export for the current user (or return the one running): the workspace for
    admins, their own data for members. `visitor_id` is the browser's consent id (the
    consents file lists the same entries as the My data page)."""
    async with tenant_transaction(current.tenant_id):
        running = (
            await Export.select(Export.id)
            .where((Export.user_id == current.user_id) & Export.status.is_in(["queued", "running"]))
            .order_by(Export.created_at, ascending=False)
            .first()
        )
        if running:
            return UUID(str(running["id"]))
        export_id = uuid.uuid4()
        await Export.insert(
            Export(
                id=export_id,
                tenant_id=current.tenant_id,
                user_id=current.user_id,
                bom=bom,
                visitor_id=(visitor_id or "")[:64] or None,
            )
        )
        what = (
            "CSV export of all workspace data"
            if scope_of(current) == "workspace"
            else "CSV export of their own data"
        )
        await hooks.security_event(
            current.tenant_id,
            "export_requested",
            current.user_id,
            {"summary": what, "export_id": str(export_id)},
        )

        await schedule(EXPORT_JOB, str(current.tenant_id), str(export_id))
    return export_id


async def export_status(current: Current, export_id: UUID) -> dict[str, object]:
    """The requester's view of an export (others get 404): status, live progress, link."""
    async with tenant_transaction(current.tenant_id):
        row = (
            await Export.select()
            .where((Export.id == export_id) & (Export.user_id == current.user_id))
            .first()
        )
    if row is None:
        raise RecordNotFound()
    if row["status"] in ("queued", "running"):
        live = await redis().get(_progress_key(export_id))
        if live:
            progress, _, current_file = live.decode().partition(":")
            row["progress"], row["current_file"] = int(progress), current_file
        state = await run_state(job_key(EXPORT_JOB, current.tenant_id, export_id))
        row["resuming"] = bool(state and state["resuming"])
    row["expired"] = bool(row["expires_at"] and row["expires_at"] <= datetime.now(UTC))
    return row


async def latest_exports(current: Current, limit: int = 5) -> list[dict[str, object]]:
    async with tenant_transaction(current.tenant_id):
        rows = (
            await Export.select()
            .where(Export.user_id == current.user_id)
            .order_by(Export.created_at, ascending=False)
            .limit(limit)
        )
    now = datetime.now(UTC)
    for row in rows:
        row["expired"] = bool(row["expires_at"] and row["expires_at"] <= now)
    return list(rows)


async def export_file(current: Current, export_id: UUID) -> tuple[Path, str]:
    """The zip of a ready, unexpired export, for its requester only; 404 for anyone else."""
    row = await export_status(current, export_id)
    path = export_dir() / str(current.tenant_id) / f"{export_id}.zip"
    if row["status"] != "ready" or row["expired"] or not path.exists():
        raise RecordNotFound()
    return path, str(row["file_name"])


async def _scope_of_row(tenant_id: UUID, user_id: UUID) -> tuple[str, str]:
    """(scope, workspace name) for the requester as they are now (a demoted admin gets their
    own data only)."""
    async with tenant_transaction(tenant_id):
        membership = (
            await Membership.select(Membership.role)
            .where((Membership.tenant_id == tenant_id) & (Membership.user_id == user_id))
            .first()
        )
        tenant = await Tenant.select(Tenant.name).where(Tenant.id == tenant_id).first()
    if membership is None:
        raise RecordNotFound()
    name = tenant["name"] if tenant else None
    return ("workspace" if membership["role"] in ("owner", "admin") else "own"), str(name)


@leased(EXPORT_JOB, skipped="skipped", timeout=lambda: EXPORT_TIMEOUT_SECONDS)
async def run_export(ctx: dict[str, object] | None, tenant: str, export_id: str) -> str:
    """arq job: write the zip (temp name, then rename), then notify and mail the requester.

    Safe to run twice: a finished export is skipped, an interrupted one starts over (under a
    lease: a dead worker's export is taken over within a minute, and finished once). The temp
    file goes whatever ends the job (an error, a timeout's cancellation); one left by a killed
    worker is swept by `sweep_export_files`.
    """
    eid, tenant_id = UUID(export_id), UUID(tenant)
    async with tenant_transaction(tenant_id):
        row = await Export.select().where(Export.id == eid).first()
    if row is None or row["status"] == "ready":
        return "skipped"
    user_id = UUID(str(row["user_id"]))
    folder = export_dir() / str(tenant_id)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{eid}.zip"
    temp = folder / f".{eid}.{os.getpid()}.tmp"
    stamp = datetime.now(UTC)
    file_name = f"odex-export-{stamp:%Y%m%d-%H%M}.zip"
    try:
        scope, workspace = await _scope_of_row(tenant_id, user_id)
        async with tenant_transaction(tenant_id, user_id):
            await Export.update(
                {Export.status: "running", Export.started_at: stamp, Export.progress: 0}
            ).where(Export.id == eid)
        files: list[dict[str, object]] = []
        attached: list[dict[str, object]] = []
        manifest: dict[str, object] = {
            "export_id": export_id,
            "workspace": workspace,
            "workspace_id": str(tenant_id),
            "requested_by": str(user_id),
            "scope": scope,
            "scope_means": SCOPES[scope],
            "generated_at": stamp.strftime("%Y-%m-%d %H:%M:%S"),
            "encoding": "utf-8-sig" if row["bom"] else "utf-8",
            "formula_cells": "text cells starting with = @ tab CR, or + - when not a plain number,"
            " are prefixed with '",
            "files": files,
        }
        specs = files_for(scope)
        start_pool(specs)  # its processes start while the first files are written
        values = [user_id, row["visitor_id"] or "", tenant_id]
        async with tenant_transaction(tenant_id, user_id) as conn:
            # deflate's fastest level: a download's zip, written at the speed of the export's
            # query (level 6 took over twice the CPU for a file about a tenth smaller)
            with zipfile.ZipFile(
                temp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL
            ) as archive:
                for index, spec in enumerate(specs):
                    await redis().set(
                        _progress_key(eid), f"{index * 100 // len(specs)}:{spec.name}", ex=86400
                    )
                    sql = file_sql(spec, scope)
                    written = await write_file(
                        conn, archive, spec, sql, args_for(sql, values), bool(row["bom"])
                    )
                    files.append(
                        {
                            "file": spec.name,
                            "description": spec.description,
                            **written,
                            "columns": [
                                {"name": c.name, "description": c.description} for c in spec.columns
                            ],
                        }
                    )
                for place in datamap.places():  # files kept as they are (attachments)
                    if place.export_files is not None:
                        manifest["attached_files"] = attached
                        attached.extend(
                            await place.export_files(archive, tenant_id, user_id, scope)
                        )
                archive.writestr("manifest.json", json.dumps(manifest, indent=2))
                archive.writestr("README.txt", readme(manifest, specs))
        os.replace(temp, final)
        await _finish(tenant_id, user_id, eid, file_name, final.stat().st_size, manifest)
    except BaseException as exc:  # also a timeout's CancelledError: never leave the temp file
        temp.unlink(missing_ok=True)
        if isinstance(exc, BACKEND_DOWN) or not (isinstance(exc, Exception) or timed_out()):
            raise  # an outage or a hand-back at shutdown, not a failed export: it is resumed
        async with tenant_transaction(tenant_id, user_id):
            await Export.update({Export.status: "failed", Export.error: type(exc).__name__}).where(
                Export.id == eid
            )
        raise
    finally:
        await redis().delete(_progress_key(eid))
    return "ready"


async def sweep_export_files(ctx: dict[str, object] | None = None) -> int:
    """Cron: delete zips past their link, temp files of jobs that died or timed out (older than
    the job's timeout, or of an export that has ended), and files whose export is gone."""
    root = export_dir()
    if not root.exists():
        return 0
    now = time.time()
    link_limit = now - get_settings().export_link_hours * 3600
    temp_limit = now - EXPORT_TIMEOUT_SECONDS
    removed = 0
    for folder in (p for p in root.iterdir() if p.is_dir()):
        try:
            tenant_id = UUID(folder.name)
        except ValueError:
            continue
        async with tenant_transaction(tenant_id):
            rows = {
                str(r["id"]): r["status"] for r in await Export.select(Export.id, Export.status)
            }
        for path in folder.iterdir():
            export_id = path.name.lstrip(".").split(".")[0]
            status = rows.get(export_id)
            mtime = path.stat().st_mtime
            if path.suffix == ".tmp":
                stale = status not in ("queued", "running") or mtime < temp_limit
            else:
                stale = status is None or mtime < link_limit
            if stale:
                path.unlink(missing_ok=True)
                removed += 1
    return removed


async def _finish(
    tenant_id: UUID,
    user_id: UUID,
    export_id: UUID,
    file_name: str,
    size: int,
    manifest: dict[str, object],
) -> None:
    settings = get_settings()
    expires = datetime.now(UTC) + timedelta(hours=settings.export_link_hours)
    link = f"{settings.base_url}/settings/export/{export_id}/download"
    async with tenant_transaction(tenant_id, user_id) as conn:
        await fence(conn)  # a worker that lost its lease must not announce the export twice
        await Export.update(
            {
                Export.status: "ready",
                Export.progress: 100,
                Export.file_name: file_name,
                Export.size_bytes: size,
                Export.manifest: json.dumps(manifest),
                Export.finished_at: datetime.now(UTC),
                Export.expires_at: expires,
            }
        ).where(Export.id == export_id)
        user = await User.select(User.email, User.name).where(User.id == user_id).first()
        await notify(
            tenant_id,
            user_id,
            "export",
            "Your data export is ready",
            f"Download it before {expires:%d %b %Y %H:%M} UTC.",
            "/settings/export",
        )
        if user:
            await queue_mail(
                "export",
                str(user["email"]),
                "Your Odex CRM data export is ready",
                "privacy_export_ready.txt",
                name=user["name"],
                link=link,
                hours=settings.export_link_hours,
            )
