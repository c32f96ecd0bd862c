"""Piccolo tables of the crm app (DDL and RLS live in migrations/crm)."""

from piccolo.columns import UUID, Array, Text, Timestamptz
from piccolo.table import Table


class Company(Table, tablename="companies"):
    id = UUID(primary_key=True)
    tenant_id = UUID()
    name = Text()
    domain = Text(null=True, default=None)
    industry = Text(null=True, default=None)
    size = Text(null=True, default=None)
    address = Text(null=True, default=None)
    owner_id = UUID(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Contact(Table, tablename="contacts"):
    id = UUID(primary_key=True)
    tenant_id = UUID()
    first_name = Text(default="")
    last_name = Text(default="")
    emails = Array(base_column=Text())
    phones = Array(base_column=Text())
    title = Text(null=True, default=None)
    company_id = UUID(null=True, default=None)
    owner_id = UUID(null=True, default=None)
    tags = Array(base_column=Text())
    created_at = Timestamptz()
    updated_at = Timestamptz()
