"""The demo seed fills a workspace with CRM records that the pages show (and nothing elsewhere)."""

from __future__ import annotations

from typing import Any

from app.seed import seed_records
from tests.helpers import Account


async def test_seed_crm(client_a: Any, client_b: Any, tenant_a: Account, tenant_b: Account) -> None:
    assert await seed_records(tenant_a.tenant_id, tenant_a.user_id) == 5
    companies = await client_a.get("/companies")
    assert "Northwind Logistics" in companies.text and "Polar Pharma" in companies.text
    contacts = await client_a.get("/contacts")
    assert "Lindqvist" in contacts.text and "Okafor" in contacts.text
    tasks = await client_a.get("/tasks")
    assert "Book a call with Priya" in tasks.text and "overdue" in tasks.text
    invoices = await client_a.get("/invoices")
    assert "INV-00001" in invoices.text and "Sent" in invoices.text and "Draft" in invoices.text
    for page in ("/companies", "/contacts", "/tasks", "/invoices"):
        other = await client_b.get(page)
        assert "Northwind" not in other.text and "Priya" not in other.text
        assert "INV-00001" not in other.text
