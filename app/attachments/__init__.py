"""File attachments on contacts, companies, deals and invoices: encrypted at rest, sniffed."""
