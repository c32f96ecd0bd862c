"""Bulk seeding for the benches: a big tenant in seconds, through the app role inside
`tenant_transaction` (RLS applies), with emails, phones and note bodies sealed by the real
crypto (app/crm/secure.py), one distinct ciphertext per value as the app would store it."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from app.core.crypto import encrypt_text, key_ring
from app.core.db import tenant_transaction
from app.crm.secure import email_indexes, phone_indexes, seal_list
from app.deals.pipelines import DEFAULT_STAGES, ensure_default_pipeline

CHUNK = 10_000


def _words(text: str) -> tuple[str, ...]:
    """Names written as prose (one list per line would run to hundreds of lines)."""
    return tuple(text.split())


FIRST = _words(
    "Anna Ben Clara David Emma Felix Greta Hugo Ida Jonas Karla Leon Mia Noah Olga Paul Rosa"
    " Sami Tara Uwe Vera Wim Xenia Yusuf Zoe Aiko Bruno Chloé Dmitri Élodie Farid Giulia Hana"
    " Igor Jana Kofi Lena Mateo Nina Oskar Priya Quentin Rania Sven Tomás Ulla Viktor Wanda"
)
LAST = _words(
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch Richter"
    " Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Schmitt"
    " Werner Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König Walter Mayer Huber"
    " Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert Vogel Friedrich Keller"
    " Günther Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht Schuster Simon"
    " Ludwig Böhm Winter Kraus Martin Schumacher Krämer Vogt Stein Jäger Otto Sommer Groß Seidel"
    " Heinrich Brandt Haas Schreiber Graf Schulte Dietrich Ziegler Kuhn Kühn Pohl Engel Horn"
    " Busch Bergmann Thomas Voigt Sauer Arnold Wolff Pfeiffer Smith Jones Taylor Brown Wilson"
    " Evans Johnson Roberts Walker Wright Robinson Thompson White Hughes Edwards Green Hall Wood"
    " Harris Lewis Martinez Garcia Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci"
    " Marino Greco Dubois Durand Lefebvre Moreau Laurent Girard Bonnet Dupont Lambert Fontaine"
    " Rousseau Vincent Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński"
    " Jansen Visser Smit Bakker Janssens Peeters Maes Jacobs Mertens Willems Claes Goossens"
    " Nielsen Hansen Pedersen Andersen Larsen Johansson Karlsson Nilsson Eriksson Larsson"
    " Olsen Berg Haugen Virtanen Korhonen Nieminen Silva Santos Ferreira Pereira Oliveira Costa"
    " Rodrigues Almeida Sánchez Pérez Gómez Fernández López Díaz Moreno Muñoz Álvarez Romero"
    " Navarro Torres Ramírez Gil Serrano Molina Suzuki Tanaka Watanabe Yamamoto Nakamura Kim"
    " Lee Park Chen Wang Li Zhang Liu Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Gao"
)
TITLES = (
    "CEO", "CTO", "CFO", "Head of Sales", "Account Executive", "Buyer", "Procurement Manager",
    "Engineer", "Office Manager", "Consultant", "Founder", "Partner", "Marketing Lead",
)  # fmt: skip
INDUSTRIES = ("Software", "Retail", "Logistics", "Health", "Finance", "Manufacturing", "Media")
CURRENCIES = ("EUR", "EUR", "EUR", "USD", "GBP")


@dataclass
class Tenant:
    """What the seed made, for the benches to point at."""

    tenant_id: UUID
    users: list[UUID]
    companies: list[UUID] = field(default_factory=list)
    contacts: int = 0
    pipelines: list[UUID] = field(default_factory=list)
    stages: dict[UUID, list[tuple[UUID, str]]] = field(default_factory=dict)  # pipeline -> stages
    deals: dict[UUID, list[UUID]] = field(default_factory=dict)  # pipeline -> deals
    search_term: str = ""


def _chunks(n: int, size: int = CHUNK) -> list[range]:
    return [range(start, min(n, start + size)) for start in range(0, n, size)]


async def seed_companies(tenant: Tenant, count: int, rng: random.Random) -> None:
    ids = [uuid.uuid4() for _ in range(count)]
    async with tenant_transaction(tenant.tenant_id) as conn:
        await conn.execute(
            "insert into companies (id, tenant_id, name, domain, industry, size, owner_id)"
            " select t.id, $1, t.name, t.domain, t.industry, t.size, t.owner"
            " from unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::uuid[])"
            " as t(id, name, domain, industry, size, owner)",
            tenant.tenant_id,
            ids,
            [f"{rng.choice(LAST)} {i:04d} {rng.choice(INDUSTRIES)}" for i in range(count)],
            [f"company{i}.example.com" for i in range(count)],
            [rng.choice(INDUSTRIES) for _ in range(count)],
            [rng.choice(("1-10", "11-50", "51-200", "201-1000")) for _ in range(count)],
            [rng.choice(tenant.users) for _ in range(count)],
        )
    tenant.companies += ids


async def seed_contacts(tenant: Tenant, count: int, rng: random.Random) -> None:
    """`count` contacts, 9 in 10 at a company (spread evenly), each with one sealed email and
    phone and their blind indexes; the search text comes from the app's trigger."""
    ring = key_ring()
    for part in _chunks(count):
        columns = ("id", "first", "last", "em", "eb", "ph", "pb", "title", "co", "own", "tag")
        rows: dict[str, list[Any]] = {k: [] for k in columns}
        for i in part:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first}.{last}.{i}@example.com".lower()
            phone = f"+49 30 {1000000 + i}"
            rows["id"].append(uuid.uuid4())
            rows["first"].append(first)
            rows["last"].append(last)
            rows["em"].append(encrypt_text(email, ring=ring))
            rows["eb"].append(email_indexes([email])[0])
            rows["ph"].append(encrypt_text(phone, ring=ring))
            rows["pb"].append(phone_indexes([phone])[0])
            rows["title"].append(rng.choice(TITLES))
            company = tenant.companies[i % len(tenant.companies)] if i % 10 != 3 else None
            rows["co"].append(company)
            rows["own"].append(rng.choice(tenant.users))
            rows["tag"].append(rng.choice(("customer", "lead", "partner", "vip")))
        async with tenant_transaction(tenant.tenant_id) as conn:
            await conn.execute(
                "insert into contacts (id, tenant_id, first_name, last_name, emails_enc,"
                " emails_bidx, phones_enc, phones_bidx, title, company_id, owner_id, tags,"
                " created_at)"
                " select t.id, $1, t.f, t.l, array[t.em], array[t.eb], array[t.ph], array[t.pb],"
                " t.title, t.co, t.own, array[t.tag], now() - random() * interval '700 days'"
                " from unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],"
                " $7::text[], $8::text[], $9::text[], $10::uuid[], $11::uuid[], $12::text[])"
                " as t(id, f, l, em, eb, ph, pb, title, co, own, tag)",
                tenant.tenant_id,
                *rows.values(),
            )
    tenant.contacts += count


async def seed_pipelines(tenant: Tenant, extra: int) -> None:
    """The default pipeline plus `extra` more with the standard stages."""
    default = await ensure_default_pipeline(tenant.tenant_id)
    async with tenant_transaction(tenant.tenant_id) as conn:
        for n in range(extra):
            pipeline = uuid.uuid4()
            await conn.execute(
                "insert into pipelines (id, tenant_id, name, position) values ($1, $2, $3, $4)",
                pipeline, tenant.tenant_id, f"Pipeline {n + 2}", n + 1,
            )  # fmt: skip
            await conn.executemany(
                "insert into stages (id, tenant_id, pipeline_id, name, position, kind)"
                " values ($1, $2, $3, $4, $5, $6)",
                [
                    (uuid.uuid4(), tenant.tenant_id, pipeline, name, i, kind)
                    for i, (name, kind) in enumerate(DEFAULT_STAGES)
                ],
            )
        for row in await conn.fetch("select id from pipelines order by position, created_at"):
            pipeline = row["id"]
            tenant.pipelines.append(pipeline)
            stages = await conn.fetch(
                "select id, kind from stages where pipeline_id = $1 order by position", pipeline
            )
            tenant.stages[pipeline] = [(s["id"], s["kind"]) for s in stages]
    assert tenant.pipelines[0] == default


async def seed_deals(
    tenant: Tenant, per_pipeline: Sequence[int], rng: random.Random, *, open_only: bool = False
) -> None:
    """`per_pipeline[i]` deals on pipeline i, spread over its stages (or its open ones)."""
    async with tenant_transaction(tenant.tenant_id) as conn:
        for pipeline, count in zip(tenant.pipelines, per_pipeline, strict=False):
            stages = [s for s, kind in tenant.stages[pipeline] if kind == "open" or not open_only]
            lost = {s for s, kind in tenant.stages[pipeline] if kind == "lost"}
            ids = [uuid.uuid4() for _ in range(count)]
            stage_of = [stages[i % len(stages)] for i in range(count)]
            await conn.execute(
                "insert into deals (id, tenant_id, title, amount, currency, pipeline_id,"
                " stage_id, position, expected_close_date, owner_id, company_id, lost_reason,"
                " updated_at)"
                " select t.id, $1, t.title, t.amount, t.currency, $2, t.stage, t.position,"
                " t.close, t.owner, t.company, t.reason, now() - random() * interval '60 days'"
                " from unnest($3::uuid[], $4::text[], $5::numeric[], $6::text[], $7::uuid[],"
                " $8::float8[], $9::date[], $10::uuid[], $11::uuid[], $12::text[])"
                " as t(id, title, amount, currency, stage, position, close, owner, company,"
                " reason)",
                tenant.tenant_id,
                pipeline,
                ids,
                [f"{rng.choice(LAST)} renewal {i}" for i in range(count)],
                [round(rng.uniform(500, 90_000), 2) for _ in range(count)],
                [rng.choice(CURRENCIES) for _ in range(count)],
                stage_of,
                [float(i) for i in range(count)],
                [date.today() + timedelta(days=rng.randint(-90, 180)) for _ in range(count)],
                [rng.choice(tenant.users) for _ in range(count)],
                [tenant.companies[i % len(tenant.companies)] for i in range(count)]
                if tenant.companies
                else [None] * count,
                ["Budget went elsewhere" if s in lost else None for s in stage_of],
            )
            tenant.deals[pipeline] = ids


async def seed_history(
    tenant: Tenant, notes: int, activities: int, tasks: int, rng: random.Random
) -> None:
    """Sealed notes, timeline entries and tasks on the tenant's records; the first company gets
    its share of each so that its page is a busy one."""
    deals = [d for ids in tenant.deals.values() for d in ids]
    subjects = [("company", c) for c in tenant.companies[:200]] + [
        ("deal", d) for d in deals[:2000]
    ]
    subjects += [("company", tenant.companies[0])] * 20
    async with tenant_transaction(tenant.tenant_id) as conn:
        picks = [rng.choice(subjects) for _ in range(notes)]
        await conn.execute(
            "insert into notes (id, tenant_id, subject_type, subject_id, author_id, body_enc,"
            " created_at) select gen_random_uuid(), $1, t.kind, t.subject, t.author, t.body,"
            " now() - random() * interval '300 days'"
            " from unnest($2::text[], $3::uuid[], $4::uuid[], $5::text[])"
            " as t(kind, subject, author, body)",
            tenant.tenant_id,
            [k for k, _ in picks],
            [s for _, s in picks],
            [rng.choice(tenant.users) for _ in picks],
            seal_list([f"Called about the renewal, round {i}" for i in range(notes)]),
        )
        picks = [rng.choice(subjects) for _ in range(activities)]
        await conn.execute(
            "insert into activities (id, tenant_id, subject_type, subject_id, actor_id, action,"
            " summary, created_at) select gen_random_uuid(), $1, t.kind, t.subject, t.actor,"
            " 'updated', t.summary, now() - random() * interval '300 days'"
            " from unnest($2::text[], $3::uuid[], $4::uuid[], $5::text[])"
            " as t(kind, subject, actor, summary)",
            tenant.tenant_id,
            [k for k, _ in picks],
            [s for _, s in picks],
            [rng.choice(tenant.users) for _ in picks],
            [f"Changed the amount (entry {i})" for i in range(activities)],
        )
        picks = [rng.choice(subjects) for _ in range(tasks)]
        await conn.execute(
            "insert into tasks (id, tenant_id, subject_type, subject_id, title, due_date,"
            " assignee_id, created_by, done_at)"
            " select gen_random_uuid(), $1, t.kind, t.subject, t.title, t.due, t.who, t.who,"
            " case when t.done then now() end"
            " from unnest($2::text[], $3::uuid[], $4::text[], $5::date[], $6::uuid[], $7::bool[])"
            " as t(kind, subject, title, due, who, done)",
            tenant.tenant_id,
            [k for k, _ in picks],
            [s for _, s in picks],
            [f"Follow up {i}" for i in range(tasks)],
            [date.today() + timedelta(days=rng.randint(-20, 40)) for _ in picks],
            [rng.choice(tenant.users) for _ in picks],
            [rng.random() < 0.5 for _ in picks],
        )
        await conn.execute(
            "insert into invoices (id, tenant_id, number, company_id, status, due_date,"
            " issue_date, total, created_by) select gen_random_uuid(), $1, g,"
            " ($2::uuid[])[1 + g % 200], (array['draft', 'sent', 'paid', 'overdue'])[1 + g % 4],"
            " current_date + 30, current_date, g * 10, $3 from generate_series(1, 500) as g",
            tenant.tenant_id,
            tenant.companies[:200],
            tenant.users[0],
        )


def superuser_dsn() -> dict[str, str]:
    """asyncpg.connect arguments for a superuser on the test database (TEST_DATABASE_URL's
    role on a server the tests adopt; `postgres` over the embedded server's socket)."""
    import os
    from urllib.parse import urlsplit

    admin = os.environ.get("TEST_DATABASE_URL")
    if admin:  # the test database is on the admin's server (tests/conftest.py `services`)
        database = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/")
        return {"dsn": f"{admin.rsplit('/', 1)[0]}/{database}"}
    return {"dsn": os.environ["MIGRATION_DATABASE_URL"], "user": "postgres"}


async def checkpoint() -> float:
    """CHECKPOINT, as a superuser (`superuser_dsn`): the bulk loads' dirty pages written now,
    not by checkpoints the WAL of the load and of the vacuum after it would start during the
    measured runs. Returns the seconds it took."""
    import time

    import asyncpg

    started = time.perf_counter()
    conn = await asyncpg.connect(**superuser_dsn())
    try:
        await conn.execute("checkpoint")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def settle(owner_conn: Any, wait_seconds: float = 120.0) -> dict[str, float]:
    """VACUUM (ANALYZE) the database as its owner, wait until no autovacuum worker runs, then
    CHECKPOINT: pages are measured as a live workspace serves them, not beside the maintenance
    that follows a bulk load (the import bench's 100k contacts and their ~4M search-index rows,
    then this seed's own: on 2026-12-06 checkpoints started every 10-15 s through the seeds and
    the vacuum, each writing for seconds). Returns how long each took, to print beside the
    figures."""
    import asyncio
    import time

    started = time.perf_counter()
    await owner_conn.execute("vacuum (analyze)")
    vacuumed = time.perf_counter()
    for _ in range(int(wait_seconds * 10)):
        workers = await owner_conn.fetchval(
            "select count(*) from pg_stat_activity where backend_type = 'autovacuum worker'"
        )
        if not workers:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"autovacuum still ran {wait_seconds:.0f} s after the seed")
    waited = time.perf_counter() - vacuumed
    return {
        "vacuum_s": vacuumed - started,
        "autovacuum_wait_s": waited,
        "checkpoint_s": await checkpoint(),
    }
