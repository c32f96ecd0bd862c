"""P4: the contact list's statements as the app runs them (app/crm/list_queries.contact_page:
the first page with its count, a page after a cursor deep in the list, a search through the
grams), as odex_app under row-level security, against the same calls by a superuser, whom RLS
never applies to, on 100k contacts per tenant. Run by `make bench`.

Until 2026-12-06 the bench ran SQL of its own: its search was a LIKE over the workspace's
contacts (27 ms, 231 ms once P3's million contacts had pushed them out of shared buffers),
which the list has not run since it searches through the grams (~1 ms). Its floor was the
table owner with FORCE ROW LEVEL SECURITY switched off by an ALTER TABLE in each round, which
dropped the owner's cached plans: the owner's page after a cursor took 0.40-0.49 ms, as long
as planning it each time (0.39 ms), against 0.19-0.26 ms under RLS in whole bench runs, and
the first page's ratio moved 1.04-1.37x. A superuser's connection keeps its plans as the app's
does, and both sides run the app's own code."""

from __future__ import annotations

import os
import time
from contextlib import AsyncExitStack
from typing import Any
from uuid import UUID

import asyncpg

from app.core.paging import Page, Window, encode_cursor
from app.crm import list_queries
from app.crm.contacts import COLUMNS
from app.crm.filters import ContactView, sort_spec
from app.crm.secure import lookup_indexes
from tests.helpers import Account
from tests.perf import seed
from tests.perf.report import check, median, percentile, record

ROWS = int(os.environ.get("BENCH_CONTACT_ROWS", "100000"))
REPEAT = int(os.environ.get("BENCH_QUERY_REPEAT", "1000"))
WARM = 20
FLOOR_MODES = ("auto", "force_generic_plan", "force_custom_plan")
SEARCH = os.environ.get("BENCH_P4_SEARCH", "last 4242")  # 11 of 100k: "Last 4242", "Last 42420"..
SPEC = sort_spec(COLUMNS, "name", ContactView(), "c.id")  # the list's default order


async def _seed(owner: asyncpg.Connection, tenant_id: Any) -> None:
    """100k contacts in one INSERT ... SELECT generate_series (as the owner, inside the tenant)."""
    async with owner.transaction():
        await owner.execute("select set_config('app.tenant_id', $1, true)", str(tenant_id))
        await owner.execute(
            "insert into contacts (id, tenant_id, first_name, last_name, emails_enc, title,"
            " search_text)"
            " select gen_random_uuid(), $1, 'First ' || g, 'Last ' || g,"
            " array['enc1:k:p' || g], 'Title ' || g,"
            " lower('first ' || g || ' last ' || g || ' title ' || g)"
            " from generate_series(1, $2) as g",
            tenant_id,
            ROWS,
        )


async def _settle(owner: asyncpg.Connection) -> None:
    """Vacuum what the seeds wrote (the contacts and the search grams their triggers added):
    otherwise autovacuum picks the tables up minutes later, in the middle of whichever side's
    timings it lands on, and sets the hint bits the first readers would have. Then a checkpoint:
    the dirty pages of the seeds (and of P3's million contacts before them) are written now,
    not by a checkpoint running beside one side's timings."""
    await owner.execute("vacuum (analyze) contacts, search_grams")
    await seed.checkpoint()


async def _cursor(conn: asyncpg.Connection, tenant_id: UUID) -> str:
    """The list's cursor after the middle row of the tenant's contacts by name."""
    row = await conn.fetchrow(
        f"select {', '.join(SPEC.exprs)} from contacts c where c.tenant_id = $1"
        f" order by {', '.join(SPEC.exprs)} offset $2 limit 1",
        tenant_id,
        ROWS // 2,
    )
    return encode_cursor(list(row.values()))


async def _page(conn: asyncpg.Connection, tenant_id: UUID, query: str, after: str | None) -> Page:
    """The list's page as `list_contacts` asks for it (its view, window and search)."""
    view = ContactView(q=query)
    window = Window(SPEC, after, None, 50)
    indexes = lookup_indexes(query)
    return await list_queries.contact_page(conn, tenant_id, query, indexes, None, window, view)


async def _timed(conn: asyncpg.Connection, tenant_id: UUID, case: tuple[str, str | None]) -> float:
    started = time.perf_counter()
    await _page(conn, tenant_id, *case)
    return (time.perf_counter() - started) * 1000


async def test_p4_contact_list_with_rls_vs_no_rls(
    services: dict[str, str], owner_conn: Any, tenant_a: Account, tenant_b: Account
) -> None:
    await _seed(owner_conn, tenant_a.tenant_id)
    await _seed(owner_conn, tenant_b.tenant_id)  # the other tenant's rows must be filtered out
    await _settle(owner_conn)
    tenant = tenant_a.tenant_id
    # two connections a side, taken in turn: the same trivial statement took 0.038-0.068 ms
    # on four connections of the same server (their backends' places on the 2 cores); the
    # floor's in each plan_cache_mode (set when they connect: a search's `to default` keeps it)
    apps = [await asyncpg.connect(services["DATABASE_URL"]) for _ in range(2)]
    floor_conns = {
        mode: [
            await asyncpg.connect(**seed.superuser_dsn(), server_settings={"plan_cache_mode": mode})
            for _ in range(2)
        ]
        for mode in FLOOR_MODES
    }
    supers = [conn for conns in floor_conns.values() for conn in conns]
    cases = {
        "first page": ("", None),
        "page after a cursor": ("", await _cursor(supers[0], tenant)),
        "search": (SEARCH, None),
    }
    rls: dict[str, list[float]] = {name: [] for name in cases}
    bare: dict[str, dict[str, list[float]]] = {name: {m: [] for m in FLOOR_MODES} for name in cases}
    try:
        is_super = "select rolsuper from pg_roles where rolname = current_user"
        assert await supers[0].fetchval(is_super), "the floor must be a role RLS skips"
        async with AsyncExitStack() as stack:
            # a transaction each, as a request's (the scope tenant_transaction sets; a search's
            # SET LOCAL needs one on either side)
            for conn in (*apps, *supers):
                await stack.enter_async_context(conn.transaction())
            for conn in apps:
                await conn.execute(
                    "select set_config('app.tenant_id', $1, true),"
                    " set_config('app.user_id', $2, true)",
                    str(tenant),
                    str(tenant_a.user_id),
                )
            for name, case in cases.items():
                # what is measured: both sides get the tenant's rows and the same ones (the
                # other tenant's 100k filtered out), the search its matches through the grams
                seen = await _page(apps[0], tenant, *case)
                floor_page = await _page(supers[0], tenant, *case)
                assert [r["id"] for r in seen.rows] == [r["id"] for r in floor_page.rows], name
                assert seen.extra["count"] == floor_page.extra["count"], name
                assert seen.rows and (case[0] or len(seen.rows) == 50), (name, len(seen.rows))
                # a call of each side in turn, each first in as many turns: a noisy moment of
                # this shared machine lands on all (in blocks of 30 calls a side the ratio moved
                # 0.88-1.23). The app's side runs as the app does (asyncpg's statement cache,
                # PostgreSQL's choice of plan); the floor runs in each plan_cache_mode and is
                # the fastest of them: the two sides' choices differ (their plans' costs do),
                # and in a whole bench the superuser's page after a cursor, planned each call,
                # took 0.58 ms against 0.35 ms under RLS
                for _ in range(WARM):  # the statement caches' plans settle, as a busy app's
                    for conn in (*apps, *supers):
                        await _page(conn, tenant, *case)
                sides = ["app", *FLOOR_MODES]
                for i in range(REPEAT):
                    k = i // len(sides) % 2
                    for side in sides[i % len(sides) :] + sides[: i % len(sides)]:
                        if side == "app":
                            rls[name].append(await _timed(apps[k], tenant, case))
                        else:
                            bare[name][side].append(
                                await _timed(floor_conns[side][k], tenant, case)
                            )
    finally:
        for conn in (*apps, *supers):
            await conn.close()
    floors = {name: min(FLOOR_MODES, key=lambda m, n=name: median(bare[n][m])) for name in cases}
    print(
        f"\nP4: the contact list's page (app/crm/list_queries.contact_page, with its count) over"
        f" {ROWS:,} contacts per tenant (2 tenants), medians of {REPEAT} turns (a call of the app"
        f" and of the floor in each plan_cache_mode)"
    )
    for name in cases:
        floor = bare[name][floors[name]]
        print(
            f"P4 {name}: RLS {median(rls[name]):.3f} ms; no RLS "
            + ", ".join(f"{m} {median(bare[name][m]):.3f} ms" for m in FLOOR_MODES)
            + "; RLS / the fastest no-RLS by percentile: "
            + ", ".join(
                f"p{p} {percentile(rls[name], p) / percentile(floor, p):.3f}"
                for p in (10, 25, 50, 75, 90)
            )
        )
    figures = [
        record(
            f"P4 {name} with RLS",
            median(rls[name]),
            "ms",
            floor=median(bare[name][floors[name]]),
            floor_what=f"no RLS (superuser, {floors[name]})",
            goal=1.10,
            bound=2.2,
        )
        for name in cases
    ]
    check(*figures)
