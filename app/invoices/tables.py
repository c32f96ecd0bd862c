"""Piccolo tables of the invoices app (DDL and RLS live in migrations/invoices)."""

from piccolo.columns import UUID, BigInt, Date, Integer, Numeric, Text, Timestamptz
from piccolo.table import Table

from app.core.columns import Char, Created, TenantRecord, TenantRow


class InvoiceCounter(Table, tablename="invoice_counters"):
    tenant_id = UUID(primary_key=True)
    last_number = Integer()


class DashboardVersion(Table, tablename="dashboard_versions"):
    """A workspace's dashboard version, and its list version (`lists`): each bumped by
    triggers (migrations/invoices) in the transaction of any change of the dashboard's kept
    figures, of what the contact and company lists' results show; the app only reads them
    (app/crm/dashboard.py, app/crm/kept_lists.py)."""

    tenant_id = UUID(primary_key=True)
    version = BigInt(default=0)
    lists = BigInt(default=0)


class Invoice(TenantRecord, Table, tablename="invoices"):
    number = Integer()
    company_id = UUID()
    deal_id = UUID(null=True, default=None)
    currency = Char(length=3, default="EUR")
    status = Text(default="draft")
    issue_date = Date()
    due_date = Date()
    notes = Text(default="")
    subtotal = Numeric(digits=(14, 2))
    tax_total = Numeric(digits=(14, 2))
    total = Numeric(digits=(14, 2))
    sent_at = Timestamptz(null=True, default=None)
    paid_at = Timestamptz(null=True, default=None)
    voided_at = Timestamptz(null=True, default=None)
    created_by = UUID(null=True, default=None)


class InvoiceLine(TenantRow, Table, tablename="invoice_lines"):
    invoice_id = UUID()
    position = Integer()
    description = Text()
    quantity = Numeric(digits=(12, 3))
    unit_price = Numeric(digits=(14, 2))
    tax_rate = Numeric(digits=(5, 2))
    net_amount = Numeric(digits=(14, 2))


class InvoiceSend(TenantRow, Created, Table, tablename="invoice_sends"):
    """One email of an invoice to the customer (the PDF went through the outbox)."""

    invoice_id = UUID()
    sent_by = UUID(null=True, default=None)
    to_addr = Text()
    subject = Text()
    outbox_id = BigInt(null=True, default=None)
