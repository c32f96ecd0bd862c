"""CRM base: companies and contacts (tenant data under RLS; tenant_id leads every index)."""

from app.core.migrations import sql_migration, tenant_rls

ID = "2026-11-25T12:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "companies and contacts"

SQL = (
    """
create table companies (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    name text not null check (length(name) between 1 and 200),
    domain text check (length(domain) <= 253),
    industry text check (length(industry) <= 100),
    size text check (length(size) <= 50),
    address text check (length(address) <= 1000),
    owner_id uuid references users (id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (tenant_id, id)
);
create index companies_tenant_name on companies (tenant_id, lower(name), id);
create index companies_tenant_created on companies (tenant_id, created_at desc, id desc);

create table contacts (
    id uuid primary key,
    tenant_id uuid not null references tenants (id) on delete cascade,
    first_name text not null default '' check (length(first_name) <= 100),
    last_name text not null default '' check (length(last_name) <= 100),
    emails text[] not null default '{}',
    phones text[] not null default '{}',
    title text check (length(title) <= 200),
    company_id uuid,
    owner_id uuid references users (id) on delete set null,
    tags text[] not null default '{}',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (tenant_id, id),
    -- a contact can only point at a company of its own tenant
    foreign key (tenant_id, company_id) references companies (tenant_id, id) on delete set null (company_id)
);
create index contacts_tenant_name on contacts (tenant_id, lower(last_name), lower(first_name), id);
create index contacts_tenant_created on contacts (tenant_id, created_at desc, id desc);
create index contacts_tenant_company on contacts (tenant_id, company_id);
"""
    + tenant_rls("companies")
    + tenant_rls("contacts")
)


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "crm", DESCRIPTION, SQL)
