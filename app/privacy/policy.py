"""Policy versions: publish with ≥ 30 days' notice, notify every user once, acknowledge, show."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import TypedDict
from uuid import UUID

import msgspec
from markdown_it import MarkdownIt

from app.accounts.roles import require_staff
from app.accounts.schemas import Current
from app.accounts.tables import Membership, User
from app.core.db import after_commit, global_transaction, tenant_transaction, user_transaction
from app.core.errors import FormInvalid
from app.core.lease import leased, schedule
from app.core.mail import queue_mail
from app.core.redis import redis
from app.core.rows import DEFAULT, row_as, rows_as
from app.notifications.services import notify
from app.privacy.tables import PolicyAck, PolicyNotice, PolicyVersion
from app.settings import get_settings

NOTICE_DAYS = 30
NOTICE_BATCH = 200
NOTICE_JOB = "send_policy_notices"
LATEST_KEY = "privacy:policy:latest"
_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


class PolicyVersionRow(TypedDict):
    """A published version of the policy."""

    version: int
    summary: str
    body_md: str | None
    published_at: datetime
    effective_at: datetime
    notified_at: datetime | None


class PolicyOverview(TypedDict):
    """The version in force, those published but not yet in force (soonest first), and all."""

    current: PolicyVersionRow
    upcoming: list[PolicyVersionRow]
    history: list[PolicyVersionRow]


class LatestNotice(TypedDict):
    """The newest version after the first, as cached: what users must acknowledge."""

    version: int
    summary: str
    effective_at: str  # ISO 8601


def render_markdown(text: str) -> str:
    """Markdown to HTML with raw HTML disabled (escaped), so a policy text cannot inject markup."""
    return str(_md.render(text))


@cache
def bundled_text(version: int) -> str:
    """The policy text shipped in the repository (app/privacy/policy_v<N>.md), if any."""
    path = Path(__file__).parent / f"policy_v{version}.md"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def policy_html(row: PolicyVersionRow) -> str:
    text = row["body_md"] or bundled_text(row["version"]) or bundled_text(1)
    return render_markdown(text)


async def versions() -> list[PolicyVersionRow]:
    """Every published version, newest first."""
    async with global_transaction():
        rows = await PolicyVersion.select().order_by(PolicyVersion.version, ascending=False)
    return rows_as(PolicyVersionRow, rows)


async def current_version() -> PolicyVersionRow:
    """The version in force now (the newest whose effective date has passed)."""
    now = datetime.now(UTC)
    for row in await versions():
        if row["effective_at"] <= now:
            return row
    raise RuntimeError("no policy version in force: migrations not applied?")


async def overview() -> PolicyOverview:
    """Current, upcoming (published, not yet in force) and the full history."""
    now = datetime.now(UTC)
    rows = await versions()
    current = next(r for r in rows if r["effective_at"] <= now)
    upcoming = [r for r in rows if r["effective_at"] > now]
    return {"current": current, "upcoming": list(reversed(upcoming)), "history": rows}


def earliest_effective(now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) + timedelta(days=NOTICE_DAYS)


def parse_effective(value: str) -> datetime:
    """A date (midnight UTC) or an ISO date-time from the publish form."""
    value = value.strip()
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise FormInvalid({"effective_at": "Enter the date the new version takes effect."}) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def publish_version(
    current: Current, summary: str, effective_at: datetime, body_md: str = ""
) -> int:
    """Publish a new version (platform staff only); users are notified by a job after commit.

    The effective date must be at least 30 days after publication: checked here for a clear
    message, and by the database's CHECK constraint as the guarantee.
    """
    require_staff(current, "Only Odex staff can publish a new privacy policy.")
    errors: dict[str, str] = {}
    summary = summary.strip()
    if not summary:
        errors["summary"] = "Summarise what changes, in words users will understand."
    elif len(summary) > 2000:
        errors["summary"] = "Keep the summary under 2000 characters."
    earliest = earliest_effective()
    if effective_at < earliest:
        first_day = (earliest + timedelta(days=1)).date().isoformat()
        errors["effective_at"] = (
            f"Users must be told at least {NOTICE_DAYS} days ahead: choose {first_day} or later."
        )
    if len(body_md) > 200_000:
        errors["body_md"] = "The policy text is too long."
    if errors:
        raise FormInvalid(errors)
    async with global_transaction():
        last = (
            await PolicyVersion.select(PolicyVersion.version)
            .order_by(PolicyVersion.version, ascending=False)
            .first()
        )
        version = int(last["version"]) + 1 if last else 1
        await PolicyVersion.insert(
            PolicyVersion(
                version=version,
                summary=summary,
                body_md=body_md.strip() or None,
                effective_at=effective_at,
                published_by=current.user_id,
            )
        )

        async def forget_cached() -> None:
            await redis().delete(LATEST_KEY)

        after_commit(forget_cached)
        await schedule(NOTICE_JOB, version)  # survives a lost enqueue (app/core/lease.py)
    return version


async def _first_workspace(user_id: UUID) -> UUID | None:
    async with user_transaction(user_id):
        first = (
            await Membership.select(Membership.tenant_id)
            .where(Membership.user_id == user_id)
            .order_by(Membership.created_at)
            .first()
        )
    return UUID(str(first["tenant_id"])) if first else None


class NoticeRecipient(msgspec.Struct, frozen=True):
    """A user still to be told about a policy version."""

    id: UUID
    email: str
    name: str


async def _users_not_told(version: int, after: UUID, limit: int) -> list[NoticeRecipient]:
    """The next `limit` users (by id, after `after`) without a notice of `version`."""
    told = PolicyNotice.select(PolicyNotice.user_id).where(PolicyNotice.version == version)
    rows = await (
        User.select(User.id, User.email, User.name)
        .where(User.id > after, User.id.not_in(told))
        .order_by(User.id)
        .limit(limit)
    )
    return rows_as(NoticeRecipient, rows)


async def _notify_user(row: NoticeRecipient, meta: PolicyVersionRow) -> bool:
    """One user's notice: the unique row, the in-app notification and the mail commit together."""
    user_id = row.id
    tenant_id = await _first_workspace(user_id)
    scope = tenant_transaction(tenant_id, user_id) if tenant_id else global_transaction()
    async with scope:
        inserted = await (
            PolicyNotice.insert(
                PolicyNotice(version=meta["version"], user_id=user_id, created_at=DEFAULT)
            )
            .on_conflict(action="DO NOTHING")
            .returning(PolicyNotice.user_id)
        )
        if not inserted:
            return False
        date_text = meta["effective_at"].strftime("%B %-d, %Y")
        if tenant_id:
            await notify(
                tenant_id,
                user_id,
                "policy",
                f"Our privacy policy changes on {date_text}",
                meta["summary"][:500],
                "/privacy",
            )
        await queue_mail(
            "policy",
            row.email,
            f"Our privacy policy changes on {date_text}",
            "privacy_policy_notice.txt",
            name=row.name,
            summary=meta["summary"],
            effective=date_text,
            link=f"{get_settings().base_url}/privacy",
            contact=get_settings().privacy_contact,
        )
    return True


@leased(NOTICE_JOB, skipped=0)
async def send_policy_notices(ctx: dict[str, object] | None, version: int) -> int:
    """arq job: notify every user of `version` in batches; resumable and exactly once per user."""
    async with global_transaction():
        found = await PolicyVersion.select().where(PolicyVersion.version == version).first()
    if found is None:
        return 0
    meta = row_as(PolicyVersionRow, found)
    sent = 0
    cursor = UUID(int=0)
    while True:
        async with global_transaction():
            batch = await _users_not_told(version, cursor, NOTICE_BATCH)
        if not batch:
            break
        for row in batch:
            sent += await _notify_user(row, meta)
            cursor = row.id
    async with global_transaction():
        await PolicyVersion.update({PolicyVersion.notified_at: datetime.now(UTC)}).where(
            PolicyVersion.version == version
        )
    return sent


_latest_encoder = msgspec.json.Encoder()


async def latest_notice(cached: bytes | None = None) -> LatestNotice | None:
    """The newest version after the first (cached briefly): what users must acknowledge.
    `cached`: LATEST_KEY's value when the caller fetched it already."""
    raw = cached if cached is not None else await redis().get(LATEST_KEY)
    if raw is None:
        rows = await versions()
        latest = rows[0] if rows and rows[0]["version"] > 1 else None
        data: LatestNotice | None = (
            {
                "version": latest["version"],
                "summary": latest["summary"],
                "effective_at": latest["effective_at"].isoformat(),
            }
            if latest
            else None
        )
        await redis().set(LATEST_KEY, _latest_encoder.encode(data or {}), ex=300)
        return data
    decoded: dict[str, object] = msgspec.json.decode(raw)  # {}: no version to acknowledge
    return msgspec.convert(decoded, LatestNotice) if decoded else None


# a person's acknowledgement of a version, kept in Valkey: ACKED for 30 days; NOT_ACKED (the
# banner shows) for a minute, so that a person who leaves the banner open does not cost every
# page a database transaction; acknowledging sets ACKED at once
ACKED, NOT_ACKED = b"1", b"0"
NOT_ACKED_SECONDS = 60


async def pending_notice(user_id: str, cached: bytes | None = None) -> dict[str, object] | None:
    """The version this user has not acknowledged yet (shown as a banner), or None.
    `cached`: LATEST_KEY's value when the caller fetched it already."""
    latest = await latest_notice(cached)
    if latest is None:
        return None
    key = f"privacy:policy:ack:{latest['version']}:{user_id}"
    seen = await redis().get(key)
    if seen == ACKED:
        return None
    if seen is None:  # not known here: the database says, and is not asked again for a while
        async with global_transaction():
            acked = await PolicyAck.exists().where(
                (PolicyAck.user_id == UUID(user_id)) & (PolicyAck.version == latest["version"])
            )
        if acked:
            await redis().set(key, ACKED, ex=30 * 86400)
            return None
        await redis().set(key, NOT_ACKED, ex=NOT_ACKED_SECONDS)
    return {**latest, "effective_at": datetime.fromisoformat(latest["effective_at"])}


async def acknowledge(user_id: UUID, version: int) -> None:
    """Record that the user has seen `version` (idempotent); the banner goes away."""
    async with global_transaction():
        if not await PolicyVersion.exists().where(PolicyVersion.version == version):
            raise FormInvalid({"version": "That policy version does not exist."})
        await PolicyAck.insert(
            PolicyAck(user_id=user_id, version=version, acknowledged_at=DEFAULT)
        ).on_conflict(action="DO NOTHING")
    await redis().set(f"privacy:policy:ack:{version}:{user_id}", ACKED, ex=30 * 86400)


async def notices_of(user_id: UUID) -> list[dict[str, object]]:
    async with global_transaction():
        return list(await PolicyNotice.select().where(PolicyNotice.user_id == user_id))


async def acks_of(user_id: UUID) -> list[dict[str, object]]:
    async with global_transaction():
        return list(await PolicyAck.select().where(PolicyAck.user_id == user_id))
