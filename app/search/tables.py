"""The search domain owns no tables: its migrations add indexes to the CRM's, deals' and
invoices' tables (migrations/search)."""
