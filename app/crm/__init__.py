"""CRM records: companies, contacts, notes, tasks, activity timeline, invoices, CSV import."""
