"""Encrypted CRM fields: contacts' emails and phones (with blind indexes) and note bodies.

Emails and phones are stored as ``emails_enc`` / ``phones_enc`` (text[] of AES-256-GCM
ciphertexts, app/core/crypto.py) beside ``emails_bidx`` / ``phones_bidx`` (text[] of keyed
HMACs) so that an exact email or phone number typed into the search box still finds the contact.
Note bodies are ``notes.body_enc``, activities' notes ``tasks.notes_enc``, the cells of a
failed CSV import row ``crm_import_errors.raw``. Every value is bound to its tenant, table,
column and row id (crypto.Binding): copied into another row it no longer decrypts. Importing
this module registers the columns for the key rotation job (it is listed in
crypto.ENCRYPTION_MODULES).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from app.crm.activity import Diff

from app.core.crypto import (
    Binding,
    bind,
    blind_index,
    blind_indexes,
    decrypt_list,
    decrypt_text,
    encrypt_text,
    key_ring,
    register_encrypted_column,
)
from app.core.rows import Fields

register_encrypted_column("contacts", "emails_enc", is_array=True)
register_encrypted_column("contacts", "phones_enc", is_array=True)
register_encrypted_column("notes", "body_enc")
register_encrypted_column("tasks", "notes_enc")  # an activity's notes (a call's, a meeting's)
register_encrypted_column("crm_import_errors", "raw", is_array=True)  # a failed CSV row's cells

SENSITIVE = ("emails", "phones")  # contact fields never written to the timeline in clear
PHONE_QUERY = re.compile(r"^\+?[0-9 ()./-]{3,40}$")


def phone_key(phone: str) -> str:
    """What a phone number's blind index is computed from: its digits only, so "+44 20 7946
    0958", "+44-20-7946-0958" and "44 2079460958" find each other (spacing and + don't count)."""
    return "".join(ch for ch in phone if ch.isdigit())


def email_indexes(emails: list[str]) -> list[str]:
    return blind_indexes(emails)


def phone_indexes(phones: list[str]) -> list[str]:
    return [blind_index(key) for key in map(phone_key, phones) if key]


def seal_list(values: list[str], binding: Binding | None = None) -> list[str]:
    """`encrypt_list` with the key ring looked up once (the CSV import seals 1000s per batch)."""
    ring = key_ring()
    return [encrypt_text(v, ring=ring, binding=binding) for v in values]


def contact_binding(column: str, tenant_id: UUID | None, contact_id: object) -> Binding:
    return bind("contacts", column, contact_id, tenant_id)


def seal_contact(
    emails: list[str],
    phones: list[str],
    tenant_id: UUID | None = None,
    contact_id: UUID | None = None,
) -> tuple[list[str], ...]:
    """(emails_enc, emails_bidx, phones_enc, phones_bidx) for a contact's plaintext lists,
    bound to the contact's row (unbound ``enc1`` only for the first encryption migration)."""
    bound = tenant_id is not None and contact_id is not None
    em = contact_binding("emails_enc", tenant_id, contact_id) if bound else None
    ph = contact_binding("phones_enc", tenant_id, contact_id) if bound else None
    return (
        seal_list(emails, em),
        email_indexes(emails),
        seal_list(phones, ph),
        phone_indexes(phones),
    )


def open_contact(row: Any, tenant_id: UUID | None = None) -> dict[str, Any]:
    """A contact row (record or dict, with its ``id`` and, unless given, ``tenant_id``) as the
    UI uses it: ``emails`` and ``phones`` decrypted, ciphertext and index columns left out."""
    data = dict(row)
    tenant = tenant_id or data.get("tenant_id")
    em = contact_binding("emails_enc", tenant, data["id"])
    ph = contact_binding("phones_enc", tenant, data["id"])
    data["emails"] = decrypt_list(data.pop("emails_enc", None), em)
    data["phones"] = decrypt_list(data.pop("phones_enc", None), ph)
    data.pop("emails_bidx", None)
    data.pop("phones_bidx", None)
    return data


def open_listed(row: Mapping[str, object], tenant_id: UUID) -> Fields:
    """A contact row of a list (``id`` and ``emails_enc``, its first address only: what a list
    shows) with ``emails`` decrypted, as Fields; no phone number is read or decrypted."""
    data = Fields(row)
    binding = contact_binding("emails_enc", tenant_id, data["id"])
    data["emails"] = decrypt_list(data.pop("emails_enc", None), binding)  # type: ignore[arg-type]
    return data


class Sealed:
    """A listed value still sealed: equal and hashed by its ciphertext and where it lives (so
    a list row can be a kept fragment's key, app/core/templating.py), decrypted only when its
    text is first read (`str`, as a template prints it): a list page whose rows are kept
    rendered decrypts nothing. Where it lives is `bind`'s arguments (table, column, row key,
    tenant), made a Binding only to decrypt (a page of 50 rows made 50 Bindings, ~3 % of the
    contact list's CPU, for nothing when the rows are kept)."""

    __slots__ = ("_plain", "value", "where")

    def __init__(self, value: str, where: tuple[str, str, object, UUID | None]) -> None:
        self.value, self.where = value, where
        self._plain: str | None = None

    @property
    def binding(self) -> Binding:
        return bind(*self.where)

    def __str__(self) -> str:
        if self._plain is None:
            self._plain = decrypt_text(self.value, binding=self.binding)
        return self._plain

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sealed):
            return (self.value, self.where) == (other.value, other.where)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.value, self.where))

    def __repr__(self) -> str:
        return "Sealed(...)"  # never the text in a log or a traceback


def sealed_listed(row: Mapping[str, object], tenant_id: UUID) -> Fields:
    """`open_listed`, with the first address `Sealed` (decrypted when a template prints it)."""
    data = Fields(row)
    values: list[str] = data.pop("emails_enc", None) or []  # type: ignore[assignment]
    where = ("contacts", "emails_enc", data["id"], tenant_id)  # contact_binding's
    data["emails"] = [Sealed(v, where) for v in values]
    return data


def search_indexes(query: str) -> list[str]:
    """Blind indexes an exact email or phone number typed into a search box would match."""
    found = [blind_index(query)]
    if PHONE_QUERY.match(query) and len(digits := phone_key(query)) >= 3:
        found.append(blind_index(digits))
    return found


def lookup_indexes(query: str) -> list[str]:
    """`search_indexes` of a query that may be a whole email address (an @) or phone number;
    none for other text, which no stored address or number can equal."""
    return search_indexes(query) if "@" in query or PHONE_QUERY.match(query) else []


def note_binding(tenant_id: UUID | None, note_id: object) -> Binding:
    return bind("notes", "body_enc", note_id, tenant_id)


def seal_note(body: str, tenant_id: UUID, note_id: UUID) -> str:
    """A note body sealed to its row."""
    return encrypt_text(body, binding=note_binding(tenant_id, note_id))


def open_note(row: Any, tenant_id: UUID | None = None) -> dict[str, object]:
    """A note row (with ``id`` and, unless given, ``tenant_id``) with ``body`` decrypted (and
    ``body_enc`` left out)."""
    data = dict(row)
    tenant = tenant_id or data.get("tenant_id")
    data["body"] = decrypt_text(data.pop("body_enc"), binding=note_binding(tenant, data["id"]))
    return data


def activity_notes_binding(tenant_id: UUID | None, activity_id: object) -> Binding:
    return bind("tasks", "notes_enc", activity_id, tenant_id)


def seal_activity_notes(notes: str, tenant_id: UUID, activity_id: UUID) -> str | None:
    """An activity's notes sealed to its row (None when there are none)."""
    if not notes:
        return None
    return encrypt_text(notes, binding=activity_notes_binding(tenant_id, activity_id))


def open_activity_notes(sealed: str | None, tenant_id: UUID, activity_id: UUID) -> str:
    """An activity's notes in clear ("" when there are none)."""
    if not sealed:
        return ""
    return decrypt_text(sealed, binding=activity_notes_binding(tenant_id, activity_id))


def import_error_binding(tenant_id: UUID | None, error_id: object) -> Binding:
    return bind("crm_import_errors", "raw", error_id, tenant_id)


def redact_changes(changes: Diff) -> Diff:
    """A timeline diff with emails and phones replaced by how many there are: the activity log
    is append-only (never re-encrypted, kept after a contact is edited), so no values in it."""
    labels = {"emails": ("email address", "email addresses"), "phones": ("phone", "phones")}
    out = dict(changes)
    for name in SENSITIVE:
        if name in out:
            one, many = labels[name]
            out[name] = {
                side: f"{len(v)} {one if len(v) == 1 else many}"
                if isinstance(v, list) and v
                else None
                for side, v in out[name].items()
            }
    return out
