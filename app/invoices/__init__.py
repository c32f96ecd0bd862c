"""Invoices: per-tenant numbers, line items with exact Decimal totals, status workflow, print."""
