"""CRM records: companies, contacts, notes, tasks, the activity timeline and CSV import."""
