"""Deals: pipelines, ordered stages, deals and their contacts (tenant data under RLS)."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-11-25T12:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "pipelines, stages, deals, deal contacts"

SQL = (
    """
create table pipelines (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    name text not null check (length(name) between 1 and 100),
    position integer not null default 0,
    is_default boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (tenant_id, id)
);
create index pipelines_tenant_position on pipelines (tenant_id, position, id);
-- at most one default pipeline per tenant (lazy creation may race: the loser sees the winner's)
create unique index pipelines_one_default on pipelines (tenant_id) where is_default;

create table stages (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    pipeline_id uuid not null,
    name text not null check (length(name) between 1 and 100),
    position integer not null default 0,
    kind text not null default 'open' check (kind in ('open', 'won', 'lost')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (tenant_id, id),
    unique (tenant_id, pipeline_id, id),
    foreign key (tenant_id, pipeline_id) references pipelines (tenant_id, id) on delete cascade
);
create index stages_tenant_pipeline on stages (tenant_id, pipeline_id, position, id);

create table deals (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    title text not null check (length(title) between 1 and 200),
    amount numeric(14, 2) not null default 0 check (amount >= 0),
    currency char(3) not null default 'EUR' check (currency ~ '^[A-Z]{3}$'),
    pipeline_id uuid not null,
    stage_id uuid not null,
    position double precision not null default 0,
    expected_close_date date,
    owner_id uuid,
    company_id uuid,
    version integer not null default 1,
    lost_reason text check (length(lost_reason) <= 1000),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (tenant_id, id),
    -- the stage must belong to the deal's pipeline and tenant; a stage with deals can't go
    foreign key (tenant_id, pipeline_id, stage_id) references stages (tenant_id, pipeline_id, id),
    foreign key (tenant_id, pipeline_id) references pipelines (tenant_id, id) on delete cascade,
    -- the owner must be a member of this tenant; removing the member clears the owner
    foreign key (tenant_id, owner_id) references memberships (tenant_id, user_id)
        on delete set null (owner_id),
    -- a deal can only point at a company of its own tenant
    foreign key (tenant_id, company_id) references companies (tenant_id, id)
        on delete set null (company_id)
);
create index deals_tenant_stage on deals (tenant_id, stage_id, position, id);
create index deals_tenant_title on deals (tenant_id, lower(title), id);
create index deals_tenant_created on deals (tenant_id, created_at desc, id desc);
create index deals_tenant_company on deals (tenant_id, company_id);
create index deals_tenant_owner on deals (tenant_id, owner_id);

create table deal_contacts (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    deal_id uuid not null,
    contact_id uuid not null,
    created_at timestamptz not null default now(),
    unique (tenant_id, deal_id, contact_id),
    foreign key (tenant_id, deal_id) references deals (tenant_id, id) on delete cascade,
    foreign key (tenant_id, contact_id) references contacts (tenant_id, id) on delete cascade
);
create index deal_contacts_tenant_contact on deal_contacts (tenant_id, contact_id);
"""
    + tenant_rls("pipelines")
    + tenant_rls("stages")
    + tenant_rls("deals")
    + tenant_rls("deal_contacts")
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "deals", DESCRIPTION, SQL)
