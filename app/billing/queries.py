"""Billing's SQL that Piccolo cannot say well, as named typed functions: the usage counts, the
notice recipients, the once-only grace claim, the invoice upsert that never lowers a payment,
and the reads and wipes by the customer inside a stored event's JSON. Ordinary single-table
reads and writes go through the Piccolo tables (app/billing/tables.py)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from app.core.rows import answers, execute_count, fetch_value, fetch_values


class Usage(msgspec.Struct, frozen=True):
    """What a tenant uses of its plan's limits."""

    members: int
    pending_invites: int
    records: int

    @property
    def seats(self) -> int:
        return self.members + self.pending_invites


async def usage(conn: asyncpg.Connection) -> Usage:
    """The tenant's members, open invitations and records (contacts plus companies)."""
    row = await conn.fetchrow(
        "select (select count(*) from memberships) as members,"
        " (select count(*) from invitations where accepted_at is null and revoked_at is null"
        "  and expires_at > now()) as pending,"
        " (select count(*) from contacts) + (select count(*) from companies) as records"
    )
    assert row is not None
    return Usage(int(row["members"]), int(row["pending"]), int(row["records"]))


async def claim_grace_notice(conn: asyncpg.Connection) -> bool:
    """Mark the current grace period as announced; False when it already was (this lapse)."""
    return await answers(
        conn,
        "update billing_accounts set grace_notice_for = grace_until"
        " where grace_notice_for is distinct from grace_until returning 1",
    )


class InvoiceRecord(msgspec.Struct, frozen=True):
    """A Stripe invoice as a webhook reported it."""

    stripe_invoice_id: str
    number: str | None
    status: str
    amount_due: int
    amount_paid: int
    currency: str
    hosted_invoice_url: str | None
    invoice_created: datetime | None


async def upsert_invoice(conn: asyncpg.Connection, tenant_id: UUID, inv: InvoiceRecord) -> None:
    """Insert or refresh the invoice; the amount paid never goes down."""
    await conn.execute(
        "insert into billing_invoices (tenant_id, stripe_invoice_id, number, status, amount_due,"
        " amount_paid, currency, hosted_invoice_url, invoice_created)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " on conflict (tenant_id, stripe_invoice_id) do update set number = excluded.number,"
        " status = excluded.status, amount_due = excluded.amount_due,"
        " amount_paid = greatest(billing_invoices.amount_paid, excluded.amount_paid),"
        " hosted_invoice_url = excluded.hosted_invoice_url, updated_at = now()",
        tenant_id,
        inv.stripe_invoice_id,
        inv.number,
        inv.status,
        inv.amount_due,
        inv.amount_paid,
        inv.currency,
        inv.hosted_invoice_url,
        inv.invoice_created,
    )


# SQL: the Stripe event is about the customer $1 (its object's `customer`)
_OF_CUSTOMER = "payload -> 'data' -> 'object' ->> 'customer' = $1"


async def unprocessed_events_of_customer(conn: asyncpg.Connection, customer_id: str) -> int:
    """How many received events about `customer_id` are not applied yet."""
    sql = f"select count(*) from stripe_events where processed_at is null and {_OF_CUSTOMER}"
    return await fetch_value(conn, int, sql, customer_id)


async def wipe_events_of_customer(conn: asyncpg.Connection, customer_id: str) -> None:
    """Empty the payloads of the events that named `customer_id` (their ids stay)."""
    await conn.execute(
        f"update stripe_events set payload = '{{}}'::jsonb where {_OF_CUSTOMER}", customer_id
    )


async def stale_unprocessed_events(
    conn: asyncpg.Connection, older_than_seconds: int, limit: int
) -> list[str]:
    """Ids of events received more than `older_than_seconds` ago (database clock) and still
    not applied, in Stripe's order."""
    return await fetch_values(
        conn,
        str,
        "select id from stripe_events where processed_at is null"
        " and received_at < now() - make_interval(secs => $1) order by created, received_at"
        " limit $2",
        older_than_seconds,
        limit,
    )


async def account_as_stored(conn: asyncpg.Connection) -> dict[str, object] | None:
    """The tenant's billing_accounts row, every column in the table's own order (what the
    data map shows a person), or None."""
    row = await conn.fetchrow("select * from billing_accounts")
    return None if row is None else dict(row)


async def empty_events_mentioning(conn: asyncpg.Connection, patterns: list[str]) -> int:
    """Empty the payloads that contain any of the ILIKE `patterns`; how many were emptied."""
    return await execute_count(
        conn,
        "update stripe_events set payload = '{}'::jsonb where payload <> '{}'::jsonb"
        " and payload::text ilike any($1::text[])",
        patterns,
    )
