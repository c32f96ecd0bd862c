"""Activities: calls, meetings, emails and to-dos on records; edit/delete with versions; the
agenda; due reminders sent exactly once; a deal's next activity on its board card."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from app.core.db import tenant_transaction
from app.crm.activity_queries import fetch_activity
from app.crm.agenda import group_by_day
from app.crm.reminders import MORNING_HOUR, remind_in_tenant, send_due_reminders
from app.crm.secure import open_activity_notes
from tests.crm.test_notes_tasks import add_colleague, notifications_of
from tests.crm.test_records import make_company, make_contact
from tests.deals.helpers import make_deal
from tests.helpers import Account, browser_client

ACTIVITY_RE = re.compile(r'href="/tasks/([0-9a-f-]{36})/edit"')


def call_form(**extra: str) -> dict[str, str]:
    return {
        "kind": "call",
        "title": "Discovery call",
        "due_at": "2031-03-04T14:30",
        "duration_minutes": "25",
        "outcome": "connected",
        "notes": "She wants the enterprise plan.\nSend pricing.",
        **extra,
    }


async def activity_ids(client: Any, path: str) -> list[str]:
    return ACTIVITY_RE.findall((await client.get(path)).text)


async def row_of(tenant_id: UUID, activity_id: str) -> dict[str, Any]:
    async with tenant_transaction(tenant_id) as conn:
        row = await conn.fetchrow("select * from tasks where id = $1", UUID(activity_id))
    assert row is not None
    return dict(row)


async def test_log_edit_and_delete_an_activity_with_versions(
    client_a: Any, client_b: Any, tenant_a: Account
) -> None:
    company = await make_company(client_a, "Initech")
    peter = await make_contact(client_a, "Peter", "Gibbons")
    made = await client_a.post_form(
        f"/records/company/{company}/tasks", {**call_form(), "participant_ids": peter}
    )
    assert made.status_code == 303 and made.headers["location"] == f"/companies/{company}"
    page = (await client_a.get(f"/companies/{company}")).text
    assert "Discovery call" in page and "Peter Gibbons" in page and "25 min" in page
    assert "Connected" in page and "04 Mar 2031 14:30" in page and "She wants the" in page
    assert "planned the call “Discovery call”" in page
    [activity] = await activity_ids(client_a, f"/companies/{company}")
    stored = await row_of(tenant_a.tenant_id, activity)
    assert stored["notes_enc"].startswith("enc2:") and "enterprise" not in stored["notes_enc"]
    assert stored["due_at"] == datetime(2031, 3, 4, 14, 30, tzinfo=UTC)
    assert stored["participant_ids"] == [UUID(peter)] and stored["version"] == 1

    edit_page = await client_a.get(f"/tasks/{activity}/edit")
    assert edit_page.status_code == 200 and 'value="2031-03-04T14:30"' in edit_page.text
    saved = await client_a.post_form(
        f"/tasks/{activity}/edit",
        call_form(title="Discovery call (moved)", due_at="2031-03-05T09:00", version="1"),
    )
    assert saved.status_code == 303
    stored = await row_of(tenant_a.tenant_id, activity)
    assert stored["version"] == 2 and stored["participant_ids"] == []
    assert stored["title"] == "Discovery call (moved)"
    page = (await client_a.get(f"/companies/{company}")).text
    assert "changed the call “Discovery call (moved)”: title, due at, participants" in page

    stale = await client_a.post_form(
        f"/tasks/{activity}/edit", call_form(title="Mine", version="1")
    )
    assert stale.status_code == 409
    assert "saved this activity while you were editing it" in stale.text
    assert 'name="version" value="2"' in stale.text and 'value="Mine"' in stale.text
    stale_delete = await client_a.post_form(f"/tasks/{activity}/delete", {"version": "1"})
    assert stale_delete.status_code == 409 and "confirm the delete once more" in stale_delete.text

    # another workspace can neither read, edit, complete nor delete it
    assert (await client_b.get(f"/tasks/{activity}/edit")).status_code == 404
    edit_b = await client_b.post_form(f"/tasks/{activity}/edit", call_form(version="2"))
    assert edit_b.status_code == 404
    assert (
        await client_b.post_form(f"/tasks/{activity}/delete", {"version": "2"})
    ).status_code == 404
    assert (await client_b.post_form(f"/tasks/{activity}/done")).status_code == 404
    assert (await row_of(tenant_a.tenant_id, activity))["version"] == 2

    gone = await client_a.post_form(f"/tasks/{activity}/delete", {"version": "2"})
    assert gone.status_code == 303 and gone.headers["location"] == f"/companies/{company}"
    page = (await client_a.get(f"/companies/{company}")).text
    assert "deleted the call “Discovery call (moved)”" in page and "No activities yet." in page
    assert (await client_a.get(f"/tasks/{activity}/edit")).status_code == 404


async def test_hostile_activity_input_is_refused_with_messages(
    client_a: Any, client_b: Any, tenant_a: Account
) -> None:
    company = await make_company(client_a, "Vandelay")
    url = f"/records/company/{company}/tasks"
    b_contact = await make_contact(client_b, "Other", "Tenant")
    cases = [
        ({"title": "a\x00b"}, "The subject contains an invisible control character (U+0000)"),
        ({"notes": "x" * 100_000}, "at most 10000 characters"),
        ({"title": "y" * 301}, "at most 300 characters"),
        ({"due_at": "tomorrow"}, "YYYY-MM-DD HH:MM"),
        ({"due_at": "2031-02-30T10:00"}, "YYYY-MM-DD HH:MM"),
        ({"duration_minutes": "-5"}, "whole number from 0 to 1,440"),
        ({"kind": "fax"}, "Choose the kind of activity from the list."),
        ({"outcome": "held"}, "not an outcome of calls"),
        ({"participant_ids": "not-an-id"}, "Choose participants from your workspace"),
        ({"participant_ids": b_contact}, "Choose participants from your workspace"),
    ]
    for change, message in cases:
        response = await client_a.post_form(url, call_form(**change))
        assert response.status_code == 422, (change, response.status_code)
        assert message in response.text, (change, response.text[-2000:])
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        assert await conn.fetchval("select count(*) from tasks") == 0
    # on another workspace's record: not found
    assert (await client_b.post_form(url, call_form())).status_code == 404


async def _due_activity(
    tenant_id: UUID, subject_type: str, subject_id: UUID, assignee: UUID, **columns: Any
) -> UUID:
    activity_id = uuid.uuid4()
    names = ", ".join(columns)
    marks = ", ".join(f"${n}" for n in range(6, 6 + len(columns)))
    async with tenant_transaction(tenant_id) as conn:
        await conn.execute(
            f"insert into tasks (id, tenant_id, subject_type, subject_id, assignee_id, {names})"
            f" values ($1, $2, $3, $4, $5, {marks})",
            activity_id,
            tenant_id,
            subject_type,
            subject_id,
            assignee,
            *columns.values(),
        )
    return activity_id


async def test_due_reminders_go_out_exactly_once(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    colleague = await add_colleague(tenant_a, "Reminded")
    company = UUID(await make_company(client_a, "Dunder Mifflin"))
    b_company = UUID(await make_company(client_b, "Wernham Hogg"))
    now = datetime.now(UTC)
    morning_day = now.date() if now.hour >= MORNING_HOUR else now.date() - timedelta(days=1)
    a_id, b_id = tenant_a.tenant_id, tenant_b.tenant_id
    due_call = await _due_activity(
        a_id, "company", company, colleague.user_id, kind="call", title="Call Michael",
        due_at=now - timedelta(minutes=1),
    )  # fmt: skip
    dated = await _due_activity(
        a_id, "company", company, colleague.user_id, title="Order paper", due_date=morning_day
    )
    later = await _due_activity(
        a_id, "company", company, colleague.user_id, kind="meeting", title="Later meeting",
        due_at=now + timedelta(hours=2),
    )  # fmt: skip
    logged = await _due_activity(
        a_id, "company", company, colleague.user_id, kind="call", title="Logged call",
        due_at=now - timedelta(minutes=5), done_at=now,
    )  # fmt: skip
    stale = await _due_activity(
        a_id, "company", company, colleague.user_id, title="Ancient", due_at=now - timedelta(days=9)
    )
    b_due = await _due_activity(
        b_id, "company", b_company, tenant_b.user_id, kind="call", title="Call David",
        due_at=now - timedelta(minutes=2),
    )  # fmt: skip

    # two workers at once (the claim), then the leased cron twice at once, then again
    counts = await asyncio.gather(remind_in_tenant(a_id), remind_in_tenant(a_id))
    assert sum(counts) == 2  # each due row claimed by one of them (SKIP LOCKED may split them)
    await asyncio.gather(send_due_reminders(None), send_due_reminders(None))
    await send_due_reminders(None)

    reminders = [n for n in await notifications_of(colleague, a_id) if n["kind"] == "reminder"]
    assert sorted(n["title"] for n in reminders) == [
        "Due now: Call Michael",
        "Due now: Order paper",
    ]
    assert all(n["link"] == f"/companies/{company}" for n in reminders)
    b_reminders = [n for n in await notifications_of(tenant_b, b_id) if n["kind"] == "reminder"]
    assert [n["title"] for n in b_reminders] == ["Due now: Call David"]
    assert await notifications_of(tenant_b, a_id) == []
    async with tenant_transaction(a_id) as conn:
        reminded = {
            r["id"]: r["reminded_at"] for r in await conn.fetch("select id, reminded_at from tasks")
        }
        mails = await conn.fetch(
            "select to_addr, subject, body_text from outbox where kind = 'reminder'"
            " and to_addr = $1 order by subject",
            colleague.email,
        )
    assert reminded[due_call] and reminded[dated]
    assert reminded[later] is None and reminded[logged] is None and reminded[stale] is None
    assert [m["subject"] for m in mails] == ["Reminder: Call Michael", "Reminder: Order paper"]
    assert (
        f"/companies/{company}" in mails[0]["body_text"]
        and "Dunder Mifflin" in mails[0]["body_text"]
    )
    async with tenant_transaction(b_id) as conn:
        assert await conn.fetchval("select reminded_at from tasks where id = $1", b_due)

    # moving the call to a new time reminds again when that time comes
    edit = await client_a.post_form(
        f"/tasks/{due_call}/edit",
        {"kind": "call", "title": "Call Michael", "due_at": "2031-01-01T10:00", "version": "1"},
    )
    assert edit.status_code == 303
    assert (await row_of(a_id, str(due_call)))["reminded_at"] is None


async def test_next_activity_and_overdue_marker_on_the_deal_card(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    deal = await make_deal(tenant_a, "Big paper order")
    quiet = await make_deal(tenant_a, "Quiet deal")
    b_deal = await make_deal(tenant_b, "B deal")
    later = {"kind": "meeting", "title": "Contract review", "due_at": "2031-05-06T10:00"}
    assert (await client_a.post_form(f"/records/deal/{deal}/tasks", later)).status_code == 303
    board = (await client_a.get("/deals/board")).text
    card = board.split(f'id="deal-{deal}"')[1].split("</li>")[0]
    assert "Contract review" in card and "06 May 2031 10:00" in card and "Overdue" not in card
    quiet_card = board.split(f'id="deal-{quiet}"')[1].split("</li>")[0]
    assert "No next activity" in quiet_card

    overdue = {"title": "Send the contract", "due_date": "2020-01-02"}
    assert (await client_a.post_form(f"/records/deal/{deal}/tasks", overdue)).status_code == 303
    done = {"kind": "call", "title": "Old call", "due_at": "2019-01-01T10:00", "done": "1"}
    assert (await client_a.post_form(f"/records/deal/{deal}/tasks", done)).status_code == 303
    board = (await client_a.get("/deals/board")).text
    card = board.split(f'id="deal-{deal}"')[1].split("</li>")[0]
    assert "Send the contract" in card and "Overdue" in card and 'data-overdue="true"' in card
    assert "Old call" not in card and "Contract review" not in card
    detail = (await client_a.get(f"/deals/{deal}")).text
    assert "Next activity" in detail and "Send the contract" in detail and "Overdue" in detail
    b_board = (await client_b.get("/deals/board")).text
    assert "Send the contract" not in b_board and f'id="deal-{b_deal}"' in b_board


async def test_agenda_groups_by_day_and_admins_see_everyone(
    app: Any, client_a: Any, tenant_a: Account
) -> None:
    colleague = await add_colleague(tenant_a, "Agenda")
    company = await make_company(client_a, "Sabre")
    today = datetime.now(UTC).date()
    me = str(tenant_a.user_id)
    for title, due in [
        ("In three days", today + timedelta(days=3)),
        ("Yesterday task", today - timedelta(days=1)),
        ("Tomorrow task", today + timedelta(days=1)),
        ("Today task", today),
    ]:
        form = {"title": title, "due_date": due.isoformat(), "assignee_id": me}
        assert (
            await client_a.post_form(f"/records/company/{company}/tasks", form)
        ).status_code == 303
    undated = {"title": "Someday", "assignee_id": me}
    assert (
        await client_a.post_form(f"/records/company/{company}/tasks", undated)
    ).status_code == 303
    theirs = {"title": "Colleague call", "kind": "call", "assignee_id": str(colleague.user_id)}
    assert (
        await client_a.post_form(f"/records/company/{company}/tasks", theirs)
    ).status_code == 303

    page = (await client_a.get("/tasks")).text
    days = re.findall(r'data-day="([^"]+)"', page)
    assert days == [
        "overdue",
        "today",
        (today + timedelta(days=1)).isoformat(),
        (today + timedelta(days=3)).isoformat(),
        "undated",
    ]
    order = [
        page.index(t) for t in ("Yesterday task", "Today task", "Tomorrow task", "In three days")
    ]
    assert order == sorted(order) and "Tomorrow" in page and "Colleague call" not in page
    everyone = (await client_a.get("/tasks?who=everyone")).text
    assert "Colleague call" in everyone and "Yesterday task" in everyone
    async with browser_client(app) as member:
        await member.login(colleague.email, colleague.password)
        own = (await member.get("/tasks?who=everyone")).text  # a member sees their own only
        assert "Colleague call" in own and "Yesterday task" not in own
        assert "Everyone" not in own
        assert (await member.get("/tasks?page=abc&who=nobody")).status_code == 200


def test_group_by_day_counts_days_in_the_readers_zone() -> None:
    from app.crm.activities import ActivityView
    from app.crm.activity_queries import ActivityRow

    def item(title: str, due_at: datetime | None, due_date: date | None = None) -> ActivityView:
        row = ActivityRow(
            id=uuid.uuid4(), tenant_id=uuid.uuid4(), subject_type="deal", subject_id=uuid.uuid4(),
            subject_name="D", kind="call", title=title, due_date=due_date, due_at=due_at,
            duration_minutes=None, outcome=None, participant_ids=[], participants=[],
            notes_enc=None, assignee_id=None, assignee_name=None, done_at=None, version=1,
            created_at=datetime.now(UTC), overdue=False,
        )  # fmt: skip
        return ActivityView(row=row, notes="", link="/deals/x", outcome_words="")

    now = datetime(2031, 1, 1, 20, 0, tzinfo=UTC)
    late = item("late", datetime(2031, 1, 1, 23, 30, tzinfo=UTC))  # 2 Jan 08:30 in Tokyo
    utc_days = group_by_day([late], "UTC", now)
    tokyo_days = group_by_day([late], "Asia/Tokyo", now)  # now is already 2 Jan there
    assert [d.key for d in utc_days] == ["today"]
    assert [d.key for d in tokyo_days] == ["today"]
    next_day = group_by_day([late], "America/New_York", now)  # 1 Jan 18:30 there: today
    assert [d.key for d in next_day] == ["today"]
    early = item("early", datetime(2031, 1, 2, 3, 0, tzinfo=UTC))  # 1 Jan 22:00 in New York
    assert [d.key for d in group_by_day([early], "America/New_York", now)] == ["today"]
    assert [d.key for d in group_by_day([early], "UTC", now)] == ["2031-01-02"]


async def test_fetch_activity_of_another_tenant_is_none(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    company = await make_company(client_a, "Hooli")
    form = call_form(notes="private")
    assert (await client_a.post_form(f"/records/company/{company}/tasks", form)).status_code == 303
    [activity] = await activity_ids(client_a, f"/companies/{company}")
    async with tenant_transaction(tenant_b.tenant_id) as conn:
        assert await fetch_activity(conn, UUID(activity)) is None
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        row = await fetch_activity(conn, UUID(activity))
    assert row is not None
    assert open_activity_notes(row.notes_enc, tenant_a.tenant_id, row.id) == "private"


async def test_handing_an_activity_to_a_colleague_notifies_them(
    client_a: Any, tenant_a: Account
) -> None:
    colleague = await add_colleague(tenant_a, "Handed")
    company = await make_company(client_a, "Pied Piper")
    mine = {"title": "Demo the compression", "assignee_id": str(tenant_a.user_id)}
    assert (await client_a.post_form(f"/records/company/{company}/tasks", mine)).status_code == 303
    [activity] = await activity_ids(client_a, f"/companies/{company}")
    handed = {**mine, "assignee_id": str(colleague.user_id), "version": "1"}
    assert (await client_a.post_form(f"/tasks/{activity}/edit", handed)).status_code == 303
    [note] = await notifications_of(colleague, tenant_a.tenant_id)
    assert note["kind"] == "task_assigned" and "assigned you a task on Pied Piper" in note["title"]
    page = (await client_a.get(f"/companies/{company}")).text
    assert "changed the task “Demo the compression”: assignee" in page


async def test_a_dated_to_do_is_reminded_in_the_morning_of_the_assignees_time_zone(
    client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    """08:00 is the assignee's 08:00: at every hour of the UTC day, pick a zone and a due date
    for which the assignee's morning and UTC's morning disagree, and check the assignee's wins."""
    colleague = await add_colleague(tenant_a, "Zoned")
    company = UUID(await make_company(client_a, "Zone Corp"))
    now = datetime.now(UTC)
    if 8 <= now.hour < 20:  # far west (UTC-12): today's 08:00 there is 20:00 UTC, still ahead
        zone, day, expected = "Etc/GMT+12", now.date(), False
    else:  # far east (UTC+14): its 08:00 comes 14 h before UTC's, already passed there
        day = now.date() + timedelta(days=1) if now.hour >= 20 else now.date()
        zone, expected = "Etc/GMT-14", True
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute("update users set time_zone = $1 where id = $2", zone, colleague.user_id)
    to_do = await _due_activity(
        tenant_a.tenant_id, "company", company, colleague.user_id, title="Zoned", due_date=day
    )
    await remind_in_tenant(tenant_a.tenant_id)
    reminded = (await row_of(tenant_a.tenant_id, str(to_do)))["reminded_at"] is not None
    assert reminded is expected, (zone, day, now)
