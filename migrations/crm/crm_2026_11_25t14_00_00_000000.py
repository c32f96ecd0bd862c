"""CRM encryption at rest: contacts' emails/phones, note bodies and failed import rows' cells
become AES-256-GCM ciphertext.

Existing rows are encrypted by a Python step of this migration (the ``enc1`` format and blind
index of that time, frozen below rather than imported from the app, which has moved on; with the
FIELD_KEYS / BLIND_INDEX_KEY of the environment that migrates) and the plaintext columns are
dropped in the same transaction. The alternative, keeping the plaintext columns nullable for the
rotation job to encrypt later, would leave clear text on disk until that job ran and every read
would have to handle both shapes; one transaction leaves no such window (nor a way back to
plaintext). A database with no contacts or notes needs no key to migrate.
"""

import base64
import functools
import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.core.db import engine
from app.core.migrations import sql_migration
from app.settings import get_settings

ID = "2026-11-25T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "encrypt contact emails/phones and note bodies"

# every element a ciphertext ("enc1:<key id>:<base64url>", which has no comma)
ALL_SEALED = "array_to_string({col}, ',') ~ '^(enc1:[^,]+(,|$))*$'"

BEFORE = f"""
alter table contacts
    add column emails_enc text[] not null default '{{}}'
        check ({ALL_SEALED.format(col="emails_enc")} and cardinality(emails_enc) <= 10),
    add column emails_bidx text[] not null default '{{}}',
    add column phones_enc text[] not null default '{{}}'
        check ({ALL_SEALED.format(col="phones_enc")} and cardinality(phones_enc) <= 10),
    add column phones_bidx text[] not null default '{{}}';
alter table notes add column body_enc text check (body_enc like 'enc1:%');
-- a failed import row's cells (emails, phones...) are sealed too; the rotation job addresses
-- rows by a unique id
alter table crm_import_errors add column id uuid not null default gen_random_uuid();
create unique index crm_import_errors_tenant_id on crm_import_errors (tenant_id, id);
alter table crm_import_errors no force row level security;
-- the migrating owner reads and rewrites every tenant's rows below (RLS is forced again before
-- the transaction commits, so no other session ever sees the table unforced)
alter table contacts no force row level security;
alter table notes no force row level security;
"""

# No GIN index on emails_bidx / phones_bidx: under RLS the planner only uses leakproof operators
# as index conditions, and the array operators (&&, @>) are not leakproof, so a GIN index would
# cost every insert and never serve the app role. The search box filters the tenant's rows
# (led by the existing (tenant_id, ...) btree indexes, as the name LIKE search already does),
# so an exact email costs what a name search costs.
AFTER = """
drop trigger contacts_search_text on contacts;
alter table contacts drop column emails, drop column phones;
alter table notes drop column body;
alter table notes alter column body_enc set not null;
-- names and title only: emails and phones are found through their blind indexes
create or replace function contacts_search_text() returns trigger
language plpgsql set search_path = pg_catalog as $$
begin
    new.search_text := lower(concat_ws(' ', new.first_name, new.last_name, new.title));
    return new;
end
$$;
create trigger contacts_search_text
    before insert or update of first_name, last_name, title, search_text
    on contacts for each row execute function contacts_search_text();
update contacts set search_text = '';
alter table crm_import_errors force row level security;
alter table contacts force row level security;
alter table notes force row level security;
"""

BATCH = 1000


# --- frozen: the field encryption and blind index as they were when this migration was written


@functools.cache
def _field_key() -> tuple[str, bytes]:
    """(key id, AES-256 key): the newest entry of FIELD_KEYS ("kid:base64,kid:base64")."""
    spec = get_settings().field_keys
    first = next((p.strip() for p in spec.split(",") if p.strip()), "")
    kid, sep, b64 = first.partition(":")
    if not sep:
        raise RuntimeError("FIELD_KEYS is needed to encrypt the existing CRM rows")
    key = base64.b64decode(b64.strip(), validate=True)
    if len(key) != 32:
        raise RuntimeError(f"FIELD_KEYS key {kid!r} must be 32 bytes (AES-256)")
    return kid, key


@functools.cache
def _blind_key() -> bytes:
    spec = get_settings().blind_index_key
    if not spec:
        raise RuntimeError("BLIND_INDEX_KEY is needed to index the existing CRM rows")
    key = base64.b64decode(spec.strip(), validate=True)
    if len(key) != 32:
        raise RuntimeError("BLIND_INDEX_KEY must be 32 bytes")
    return key


def encrypt_text(plaintext: str) -> str:
    """``enc1:<kid>:<base64url(nonce + AES-GCM(plaintext, aad=kid))>`` (unbound, upgraded to
    ``enc2`` by the rotation job later)."""
    kid, key = _field_key()
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), kid.encode())
    return f"enc1:{kid}:" + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def blind_index(value: str) -> str:
    """Hex HMAC-SHA256 of the trimmed, case-folded value with inner whitespace collapsed."""
    normalised = " ".join(value.split()).casefold()
    return hmac.new(_blind_key(), normalised.encode(), hashlib.sha256).hexdigest()


def seal_contact(emails: list[str], phones: list[str]) -> tuple[list[str], ...]:
    """(emails_enc, emails_bidx, phones_enc, phones_bidx); a phone's index is of its digits."""
    phone_keys = ["".join(ch for ch in phone if ch.isdigit()) for phone in phones]
    return (
        [encrypt_text(e) for e in emails],
        [blind_index(e) for e in emails],
        [encrypt_text(p) for p in phones],
        [blind_index(k) for k in phone_keys if k],
    )


async def encrypt_existing() -> None:
    """Encrypt the plaintext emails, phones, note bodies and import error cells already there."""
    txn = engine().current_transaction.get()
    if txn is None:
        raise RuntimeError("the crm encryption migration must run inside its transaction")
    conn: Any = txn.connection

    async def batches(sql: str) -> AsyncIterator[list[Any]]:
        """Rows of `sql` (selecting id first, with `id > $1`) in id order, BATCH at a time (no
        cursor: an open portal would block the ALTER TABLEs that follow)."""
        last = UUID(int=0)
        while rows := await conn.fetch(f"{sql} order by id limit {BATCH}", last):
            yield rows
            last = rows[-1]["id"]

    async for rows in batches(
        "select id, emails, phones from contacts where id > $1"
        " and (emails <> '{}' or phones <> '{}')"
    ):
        await conn.executemany(
            "update contacts set emails_enc = $2, emails_bidx = $3, phones_enc = $4,"
            " phones_bidx = $5 where id = $1",
            [(r["id"], *seal_contact(list(r["emails"]), list(r["phones"]))) for r in rows],
        )
    async for rows in batches("select id, body from notes where id > $1"):
        await conn.executemany(
            "update notes set body_enc = $2 where id = $1",
            [(r["id"], encrypt_text(r["body"])) for r in rows],
        )
    async for rows in batches("select id, raw from crm_import_errors where id > $1"):
        await conn.executemany(
            "update crm_import_errors set raw = $2 where id = $1",
            [(r["id"], [encrypt_text(v) for v in r["raw"]]) for r in rows],
        )


async def forwards():  # type: ignore[no-untyped-def]
    manager = sql_migration(ID, "crm", DESCRIPTION, BEFORE)
    manager.add_raw(encrypt_existing)
    after = sql_migration(ID, "crm", DESCRIPTION, AFTER)
    for step in after.raw:
        manager.add_raw(step)
    return manager
