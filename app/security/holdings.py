"""What the security domain holds about people, read and forgotten for the data map: MFA,
devices, sessions, rate limits, the audit log and alerts (named in app/security/datamap.toml)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from uuid import UUID

from app.core import ratelimit, sessions
from app.core.datamap import Section, Subject, Treatments, Viewer, like_any, redis_keys_holding
from app.core.db import global_transaction, tenant_transaction
from app.core.paging import SortSpec, Window, rows_of
from app.core.redis import redis
from app.core.useragent import classify
from app.security import mfa, queries
from app.security.audit_chain import erase_person
from app.security.tables import AuditEntry, KnownDevice

FORMER = "a former member"
LATEST_SEQ = SortSpec("Latest first", ("seq",), ("int",), descending=True)


def scrub(text: str, subject: Subject) -> str:
    """`text` with the person's "Name (address)" labels, addresses and id replaced."""
    for name in subject.names:
        for email in subject.emails:
            text = text.replace(f"{name} ({email})", FORMER.capitalize())
    for needle in subject.needles:
        text = re.sub(re.escape(needle), FORMER, text, flags=re.IGNORECASE)
    return text


# --- readers (My data) ---------------------------------------------------------------------


async def read_mfa(viewer: Viewer, after: str | None, limit: int) -> Section:
    status = await mfa.status(viewer.user_id)
    row = {
        "state": "on" if status["enabled"] else "off",
        "since": status["enabled_at"],
        "codes_left": status["codes_left"] if status["enabled"] else None,
    }
    return Section(
        "Two-factor authentication",
        [("state", "Status"), ("since", "On since"), ("codes_left", "Recovery codes left")],
        [row],
        note="The authenticator secret is stored encrypted; recovery codes only as keyed hashes.",
    )


async def read_devices(viewer: Viewer, after: str | None, limit: int) -> Section:
    async with global_transaction():
        rows = await (
            KnownDevice.select(KnownDevice.label, KnownDevice.first_seen, KnownDevice.last_seen)
            .where(KnownDevice.user_id == viewer.user_id)
            .order_by(KnownDevice.last_seen, ascending=False)
        )
    return Section(
        "Known devices",
        [("label", "Device"), ("first_seen", "First sign-in"), ("last_seen", "Last sign-in")],
        rows,
        note="A sign-in from a device not on this list alerts your workspaces' admins. We keep"
        " only a keyed hash of the browser, system and IP address, and this label.",
    )


async def read_sessions(viewer: Viewer, after: str | None, limit: int) -> Section:
    open_sessions = await sessions.user_sessions(str(viewer.user_id))
    found: list[dict[str, object]] = [
        {
            "device": "{} on {} ({})".format(*classify(session.user_agent))
            + (" — this browser" if key == viewer.session_key else ""),
            "ip": session.ip,
            "created_at": datetime.fromtimestamp(session.created_at, UTC),
            "last_seen": datetime.fromtimestamp(session.last_seen, UTC),
        }
        for key, session in sorted(open_sessions, key=lambda ks: ks[1].last_seen, reverse=True)
    ]
    return Section(
        "Sessions",
        [
            ("device", "Device"),
            ("ip", "IP address"),
            ("created_at", "Started"),
            ("last_seen", "Last seen"),
        ],
        found,
    )


async def read_audit(viewer: Viewer, after: str | None, limit: int) -> Section:
    window = Window(LATEST_SEQ, after=after, limit=limit)
    async with tenant_transaction(viewer.tenant_id) as conn:
        total = await AuditEntry.count().where(AuditEntry.actor_id == viewer.user_id)
        page = await rows_of(
            conn,
            window,
            select="seq, created_at, action, target",
            table="audit_log",
            column="actor_id",
            value=viewer.user_id,
        )
    return Section(
        "Audit log entries about you (this workspace)",
        [("created_at", "When"), ("action", "Action"), ("target", "About")],
        page.rows,
        int(total),
        page.next_cursor,
    )


# --- account deletion and workspace purge --------------------------------------------------


async def forget_alerts(subject: Subject) -> int:
    """Alerts by or about the person stay as the workspace's security record, anonymised."""
    changed = 0
    for tenant_id in subject.tenant_ids:
        async with tenant_transaction(tenant_id) as conn:
            needles = like_any(subject.needles)
            rows = await queries.rows_naming(
                conn, queries.ALERTS_NAMING, queries.AlertText, subject.user_id, needles
            )
            for row in rows:
                await queries.anonymise_alert(
                    conn,
                    row.id,
                    scrub(row.summary, subject)[:1000],
                    json.dumps(json.loads(scrub(row.details, subject))),
                    subject.user_id,
                )
            changed += len(rows)
    return changed


async def forget_audit(subject: Subject) -> int:
    return await erase_person(subject.tenant_ids, subject.user_id, subject.needles)


async def forget_sessions(subject: Subject) -> int:
    return await sessions.forget_user(str(subject.user_id))


async def scan_sessions(subject: Subject) -> list[str]:
    found = []
    if subject.user_id and await redis().exists(f"user_sessions:{subject.user_id}"):
        found.append("the session index of the user still exists")
    if subject.user_id and await redis().exists(f"user_revoked:{subject.user_id}"):
        found.append("the user's sign-out-everywhere marker still exists")
    keys = await redis_keys_holding("sess:*", subject.needles)
    if keys:
        found.append(f"{len(keys)} sessions name the subject")
    return found


async def purge_sessions(tenant_id: UUID) -> int:
    """Sessions still pointing at the deleted workspace end (their owners sign in again)."""
    keys = await redis_keys_holding("sess:*", [str(tenant_id)])
    return int(await redis().delete(*keys)) if keys else 0


async def forget_limits(subject: Subject) -> int:
    return sum([await ratelimit.forget_subject(email) for email in subject.emails])


async def scan_limits(subject: Subject) -> list[str]:
    found = 0
    for email in subject.emails:
        digest = ratelimit.subject_hash(email)
        found += len([k async for k in redis().scan_iter(match=f"*{digest}*")])
    return [f"{found} rate-limit or lockout keys for the address"] if found else []


TREATMENTS = Treatments(
    read=[read_mfa, read_devices, read_audit, read_sessions],
    forget_user=[forget_audit, forget_alerts, forget_sessions, forget_limits],
    purge=[purge_sessions],
    scan=[scan_sessions, scan_limits],
)
