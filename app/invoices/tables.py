"""Piccolo tables of the invoices app (DDL and RLS live in migrations/invoices)."""

from piccolo.columns import UUID, Date, Integer, Numeric, Text, Timestamptz
from piccolo.table import Table

from app.core.columns import Char


class InvoiceCounter(Table, tablename="invoice_counters"):
    tenant_id = UUID(primary_key=True)
    last_number = Integer()


class Invoice(Table, tablename="invoices"):
    id = UUID(primary_key=True)
    tenant_id = UUID()
    number = Integer()
    company_id = UUID()
    deal_id = UUID(null=True, default=None)
    currency = Char(length=3, default="EUR")
    status = Text(default="draft")
    issue_date = Date()
    due_date = Date()
    notes = Text(default="")
    version = Integer(default=1)  # bumped by every edit (no lost updates)
    subtotal = Numeric(digits=(14, 2))
    tax_total = Numeric(digits=(14, 2))
    total = Numeric(digits=(14, 2))
    sent_at = Timestamptz(null=True, default=None)
    paid_at = Timestamptz(null=True, default=None)
    voided_at = Timestamptz(null=True, default=None)
    created_by = UUID(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class InvoiceLine(Table, tablename="invoice_lines"):
    id = UUID(primary_key=True)
    tenant_id = UUID()
    invoice_id = UUID()
    position = Integer()
    description = Text()
    quantity = Numeric(digits=(12, 3))
    unit_price = Numeric(digits=(14, 2))
    tax_rate = Numeric(digits=(5, 2))
    net_amount = Numeric(digits=(14, 2))
