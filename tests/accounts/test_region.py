"""Each person's time zone and locale: chosen on the profile page (validated), and every page
reads dates, times, numbers and money in them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.core import formats
from tests.deals.helpers import make_deal
from tests.helpers import Account


async def _region(client: Any, time_zone: str, locale: str) -> Any:
    data = {"section": "region", "time_zone": time_zone, "locale": locale}
    return await client.post_form("/settings/profile", data)


async def test_profile_refuses_unknown_zones_and_locales(client_a: Any, tenant_a: Account) -> None:
    page = await client_a.get("/settings/profile")
    assert 'name="time_zone"' in page.text and "Asia/Tokyo" in page.text
    assert 'value="de-DE"' in page.text and "/static/js/profile.js" in page.text
    cases = [
        ("Mars/Olympus_Mons", "en-GB", "Choose a time zone from the list"),
        ("Europe/Berlin\x00", "en-GB", "control character (U+0000)"),
        ("A" * 100_000, "en-GB", "Choose a time zone from the list"),
        ("../../etc/passwd", "en-GB", "Choose a time zone from the list"),
        ("Europe/Berlin", "xx-XX", "Choose one of the listed formats"),
        ("Europe/Berlin", "de-DE\x00", "control character (U+0000)"),
        ("Europe/Berlin", "d" * 100_000, "Choose one of the listed formats"),
    ]
    for zone, locale, message in cases:
        refused = await _region(client_a, zone, locale)
        assert refused.status_code == 422 and message in refused.text, (zone[:20], locale[:20])
    # nothing was saved
    page = await client_a.get("/settings/profile")
    assert '<option value="UTC" selected>' in page.text
    saved = await _region(client_a, "Asia/Tokyo", "de-DE")
    assert saved.status_code in (200, 303)
    page = await client_a.get("/settings/profile")
    assert '<option value="Asia/Tokyo" selected>' in page.text
    assert '<option value="de-DE" selected>' in page.text


async def test_times_and_money_read_in_the_users_zone_and_locale(
    client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account, owner_conn: Any
) -> None:
    late = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)  # already the 11th in Tokyo
    mine = await make_deal(tenant_a, "Tokyo deal", amount="1234.50", currency="EUR")
    theirs = await make_deal(tenant_b, "UTC deal", amount="1234.50", currency="EUR")
    for account, deal_id in ((tenant_a, mine), (tenant_b, theirs)):
        await owner_conn.execute(
            "select set_config('app.tenant_id', $1, false)", str(account.tenant_id)
        )
        await owner_conn.execute("update deals set created_at = $2 where id = $1", deal_id, late)

    # defaults: UTC and en-GB (the same text as before there was a choice)
    before = (await client_a.get(f"/deals/{mine}")).text
    assert "10 Mar 2026, 23:30" in before and "1,234.50 EUR" in before

    assert (await _region(client_a, "Asia/Tokyo", "en-GB")).status_code in (200, 303)
    tokyo = (await client_a.get(f"/deals/{mine}")).text
    assert "11 Mar 2026, 08:30" in tokyo and "10 Mar 2026" not in tokyo

    assert (await _region(client_a, "Asia/Tokyo", "de-DE")).status_code in (200, 303)
    german = (await client_a.get(f"/deals/{mine}")).text
    assert "1.234,50 €" in german and "11.03.2026, 08:30" in german
    board = (await client_a.get("/deals/board")).text
    assert "1.234,50 €" in board

    # the other workspace's person kept the defaults
    other = (await client_b.get(f"/deals/{theirs}")).text
    assert "10 Mar 2026, 23:30" in other and "1,234.50 EUR" in other


def test_today_is_the_readers_day() -> None:
    now = datetime.now(UTC)
    assert formats.today("Asia/Tokyo") == now.astimezone(ZoneInfo("Asia/Tokyo")).date()
    assert formats.today("Pacific/Kiritimati") - formats.today("Pacific/Pago_Pago") in (
        timedelta(days=1),
        timedelta(days=2),
    )
    assert formats.today("Not/AZone") == formats.today()  # an unknown zone: the reader's


async def test_pushes_to_everyone_use_the_defaults_not_the_senders(tenant_a: Account) -> None:
    from app.deals import live, pipelines
    from tests.deals.helpers import current_of

    await make_deal(tenant_a, "Shared view", amount="1234.50", currency="EUR")
    columns = (await pipelines.load_board(await current_of(tenant_a))).columns
    formats.use("Asia/Tokyo", "de-DE")  # the mover's own request
    try:
        assert "1.234,50 €" in live.render_push(columns=columns)  # the mover's answer
        shared = live.broadcast_push(columns=columns)  # what colleagues receive
        assert "1,234.50 EUR" in shared and "1.234,50 €" not in shared
        assert formats.current().locale == "de-DE"  # the mover's context is untouched
    finally:
        formats.use(None, None)
