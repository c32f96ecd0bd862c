"""The deletion report: after a purge or an account deletion, look in every place on the data
map for the workspace or the person (their id and every address) and record what was found.

A place's own ``scan`` is used when it has one (files, encrypted notes, sessions); tables are
checked generically from what the map says about them (a purged workspace's tenant tables must
hold no row at all; elsewhere no user column may hold the id and no text column the id or an
address); Redis places are scanned key by key for the ids and addresses. Places the map marks
``kept`` (the minimal deletion record, backups until they age out) are listed, not flagged. The
report names places and counts, never the data or the subject.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from uuid import UUID

from app.accounts.roles import require_staff
from app.accounts.schemas import Current
from app.core.datamap import Place, Subject, places, redis_keys_holding
from app.core.db import global_transaction, tenant_transaction
from app.core.rows import DEFAULT
from app.privacy.queries import can_name, count_naming, count_rows
from app.privacy.tables import DeletionReport

log = logging.getLogger("odex.privacy")


@dataclass
class Report:
    """What the scan found: (place, what) pairs, and the places that keep data by design."""

    places_checked: int = 0
    findings: list[dict[str, str]] = field(default_factory=list)
    kept: list[dict[str, str]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings


async def scan_table(place: Place, subject: Subject) -> list[str]:
    """Rows of a table that still hold the subject (see the module's docstring)."""
    table = place.table
    assert table is not None  # scan_place calls this for table places only
    if place.tenant_scoped:
        if subject.workspace_id is not None:
            async with tenant_transaction(subject.workspace_id) as conn:
                count = await count_rows(conn, table)
            return [f"{count} rows of the workspace"] if count else []
        if not can_name(place, subject):
            return []
        count = 0
        for tenant_id in subject.tenant_ids:
            async with tenant_transaction(tenant_id) as conn:
                count += await count_naming(conn, place, subject)
        return [f"{count} rows name the person"] if count else []
    if not can_name(place, subject):
        return []
    async with global_transaction() as conn:
        count = await count_naming(conn, place, subject)
    return [f"{count} rows name the subject"] if count else []


async def scan_redis(place: Place, subject: Subject) -> list[str]:
    keys = 0
    for pattern in ([place.pattern] if place.pattern else []) + list(place.also):
        keys += len(await redis_keys_holding(pattern, subject.needles))
    return [f"{keys} keys name the subject"] if keys else []


async def scan_place(place: Place, subject: Subject) -> list[str]:
    """What of the subject is still in one place (empty: nothing)."""
    if place.scan is not None:
        return await place.scan(subject)
    if place.table:
        return await scan_table(place, subject)
    if place.kind == "redis":
        return await scan_redis(place, subject)
    return []


async def scan(subjects: list[Subject]) -> Report:
    """Check every place on the data map for every subject."""
    report = Report()
    for place in places():
        report.places_checked += 1
        if place.kept:
            report.kept.append({"place": place.name, "why": place.kept})
            continue
        for subject in subjects:
            for found in await scan_place(place, subject):
                kind = "workspace" if subject.workspace_id else "person"
                report.findings.append({"place": place.name, "found": f"{found} ({kind})"})
    return report


async def record_report(request_id: UUID, scope: str, report: Report) -> UUID:
    """Store the report (places and counts only) and log its outcome."""
    report_id = uuid.uuid4()
    async with global_transaction():
        await DeletionReport.insert(
            DeletionReport(
                id=report_id,
                request_id=request_id,
                scope=scope,
                clean=report.clean,
                places_checked=report.places_checked,
                findings=json.dumps(report.findings),
                kept=json.dumps(report.kept),
                created_at=DEFAULT,
            )
        )
    if report.clean:
        log.info(
            "deletion %s (%s): %d places checked, nothing left (%d keep data by design)",
            request_id,
            scope,
            report.places_checked,
            len(report.kept),
        )
    else:
        log.error("deletion %s (%s): data left behind: %s", request_id, scope, report.findings)
    return report_id


async def latest_reports(current: Current, limit: int = 50) -> list[dict[str, object]]:
    """The newest reports (for staff)."""
    require_staff(current, "Only Odex staff can see deletion reports.")
    async with global_transaction():
        rows = (
            await DeletionReport.select()
            .order_by(DeletionReport.created_at, ascending=False)
            .limit(limit)
        )
    return [
        {
            **r,
            "findings": json.loads(r["findings"])
            if isinstance(r["findings"], str)
            else r["findings"],
            "kept": json.loads(r["kept"]) if isinstance(r["kept"], str) else r["kept"],
        }
        for r in rows
    ]
