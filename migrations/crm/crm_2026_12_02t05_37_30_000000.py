"""CRM: encrypted columns accept format 2 ciphertexts (bound to tenant, table, column, row)."""

from app.core.migrations import sql_migration

ID = "2026-12-02T05:37:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "encrypted columns accept enc2 values"

# every element a ciphertext ("enc1:" or "enc2:<key id>:<base64url>", which has no comma)
ALL_SEALED = "array_to_string({col}, ',') ~ '^(enc[12]:[^,]+(,|$))*$'"

SQL = f"""
alter table contacts drop constraint contacts_emails_enc_check,
    add constraint contacts_emails_enc_check
        check ({ALL_SEALED.format(col="emails_enc")} and cardinality(emails_enc) <= 10);
alter table contacts drop constraint contacts_phones_enc_check,
    add constraint contacts_phones_enc_check
        check ({ALL_SEALED.format(col="phones_enc")} and cardinality(phones_enc) <= 10);
alter table notes drop constraint notes_body_enc_check,
    add constraint notes_body_enc_check check (body_enc ~ '^enc[12]:');
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, "crm", DESCRIPTION, SQL)
