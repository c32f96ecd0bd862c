"""Notes and tasks on records: @mentions and assignments notify people; /tasks; isolation."""

from __future__ import annotations

import uuid
from typing import Any

from app.accounts.tables import Membership
from app.core.db import tenant_transaction
from tests.crm.test_records import make_company, make_contact
from tests.helpers import Account, browser_client, make_account


async def add_colleague(account: Account, tag: str) -> Account:
    """A member of `account`'s workspace only (signed up, moved over: logs in straight to it)."""
    colleague = await make_account(tag)
    async with tenant_transaction(colleague.tenant_id):
        await Membership.delete().where(Membership.user_id == colleague.user_id)
    async with tenant_transaction(account.tenant_id):
        await Membership.insert(
            Membership(
                id=uuid.uuid4(),
                tenant_id=account.tenant_id,
                user_id=colleague.user_id,
                role="member",
            )
        )
    return colleague


async def notifications_of(account: Account, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    async with tenant_transaction(tenant_id) as conn:
        rows = await conn.fetch(
            "select kind, title, body, link from notifications where user_id = $1"
            " order by created_at",
            account.user_id,
        )
    return [dict(r) for r in rows]


async def test_mention_and_assignment_notify(
    app: Any, client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    colleague = await add_colleague(tenant_a, "Mentioned")
    outsider = await add_colleague(tenant_b, "Outsider")
    contact = await make_contact(client_a, "Lisa", "Simpson")
    b_contact = await make_contact(client_b, "Milhouse", "Van Houten")

    body = f"Call her back tomorrow, @{colleague.email}, and ask @{outsider.email} too."
    response = await client_a.post_form(f"/records/contact/{contact}/notes", {"body": body})
    assert response.status_code == 303
    page = await client_a.get(f"/contacts/{contact}")
    assert "Call her back tomorrow" in page.text and "added a note" in page.text

    mentions = await notifications_of(colleague, tenant_a.tenant_id)
    assert [n["kind"] for n in mentions] == ["mention"]
    assert "mentioned you on Lisa Simpson" in mentions[0]["title"]
    assert mentions[0]["link"] == f"/contacts/{contact}"
    assert await notifications_of(outsider, tenant_b.tenant_id) == []  # not in A's workspace

    by_name = await client_a.post_form(
        f"/records/contact/{contact}/notes", {"body": f"cc @{colleague.name}"}
    )
    assert by_name.status_code == 303
    assert len(await notifications_of(colleague, tenant_a.tenant_id)) == 2

    task = await client_a.post_form(
        f"/records/contact/{contact}/tasks",
        {
            "title": "Send the proposal",
            "due_date": "2030-01-15",
            "assignee_id": str(colleague.user_id),
        },
    )
    assert task.status_code == 303
    assigned = (await notifications_of(colleague, tenant_a.tenant_id))[-1]
    assert assigned["kind"] == "task_assigned" and "Send the proposal" in assigned["body"]

    async with browser_client(app) as colleague_client:
        await colleague_client.login(colleague.email, colleague.password)
        mine = await colleague_client.get("/tasks")
        assert "Send the proposal" in mine.text and "Lisa Simpson" in mine.text
        task_id = mine.text.split("/tasks/")[1].split("/done")[0]
        done = await colleague_client.post_form(f"/tasks/{task_id}/done", {"next": "/tasks"})
        assert done.status_code == 303 and done.headers["location"] == "/tasks"
        assert "Nothing on your plate" in (await colleague_client.get("/tasks")).text
        page = await colleague_client.get(f"/contacts/{contact}")
        first_note = (
            page.text.split('action="/notes/')[1].split("/delete")[0]
            if ('action="/notes/' in page.text)
            else ""
        )
        assert first_note == ""  # a member sees no delete button on someone else's note
        async with tenant_transaction(tenant_a.tenant_id) as conn:
            owners_note = await conn.fetchval("select id from notes limit 1")
        refused = await colleague_client.post_form(f"/notes/{owners_note}/delete")
        assert refused.status_code == 403
    assert "completed the task" in (await client_a.get(f"/contacts/{contact}")).text

    # another tenant can't write notes or tasks on A's records, nor see them
    assert (
        await client_b.post_form(f"/records/contact/{contact}/notes", {"body": "hi"})
    ).status_code == 404
    assert (
        await client_b.post_form(f"/records/contact/{contact}/tasks", {"title": "x"})
    ).status_code == 404
    assert (await client_b.post_form(f"/tasks/{task_id}/reopen")).status_code == 404
    assert "Call her back" not in (await client_b.get(f"/contacts/{b_contact}")).text
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        note_id = await conn.fetchval("select id from notes order by created_at limit 1")
    assert (await client_b.post_form(f"/notes/{note_id}/delete")).status_code == 404
    assert "Nothing on your plate" in (await client_b.get("/tasks")).text


async def test_note_and_task_bad_input(client_a: Any, client_b: Any, tenant_b: Account) -> None:
    company = await make_company(client_a, "Vandelay Industries")
    empty = await client_a.post_form(f"/records/company/{company}/notes", {"body": "   "})
    assert empty.status_code == 422 and "Enter the note." in empty.text
    huge = await client_a.post_form(f"/records/company/{company}/notes", {"body": "x" * 10001})
    assert huge.status_code == 422 and "at most 10000 characters" in huge.text
    bad_date = await client_a.post_form(
        f"/records/company/{company}/tasks", {"title": "Ship", "due_date": "31/12/2030"}
    )
    assert bad_date.status_code == 422 and "YYYY-MM-DD" in bad_date.text
    foreign = await client_a.post_form(
        f"/records/company/{company}/tasks",
        {"title": "Ship", "assignee_id": str(tenant_b.user_id)},
    )
    assert foreign.status_code == 422 and "Choose someone from your workspace." in foreign.text
    unknown = await client_a.post_form(f"/records/widget/{company}/notes", {"body": "hi"})
    assert unknown.status_code == 404
    missing = await client_a.post_form(f"/records/contact/{uuid.uuid4()}/notes", {"body": "hi"})
    assert missing.status_code == 404
    page = await client_a.get(f"/companies/{company}")
    assert "No notes yet." in page.text and "No activities yet." in page.text
