"""A record page's timeline shows its latest entries and "Show older" brings the next ones
(app/crm/activity.timeline_page, the route in app/crm/note_routes.py): in order, none twice,
none missed; another workspace's record is a 404; a broken cursor never a 500."""

from __future__ import annotations

import re
import uuid
from typing import Any

from app.core.db import tenant_transaction
from app.crm.activity import TIMELINE_SHOWN
from tests.crm.test_records import make_company, make_contact
from tests.helpers import Account

ENTRY = re.compile(r"Entry number (\d+)")


async def _entries(account: Account, subject_type: str, subject_id: str, count: int) -> None:
    """`count` timeline entries, one second apart (number 0 the oldest; all newer than the
    record's "created" entry)."""
    async with tenant_transaction(account.tenant_id, account.user_id) as conn:
        await conn.execute(
            "insert into activities (id, tenant_id, subject_type, subject_id, action, summary,"
            " created_at) select gen_random_uuid(), $1, $2, $3, 'updated', 'Entry number ' || g,"
            " now() + (g + 1) * interval '1 second' from generate_series(0, $4) g",
            account.tenant_id,
            subject_type,
            uuid.UUID(subject_id),
            count - 1,
        )


def _older(html: str) -> str | None:
    found = re.search(r'hx-get="(/records/[^"]+/timeline\?before=[^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


async def test_the_latest_entries_then_the_older_ones(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account
) -> None:
    company = await make_company(client_a, "Storied Corp")
    contact = await make_contact(client_a, "Story", "Teller")
    for kind, address in (
        ("company", f"/companies/{company}"),
        ("contact", f"/contacts/{contact}"),
    ):
        record = address.rsplit("/", 1)[1]
        await _entries(tenant_a, kind, record, 2 * TIMELINE_SHOWN + 5)
        page = (await client_a.get(address)).text
        shown = [int(n) for n in ENTRY.findall(page)]
        assert len(shown) == TIMELINE_SHOWN
        assert shown == sorted(shown, reverse=True) and shown[0] == 2 * TIMELINE_SHOWN + 4
        seen = list(shown)
        link = _older(page)
        while link:
            more = await client_a.get(link, headers={"HX-Request": "true"})
            assert more.status_code == 200 and "<html" not in more.text
            seen += [int(n) for n in ENTRY.findall(more.text)]
            link = _older(more.text)
        assert seen == list(range(2 * TIMELINE_SHOWN + 4, -1, -1))  # none twice, none missed
        assert "Show older" not in more.text
        # without htmx: a page of them
        first_link = _older(page)
        assert first_link
        full = await client_a.get(first_link)
        assert full.status_code == 200 and "<html" in full.text and "Entry number" in full.text
        # another workspace's record, a broken cursor
        assert (await client_b.get(first_link)).status_code == 404
        broken = first_link.split("before=")[0] + "before=%00%ff"
        assert (await client_a.get(broken, headers={"HX-Request": "true"})).status_code == 200
        nowhere = f"/records/invoice/{record}/timeline"
        assert (await client_a.get(nowhere)).status_code == 404
