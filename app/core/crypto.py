"""Field encryption at rest: AES-256-GCM with a rotating key ring, and HMAC blind indexes.

Ciphertext is text: ``enc2:<key id>:<base64url(nonce | ciphertext+tag)>``. Its associated data
binds the key id *and where the value lives* — tenant, table, column and row id (``Binding``) —
so a ciphertext copied into another row, column or workspace fails to decrypt instead of
showing up there. Values written before that (``enc1:``, bound to the key id only) still
decrypt; the ``rotate_field_keys`` job rewrites them as ``enc2`` under the newest key.

The key ring comes from the ``FIELD_KEYS`` setting, ``"k2:<base64 32 bytes>,k1:<base64 32
bytes>"``, newest first: new values are written with the first key, any key in the ring
decrypts. To rotate, put a new key in front, deploy, let ``rotate_field_keys`` re-encrypt every
registered column, then drop the old key. ``blind_index`` is HMAC-SHA256 under the separate
``BLIND_INDEX_KEY`` and makes an encrypted field searchable by exact (normalised) value; it is
not rotated by the job.

Encrypted columns (see ENCRYPTED_COLUMNS and each owner's ``register_encrypted_column`` call)
are listed in the README; what is not covered (the disk under PostgreSQL, backups' own
encryption, Redis) is the operator's or another module's job.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.settings import get_settings

PREFIX = "enc1"  # before bindings: associated data is the key id only (still decrypts)
PREFIX2 = "enc2"  # bound to tenant, table, column and row id
NONCE_BYTES = 12
KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class KeyRingError(RuntimeError):
    """FIELD_KEYS / BLIND_INDEX_KEY are missing or malformed (a deployment error)."""


class DecryptionError(ValueError):
    """A value is not our ciphertext, names an unknown key, or was altered."""


@dataclass(frozen=True)
class KeyRing:
    """Named AES-256 keys, newest first."""

    keys: tuple[tuple[str, bytes], ...]

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    def get(self, key_id: str) -> bytes | None:
        return next((key for kid, key in self.keys if kid == key_id), None)


def _decode_key(text: str, what: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyRingError(f"{what} is not valid base64") from exc
    if len(key) != 32:
        raise KeyRingError(f"{what} must be 32 bytes (AES-256), got {len(key)}")
    return key


@functools.lru_cache(maxsize=32)
def _aead(key: bytes) -> AESGCM:
    """The AES-GCM cipher of a ring key, made once: building one costs more than a decryption
    and it holds no state between calls (a list page opens a hundred values, an export millions)."""
    return AESGCM(key)


@functools.cache
def parse_key_ring(spec: str) -> KeyRing:
    """Parse ``"kid:base64,kid:base64"`` (newest first)."""
    keys: list[tuple[str, bytes]] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        kid, sep, b64 = part.partition(":")
        if not sep or not KEY_ID_RE.match(kid):
            raise KeyRingError(f"FIELD_KEYS entry {kid!r} needs the form id:base64key")
        if any(kid == k for k, _ in keys):
            raise KeyRingError(f"FIELD_KEYS names key {kid!r} twice")
        keys.append((kid, _decode_key(b64, f"FIELD_KEYS key {kid!r}")))
    if not keys:
        raise KeyRingError("FIELD_KEYS is empty: set it (see README 'Encryption at rest')")
    return KeyRing(tuple(keys))


def key_ring() -> KeyRing:
    """The key ring of the current settings."""
    return parse_key_ring(get_settings().field_keys)


def new_key_spec(key_id: str) -> str:
    """A fresh ``id:base64`` entry to put in front of FIELD_KEYS (used by `odex` and tests)."""
    return f"{key_id}:" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class Binding:
    """Where a value lives; it becomes the associated data of the value's encryption.

    A ciphertext only decrypts with the binding it was written with: moved to another row,
    column, table or workspace it is refused (DecryptionError), never shown there.
    """

    table: str
    column: str
    row: str
    tenant: UUID | None = None

    def aad(self, kid: str) -> bytes:
        parts = ("odex-field-2", kid, str(self.tenant or "-"), self.table, self.column, self.row)
        return "\x1f".join(parts).encode()


def bind(table: str, column: str, row: object, tenant: UUID | None = None) -> Binding:
    """The binding of `table.column` in the row whose key is `row` (of `tenant`, if any)."""
    return Binding(table, column, str(row), tenant)


def encrypt_text(
    plaintext: str, *, ring: KeyRing | None = None, binding: Binding | None = None
) -> str:
    """Encrypt with the newest key; a fresh random nonce every time.

    With a binding (every write of the app) the value is ``enc2``, bound to where it lives.
    Without one it is the older ``enc1`` form: only the first encryption migration writes that,
    and the rotation job upgrades it.
    """
    ring = ring or key_ring()
    kid, key = ring.keys[0]
    nonce = secrets.token_bytes(NONCE_BYTES)
    if binding is None:
        sealed = _aead(key).encrypt(nonce, plaintext.encode(), kid.encode())
        prefix = PREFIX
    else:
        sealed = _aead(key).encrypt(nonce, plaintext.encode(), binding.aad(kid))
        prefix = PREFIX2
    return f"{prefix}:{kid}:" + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def _parts(value: str) -> tuple[str, str] | None:
    """(format prefix, key id) of our ciphertext, None for anything else."""
    head, sep, rest = value.partition(":")
    if head not in (PREFIX, PREFIX2) or not sep:
        return None
    kid, sep, _ = rest.partition(":")
    return (head, kid) if sep and KEY_ID_RE.match(kid) else None


def key_id_of(value: str) -> str | None:
    """The key id a ciphertext names, or None for anything that is not our ciphertext."""
    parts = _parts(value)
    return parts[1] if parts else None


def is_bound(value: str) -> bool:
    """Is this an ``enc2`` value (bound to where it lives)?"""
    parts = _parts(value)
    return bool(parts and parts[0] == PREFIX2)


def is_encrypted(value: str) -> bool:
    return key_id_of(value) is not None


def decrypt_text(value: str, *, ring: KeyRing | None = None, binding: Binding | None = None) -> str:
    """Decrypt a value written by `encrypt_text` with any key still in the ring.

    An ``enc2`` value needs the binding of the place it is read from; one copied from
    elsewhere fails its tag. ``enc1`` values (older) decrypt with or without one.
    """
    ring = ring or key_ring()
    parts = _parts(value)
    if parts is None:
        raise DecryptionError("not an encrypted value")
    prefix, kid = parts
    key = ring.get(kid)
    if key is None:
        raise DecryptionError(f"key {kid!r} is not in FIELD_KEYS (rotated out too early?)")
    if prefix == PREFIX2 and binding is None:
        raise DecryptionError("this value is bound to its row: say where it was read from")
    aad = binding.aad(kid) if prefix == PREFIX2 and binding else kid.encode()
    blob = value.split(":", 2)[2]
    try:
        raw = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
        return _aead(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad).decode()
    except (binascii.Error, ValueError, InvalidTag) as exc:
        raise DecryptionError(
            "the encrypted value was altered, is corrupt or belongs to another row"
        ) from exc


def decrypt_column(
    cells: Iterable[tuple[list[str] | None, UUID | str | None, object]],
    table: str,
    column: str,
    *,
    ring: KeyRing | None = None,
) -> list[list[str]]:
    """`decrypt_list` of one text[] column over many rows, given (values, tenant, row key) a
    row: the key ring read once, each key's cipher built once, no call a value but the
    decryption (an export opens millions). Same results as `decrypt_list` with
    `bind(table, column, row, tenant)`; anything unusual goes through `decrypt_text`, which
    raises its error. The tenant may be given as its id's text; `ring` (default: the
    settings') lets a process without the settings (an export's decryption pool) decrypt."""
    ring = ring or key_ring()
    ciphers = {kid: _aead(key) for kid, key in ring.keys}
    sep = "\x1f"
    tail = sep + table + sep + column + sep
    out: list[list[str]] = []
    for values, tenant, row in cells:
        opened: list[str] = []
        for value in values or ():
            head, _, rest = value.partition(":")
            kid, _, blob = rest.partition(":")
            cipher = ciphers.get(kid)
            try:
                if cipher is None or not blob:
                    raise ValueError(value)
                if head == PREFIX2:
                    aad = f"odex-field-2{sep}{kid}{sep}{tenant or '-'}{tail}{row}".encode()
                elif head == PREFIX:
                    aad = kid.encode()
                else:
                    raise ValueError(value)
                raw = binascii.a2b_base64(
                    blob.encode("ascii").translate(_URLSAFE) + b"=" * (-len(blob) % 4)
                )
                opened.append(cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad).decode())
            except (binascii.Error, ValueError, InvalidTag):
                owner = UUID(tenant) if isinstance(tenant, str) else tenant
                binding = Binding(table, column, str(row), owner)
                opened.append(decrypt_text(value, ring=ring, binding=binding))
        out.append(opened)
    return out


_URLSAFE = bytes.maketrans(b"-_", b"+/")


def decrypt_joined(
    cells: Iterable[tuple[bytes, bytes, bytes]],
    table: str,
    column: str,
    ring: KeyRing,
) -> list[bytes]:
    """`decrypt_column` for bytes as COPY gives them: given (ciphertexts joined by spaces,
    tenant id, row key) a row, its plaintexts joined by "; " (UTF-8), nothing decoded and the
    associated data's head built once a key and workspace (an export opens millions). Same
    results as `decrypt_list`; anything unusual goes through `decrypt_text` and its error."""
    ciphers = {kid.encode(): _aead(key) for kid, key in ring.keys}
    where = f"\x1f{table}\x1f{column}\x1f".encode()
    last: tuple[bytes, bytes] | None = None
    head = b""
    out: list[bytes] = []
    for values, tenant, row in cells:
        if not values:
            out.append(b"")
            continue
        opened: list[bytes] = []
        for value in values.split(b" "):
            try:
                prefix, kid, blob = value.split(b":", 2)
                if prefix == b"enc2":
                    if (kid, tenant) != last:
                        last = (kid, tenant)
                        head = b"odex-field-2\x1f" + kid + b"\x1f" + (tenant or b"-") + where
                    aad = head + row
                elif prefix == b"enc1":
                    aad = kid
                else:
                    raise ValueError(value)
                # lenient base64 (extra padding ignored): a blob read wrongly fails the tag
                raw = binascii.a2b_base64(blob.translate(_URLSAFE) + b"===")
                opened.append(ciphers[kid].decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad))
            except (binascii.Error, ValueError, KeyError, InvalidTag):
                owner = UUID(tenant.decode()) if tenant else None
                binding = Binding(table, column, row.decode(), owner)
                text = value.decode(errors="replace")
                opened.append(decrypt_text(text, ring=ring, binding=binding).encode())
        out.append(opened[0] if len(opened) == 1 else b"; ".join(opened))
    return out


def encrypt_optional(plaintext: str | None, binding: Binding | None = None) -> str | None:
    """`encrypt_text` for nullable columns (None and '' stay as they are)."""
    return encrypt_text(plaintext, binding=binding) if plaintext else plaintext


def decrypt_optional(value: str | None, binding: Binding | None = None) -> str | None:
    """`decrypt_text` for nullable columns."""
    return decrypt_text(value, binding=binding) if value else value


def encrypt_list(values: list[str], binding: Binding | None = None) -> list[str]:
    """`encrypt_text` for each element of a text[] column (e.g. a contact's emails); every
    element carries the row's binding."""
    ring = key_ring()
    return [encrypt_text(v, ring=ring, binding=binding) for v in values]


def decrypt_list(values: list[str] | None, binding: Binding | None = None) -> list[str]:
    return [decrypt_text(v, binding=binding) for v in values or []]


@functools.cache
def _blind_key(spec: str) -> bytes:
    if not spec:
        raise KeyRingError("BLIND_INDEX_KEY is empty: set it (see README 'Encryption at rest')")
    return _decode_key(spec, "BLIND_INDEX_KEY")


def normalise_for_index(value: str) -> str:
    """What equal values have in common: trimmed, case-folded, inner whitespace collapsed."""
    return " ".join(value.split()).casefold()


def blind_index(value: str) -> str:
    """A keyed hash (hex HMAC-SHA256) of the normalised value, for exact-match search.

    Store it beside the ciphertext (e.g. ``email_bidx``) and search with
    ``where email_bidx = blind_index(query)``. Phone numbers: pass digits only (with the
    leading +), so formatting does not matter.
    """
    key = _blind_key(get_settings().blind_index_key)
    return hmac.new(key, normalise_for_index(value).encode(), hashlib.sha256).hexdigest()


def blind_indexes(values: list[str]) -> list[str]:
    """`blind_index` of each element, for a text[] index column searched with
    ``where $1 = any(emails_bidx)`` (give it a GIN index starting from tenant_id's btree)."""
    return [blind_index(v) for v in values]


# --- registered columns and key rotation -------------------------------------------------


@dataclass(frozen=True)
class EncryptedColumn:
    """A text column holding `encrypt_text` values, re-encrypted by the rotation job."""

    table: str
    column: str
    key: str = "id"  # a unique column to address rows by
    tenant_scoped: bool = True  # RLS table: rotated tenant by tenant
    is_array: bool = False  # a text[] column of ciphertexts


ENCRYPTED_COLUMNS: list[EncryptedColumn] = []
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def register_encrypted_column(
    table: str,
    column: str,
    *,
    key: str = "id",
    tenant_scoped: bool = True,
    is_array: bool = False,
) -> EncryptedColumn:
    """Declare a column encrypted (call at import of the owner's tables.py or services.py)."""
    for name in (table, column, key):
        if not _IDENT.match(name):
            raise ValueError(f"not a plain SQL identifier: {name!r}")
    entry = EncryptedColumn(table, column, key, tenant_scoped, is_array)
    if entry not in ENCRYPTED_COLUMNS:
        ENCRYPTED_COLUMNS.append(entry)
    return entry


async def all_tenant_ids() -> list[UUID]:
    """Every tenant's id, for platform jobs that visit tenants one by one (RLS hides them)."""
    from app.core import queries
    from app.core.db import global_transaction

    async with global_transaction() as conn:
        return await queries.tenant_ids(conn)


# Modules whose import registers encrypted columns (owners add a line here).
ENCRYPTION_MODULES: list[str] = [
    "app.security.mfa",
    "app.crm.secure",
    "app.webhooks.secret",
]
