"""Seed CRM rows of every entity in one tenant (the CRM helpers' tables) for privacy tests."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from app.core.crypto import encrypt_text
from app.core.db import tenant_transaction
from app.crm.secure import seal_activity_notes, seal_contact

# Cells a spreadsheet would run, plus quoting traps.
FORMULA = '=HYPERLINK("http://evil.example","x")'


async def seed_crm(tenant_id: UUID, user_id: UUID, tag: str, contacts: int = 3) -> dict[str, Any]:
    """Companies, contacts, notes, tasks, activities, a pipeline/stage/deal, an invoice + lines."""
    ids: dict[str, Any] = {"tag": tag}
    async with tenant_transaction(tenant_id) as conn:
        company = uuid.uuid4()
        await conn.execute(
            "insert into companies (id, tenant_id, name) values ($1, $2, $3)",
            company, tenant_id, f"Acme {tag}",
        )  # fmt: skip
        contact_ids = [uuid.uuid4() for _ in range(contacts)]
        sealed = [seal_contact([f"jane{i}-{tag}@example.com"], []) for i in range(contacts)]
        # one statement (not one per row): the record_counts trigger then updates the
        # workspace's counter once, not 30k times in one transaction (one email, no phone)
        await conn.execute(
            "insert into contacts (id, tenant_id, first_name, last_name, emails_enc,"
            " emails_bidx, phones_enc, phones_bidx, title, company_id)"
            " select c.id, $2, c.first, $4, array[c.em], array[c.eb], '{}', '{}', c.title, $5"
            " from unnest($1::uuid[], $3::text[], $6::text[], $7::text[], $8::text[])"
            " as c(id, first, em, eb, title)",
            contact_ids,
            tenant_id,
            [FORMULA if i == 0 else f"Jane{i} {tag}" for i in range(contacts)],
            f"Doe {tag}",
            company,
            [em[0] for em, _, _, _ in sealed],
            [eb[0] for _, eb, _, _ in sealed],
            ['Head of "Ops", Europe\nand more' if i == 1 else "-2+3" for i in range(contacts)],
        )
        ids["company"], ids["contacts"] = company, contact_ids
        target = contact_ids[1]
        await conn.execute(
            "insert into notes (id, tenant_id, subject_type, subject_id, author_id, body_enc) "
            "values ($1, $2, 'contact', $3, $4, $5)",
            uuid.uuid4(), tenant_id, target, user_id,
            encrypt_text(f"Called Jane {tag} about her divorce"),
        )  # fmt: skip
        await conn.execute(
            "insert into tasks (id, tenant_id, subject_type, subject_id, title, created_by) "
            "values ($1, $2, 'contact', $3, $4, $5)",
            uuid.uuid4(), tenant_id, target, f"Send Jane {tag} the offer", user_id,
        )  # fmt: skip
        call = uuid.uuid4()  # a logged call on the company with the contact taking part
        await conn.execute(
            "insert into tasks (id, tenant_id, subject_type, subject_id, kind, title, due_at,"
            " duration_minutes, outcome, participant_ids, notes_enc, created_by, done_at,"
            " created_at) values ($1, $2, 'company', $3, 'call', $4, now(), 15, 'connected',"
            " $5, $6, $7, now(), now() + interval '1 second')",
            call, tenant_id, company, f"Pricing call {tag}", [target],
            seal_activity_notes(f"Jane1 {tag} Doe {tag} asked about volume pricing", tenant_id,
                                call),
            user_id,
        )  # fmt: skip
        ids["call"] = call
        await conn.execute(
            "insert into activities (id, tenant_id, subject_type, subject_id, actor_id, action, "
            "summary, changes) values ($1, $2, 'contact', $3, $4, 'created', $5, $6::jsonb)",
            uuid.uuid4(), tenant_id, target, user_id, f"Created Jane {tag}",
            '{"first_name": "Jane"}',
        )  # fmt: skip
        pipeline, stage, deal = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            "insert into pipelines (id, tenant_id, name) values ($1, $2, 'Sales')",
            pipeline, tenant_id,
        )  # fmt: skip
        await conn.execute(
            "insert into stages (id, tenant_id, pipeline_id, name) values ($1, $2, $3, 'Lead')",
            stage, tenant_id, pipeline,
        )  # fmt: skip
        await conn.execute(
            "insert into deals (id, tenant_id, title, amount, pipeline_id, stage_id, owner_id, "
            "company_id) values ($1, $2, $3, 1200, $4, $5, $6, $7)",
            deal, tenant_id, f"Deal {tag}", pipeline, stage, user_id, company,
        )  # fmt: skip
        await conn.execute(
            "insert into deal_contacts (id, tenant_id, deal_id, contact_id) values ($1,$2,$3,$4)",
            uuid.uuid4(), tenant_id, deal, target,
        )  # fmt: skip
        invoice = uuid.uuid4()
        number = await conn.fetchval("select coalesce(max(number), 0) + 1 from invoices")
        await conn.execute(
            "insert into invoices (id, tenant_id, number, company_id, due_date, total) "
            "values ($1, $2, $3, $4, current_date + 30, 100)",
            invoice, tenant_id, number, company,
        )  # fmt: skip
        for pos in (1, 2):
            await conn.execute(
                "insert into invoice_lines (id, tenant_id, invoice_id, position, description, "
                "quantity, unit_price, net_amount) values ($1, $2, $3, $4, $5, 1, 50, 50)",
                uuid.uuid4(), tenant_id, invoice, pos, f"@SUM(A1) line {pos} {tag}",
            )  # fmt: skip
        ids.update(pipeline=pipeline, stage=stage, deal=deal, invoice=invoice, target=target)
    return ids


ENTITY_TABLES = {
    "contacts.csv": "contacts",
    "companies.csv": "companies",
    "pipelines.csv": "pipelines",
    "stages.csv": "stages",
    "deals.csv": "deals",
    "invoices.csv": "invoices",
    "invoice_lines.csv": "invoice_lines",
    "notes.csv": "notes",
    "tasks.csv": "tasks",
}


async def add_member(tenant_id: UUID, role: str = "member") -> tuple[UUID, str]:
    """A verified user with a membership in `tenant_id`; returns (user id, email)."""
    from app.core.passwords import hash_password
    from tests.helpers import PASSWORD

    user_id = uuid.uuid4()
    email = f"member-{uuid.uuid4().hex[:10]}@example.com"
    async with tenant_transaction(tenant_id) as conn:
        await conn.execute(
            "insert into users (id, email, name, password_hash, email_verified_at) "
            "values ($1, $2, 'Mia Member', $3, now())",
            user_id, email, hash_password(PASSWORD),
        )  # fmt: skip
        await conn.execute(
            "insert into memberships (id, tenant_id, user_id, role) values ($1, $2, $3, $4)",
            uuid.uuid4(), tenant_id, user_id, role,
        )  # fmt: skip
    return user_id, email
