"""The code of the CRM's data map (app/crm/datamap.toml): contacts, companies, notes, tasks,
the timeline, imports (the export's files are in app/crm/export_files.py)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from uuid import UUID

from piccolo.querystring import QueryString

from app.core.datamap import Subject, Treatments, data_dir, tenant_folders
from app.core.db import tenant_transaction
from app.crm import forget
from app.crm.custom_forget import forget_member_in_custom_values
from app.crm.export_files import (
    COMPANIES_FILE,
    CONTACTS_FILE,
    NOTES_FILE,
    TASKS_FILE,
    TIMELINE_FILE,
)
from app.crm.tables import CrmImport
from app.settings import get_settings


async def _purge_uploads(tenant_id: UUID) -> int:
    folder = data_dir() / "imports" / str(tenant_id)
    count = len(list(folder.iterdir())) if folder.exists() else 0
    shutil.rmtree(folder, ignore_errors=True)
    return count


async def _expire_uploads() -> int:
    """Uploads of finished imports, of imports gone, and never imported after
    CRM_UPLOAD_KEEP_HOURS (that import is marked failed, saying why)."""
    limit = datetime.now(UTC) - timedelta(hours=get_settings().crm_upload_keep_hours)
    removed = 0
    for tenant_id, folder in tenant_folders(data_dir() / "imports"):
        async with tenant_transaction(tenant_id):
            imports = await CrmImport.select(CrmImport.id, CrmImport.status, CrmImport.updated_at)
            rows = {str(r["id"]): r for r in imports}
            for path in folder.iterdir():
                row = rows.get(path.stem)
                idle = row is not None and row["status"] in ("uploaded", "failed")
                if row is None or row["status"] == "done" or (idle and row["updated_at"] < limit):
                    path.unlink(missing_ok=True)
                    removed += 1
                    if row is not None and row["status"] == "uploaded":
                        hours = get_settings().crm_upload_keep_hours
                        await CrmImport.update(
                            {
                                CrmImport.status: "failed",
                                CrmImport.error: "The upload was never imported, so it was"
                                f" deleted after {hours} hours. Upload it again.",
                                CrmImport.updated_at: QueryString("now()"),
                            }
                        ).where(CrmImport.id == row["id"])
    return removed


async def _scan_uploads(subject: Subject) -> list[str]:
    if subject.workspace_id is None:
        return []  # uploads hold the workspace's contacts, not its members
    folder = data_dir() / "imports" / str(subject.workspace_id)
    return [f"{len(list(folder.iterdir()))} uploaded files"] if folder.exists() else []


TREATMENTS = Treatments(
    identify=[forget.identify_contact],
    erase=[
        forget.erase_contact_row,
        forget.erase_notes,
        forget.erase_tasks,
        forget.erase_timeline,
        forget.erase_import_errors,
        forget.erase_import_files,
    ],
    forget_user=[
        forget.forget_member_in_notes,
        forget.forget_member_in_timeline,
        forget_member_in_custom_values,
    ],
    purge=[_purge_uploads],
    scan=[forget.scan_notes, _scan_uploads],
    expire=[_expire_uploads],
    files=[CONTACTS_FILE, COMPANIES_FILE, NOTES_FILE, TASKS_FILE, TIMELINE_FILE],
)
