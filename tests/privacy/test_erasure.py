"""Erasure of one contact leaves no trace: not in notifications, failed import rows, uploaded
files, @mentions in other notes, the timeline or page paths; another workspace is untouched."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from app.core.crypto import decrypt_text, encrypt_text
from app.core.db import tenant_transaction
from app.crm.imports import import_path
from app.crm.secure import import_error_binding, note_binding, open_activity_notes, seal_list
from app.notifications.services import notify
from tests.crm.test_import import import_id_of, upload
from tests.helpers import Account
from tests.privacy.seed import seed_crm

NAME = "Jane1 alpha Doe alpha"
EMAIL = "jane1-alpha@example.com"


async def _note(tenant: UUID, subject_type: str, subject_id: UUID, body: str) -> UUID:
    note_id = uuid.uuid4()
    async with tenant_transaction(tenant) as conn:
        await conn.execute(
            "insert into notes (id, tenant_id, subject_type, subject_id, body_enc)"
            " values ($1, $2, $3, $4, $5)",
            note_id,
            tenant,
            subject_type,
            subject_id,
            encrypt_text(body, binding=note_binding(tenant, note_id)),
        )
    return note_id


async def _body(tenant: UUID, note_id: UUID) -> str:
    async with tenant_transaction(tenant) as conn:
        enc = await conn.fetchval("select body_enc from notes where id = $1", note_id)
    return decrypt_text(enc, binding=note_binding(tenant, note_id))


async def _seed_traces(account: Account, tag: str) -> dict[str, Any]:
    """Everything that can name the target contact besides its own row."""
    ids = await seed_crm(account.tenant_id, account.user_id, tag)
    name, email = f"Jane1 {tag} Doe {tag}", f"jane1-{tag}@example.com"
    target, tenant = ids["target"], account.tenant_id
    ids["mention"] = await _note(
        tenant,
        "company",
        ids["company"],
        f'Lunch with @"{name}" and @Bob; write to {email.upper()} next week.',
    )
    ids["other"] = await _note(tenant, "deal", ids["deal"], "Nothing about anyone.")
    async with tenant_transaction(tenant):
        await notify(tenant, account.user_id, "mention", f"Ann mentioned you on {name}", "", None)
        await notify(tenant, account.user_id, "task", "Task due", "", f"/contacts/{target}")
        await notify(tenant, account.user_id, "other", "Unrelated news")
    async with tenant_transaction(tenant) as conn:
        import_id, error_id = uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            "insert into crm_imports (id, tenant_id, kind, filename, status)"
            " values ($1, $2, 'contacts', 'old.csv', 'done')",
            import_id,
            tenant,
        )
        for number, cells in ((2, ["Jane", email, "+1"]), (3, ["Zed", "zed@x.example", ""])):
            row_id = error_id if number == 2 else uuid.uuid4()
            await conn.execute(
                "insert into crm_import_errors (id, tenant_id, import_id, row_number, reason, raw)"
                " values ($1, $2, $3, $4, 'bad phone', $5)",
                row_id,
                tenant,
                import_id,
                number,
                seal_list(cells, import_error_binding(tenant, row_id)),
            )
        await conn.execute(
            "insert into usage_events (id, tenant_id, user_id, category, kind, path, created_at)"
            " values ($1, $2, $3, 'analytics', 'page', $4, now())",
            uuid.uuid4(),
            tenant,
            account.user_id,
            f"/contacts/{target}",
        )
    return ids


async def test_erasure_leaves_no_trace(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    a = await _seed_traces(tenant_a, "alpha")
    b = await _seed_traces(tenant_b, "bravo")
    # two uploads not imported yet: one holds the person, one doesn't
    holding = import_id_of(
        await upload(client_a, f"Name,Email\nSomeone,someone@x.example\n{NAME},{EMAIL}\n".encode())
    )
    unrelated = import_id_of(await upload(client_a, b"Name,Email\nZed Zee,zed@x.example\n"))
    b_upload = import_id_of(
        await upload(client_b, b"Name,Email\nJane1 bravo Doe bravo,jane1-bravo@example.com\n")
    )
    page = await client_a.get(f"/privacy/contacts/{a['target']}/erase")
    assert page.status_code == 200, page.text
    assert "mentions" in page.text and "uploaded CSV" in page.text, page.text[-3000:]
    assert (
        await client_a.post_form(f"/privacy/contacts/{a['target']}/erase", {})
    ).status_code == 303

    tenant = tenant_a.tenant_id
    async with tenant_transaction(tenant) as conn:
        titles = [r["title"] for r in await conn.fetch("select title from notifications")]
        assert titles == ["Unrelated news"]
        assert await conn.fetchval("select count(*) from crm_import_errors") == 1
        status, error = await conn.fetchrow(
            "select status, error from crm_imports where id = $1", UUID(holding)
        )
        assert status == "failed" and "asked for their data to be erased" in error
        assert await conn.fetchval("select count(*) from contacts where id = $1", a["target"]) == 0
        paths = [r["path"] for r in await conn.fetch("select path from usage_events")]
        assert str(a["target"]) not in " ".join(paths)
    assert not import_path(tenant, UUID(holding)).exists()
    assert import_path(tenant, UUID(unrelated)).exists()
    mention = await _body(tenant, a["mention"])
    assert NAME not in mention and EMAIL not in mention.lower() and "@Bob" in mention
    assert mention.count("[erased]") == 2
    assert await _body(tenant, a["other"]) == "Nothing about anyone."
    # the logged call on the company: the person no longer takes part nor is named in its notes
    async with tenant_transaction(tenant) as conn:
        call = await conn.fetchrow("select * from tasks where id = $1", a["call"])
    assert call["participant_ids"] == []
    notes = open_activity_notes(call["notes_enc"], tenant, a["call"])
    assert NAME not in notes and "asked about volume pricing" in notes

    # workspace B: the same kind of person, untouched
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        assert await conn.fetchval("select count(*) from notifications") == 3
        assert await conn.fetchval("select count(*) from crm_import_errors") == 2
    assert import_path(tenant_b.tenant_id, UUID(b_upload)).exists()
    assert "Jane1 bravo Doe bravo" in await _body(tenant_b.tenant_id, b["mention"])
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        b_call = await conn.fetchrow("select * from tasks where id = $1", b["call"])
    assert b_call["participant_ids"] == [b["target"]]
    assert "Jane1 bravo Doe bravo" in open_activity_notes(
        b_call["notes_enc"], tenant_b.tenant_id, b["call"]
    )
