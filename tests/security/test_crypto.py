"""Field encryption: AES-256-GCM round trip, tamper detection, key ids, blind index, rotation."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest

from app.core import crypto
from app.core.db import global_transaction, tenant_transaction
from app.security import rotation
from app.settings import get_settings
from tests.helpers import Account


def test_round_trip_and_fresh_nonce() -> None:
    one, two = crypto.encrypt_text("+44 20 7946 0958"), crypto.encrypt_text("+44 20 7946 0958")
    assert one != two  # a new nonce every time
    assert "7946" not in one
    assert crypto.key_id_of(one) == crypto.key_ring().current_id
    assert crypto.decrypt_text(one) == crypto.decrypt_text(two) == "+44 20 7946 0958"
    assert crypto.decrypt_optional(None) is None and crypto.encrypt_optional("") == ""


def test_altered_or_foreign_values_are_refused() -> None:
    value = crypto.encrypt_text("secret note")
    flipped = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_text(flipped)
    kid = crypto.key_id_of(value)
    with pytest.raises(crypto.DecryptionError):  # the key id is authenticated data
        crypto.decrypt_text(value.replace(f":{kid}:", ":other:"))
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_text("plain text")


def test_key_ring_parsing() -> None:
    spec = crypto.new_key_spec("k2") + "," + crypto.new_key_spec("k1")
    ring = crypto.parse_key_ring(spec)
    assert ring.current_id == "k2" and ring.get("k1") is not None
    for bad in ("", "k1:short", "nokey", "k1:" + "A" * 44 + ",k1:" + "A" * 44):
        with pytest.raises(crypto.KeyRingError):
            crypto.parse_key_ring(bad)


def test_blind_index_normalises_and_is_keyed() -> None:
    assert crypto.blind_index(" Ana@Example.com ") == crypto.blind_index("ana@example.com")
    assert crypto.blind_index("ana@example.com") != crypto.blind_index("ana@example.org")
    import hashlib

    assert crypto.blind_index("x") != hashlib.sha256(b"x").hexdigest()


@pytest.mark.every_workspace
async def test_rotation_re_encrypts_every_tenant_in_batches(
    tenant_a: Account, tenant_b: Account, monkeypatch: Any
) -> None:
    old = crypto.key_ring()
    rows: dict[uuid.UUID, tuple[uuid.UUID, str]] = {}
    for account in (tenant_a, tenant_b):
        async with tenant_transaction(account.tenant_id) as conn:
            for n in range(3):
                alert_id = uuid.uuid4()
                plain = f"session-{account.email}-{n}"
                await conn.execute(
                    "insert into security_alerts (id, tenant_id, kind, summary, session_key)"
                    " values ($1, $2, 'test', 'x', $3)",
                    alert_id,
                    account.tenant_id,
                    crypto.encrypt_text(plain),  # enc1, as before bindings: upgraded below
                )
                rows[alert_id] = (account.tenant_id, plain)
    async with global_transaction() as conn:
        await conn.execute(
            "insert into user_mfa (user_id, secret_enc) values ($1, $2)"
            " on conflict (user_id) do update set secret_enc = excluded.secret_enc",
            tenant_a.user_id,
            crypto.encrypt_text("JBSWY3DPEHPK3PXP"),
        )

    new_spec = crypto.new_key_spec("rotated") + "," + get_settings().field_keys
    patched = msgspec.structs.replace(get_settings(), field_keys=new_spec)
    monkeypatch.setattr(crypto, "get_settings", lambda: patched)
    column = crypto.EncryptedColumn("security_alerts", "session_key")
    assert await rotation.rotate_column(column, batch=2) >= 6
    assert await rotation.rotate_column(column, batch=2) == 0  # nothing left: restartable
    await rotation.rotate_field_keys(None)
    for alert_id, (tenant_id, plain) in rows.items():
        async with tenant_transaction(tenant_id) as conn:
            value = await conn.fetchval(
                "select session_key from security_alerts where id = $1", alert_id
            )
        where = crypto.bind("security_alerts", "session_key", alert_id, tenant_id)
        assert crypto.key_id_of(value) == "rotated" and crypto.is_bound(value)
        assert crypto.decrypt_text(value, binding=where) == plain
        with pytest.raises(crypto.DecryptionError):  # the old ring cannot read it
            crypto.decrypt_text(value, ring=old, binding=where)
    async with global_transaction() as conn:
        secret = await conn.fetchval(
            "select secret_enc from user_mfa where user_id = $1", tenant_a.user_id
        )
    assert crypto.key_id_of(secret) == "rotated"
    mfa_row = crypto.bind("user_mfa", "secret_enc", tenant_a.user_id)
    assert crypto.decrypt_text(secret, binding=mfa_row) == "JBSWY3DPEHPK3PXP"


async def test_rotation_of_array_columns(
    tenant_a: Account, tenant_b: Account, owner_conn: Any, monkeypatch: Any
) -> None:
    """A text[] of ciphertexts (a contact's emails, say): every element moves to the new key."""
    from app.core.migrations import tenant_rls

    await owner_conn.execute(
        "create table rotation_probe (id uuid primary key, tenant_id uuid not null"
        " references tenants (id) on delete cascade, vals text[]);"
        "grant select, insert, update, delete on rotation_probe to odex_app;"
        + tenant_rls("rotation_probe")
    )
    try:
        seeded = {}
        for account in (tenant_a, tenant_b):
            row_id = uuid.uuid4()
            plain = [f"a@{account.tenant_id}.example", "", f"b@{account.tenant_id}.example"]
            async with tenant_transaction(account.tenant_id) as conn:
                await conn.execute(
                    "insert into rotation_probe values ($1, $2, $3)",
                    row_id,
                    account.tenant_id,
                    [crypto.encrypt_text(plain[0]), "", plain[2]],  # one left in clear
                )
            seeded[row_id] = (account.tenant_id, plain)
        spec = crypto.new_key_spec("arr") + "," + get_settings().field_keys
        patched = msgspec.structs.replace(get_settings(), field_keys=spec)
        monkeypatch.setattr(crypto, "get_settings", lambda: patched)
        column = crypto.EncryptedColumn("rotation_probe", "vals", is_array=True)
        assert await rotation.rotate_column(column) == 2
        assert await rotation.rotate_column(column) == 0
        for row_id, (tenant_id, plain) in seeded.items():
            async with tenant_transaction(tenant_id) as conn:
                vals = await conn.fetchval("select vals from rotation_probe where id = $1", row_id)
            assert [crypto.key_id_of(v) for v in vals] == ["arr", None, "arr"]
            where = crypto.bind("rotation_probe", "vals", row_id, tenant_id)
            assert crypto.decrypt_list([v for v in vals if v], where) == [plain[0], plain[2]]
    finally:
        await owner_conn.execute("drop table rotation_probe")


def test_a_value_decrypts_only_where_it_was_written() -> None:
    """Tenant, table, column and row are associated data: a value moved elsewhere fails."""
    tenant, other_tenant, row, other_row = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    home = crypto.bind("contacts", "emails_enc", row, tenant)
    value = crypto.encrypt_text("ann@example.com", binding=home)
    assert value.startswith("enc2:") and crypto.is_bound(value)
    assert crypto.decrypt_text(value, binding=home) == "ann@example.com"
    for elsewhere in (
        crypto.bind("contacts", "emails_enc", other_row, tenant),  # another row
        crypto.bind("contacts", "phones_enc", row, tenant),  # another column
        crypto.bind("notes", "emails_enc", row, tenant),  # another table
        crypto.bind("contacts", "emails_enc", row, other_tenant),  # another workspace
    ):
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt_text(value, binding=elsewhere)
    with pytest.raises(crypto.DecryptionError):  # and it can't be read without saying where
        crypto.decrypt_text(value)


async def test_moved_ciphertext_fails_in_the_database(
    client_a: Any, tenant_a: Account, tenant_b: Account, owner_conn: Any
) -> None:
    """Copying a sealed email into another contact (same workspace or another) doesn't show it."""
    from app.crm.contacts import get_contact
    from tests.crm.test_records import make_contact

    marge = await make_contact(client_a, "Marge", "Simpson", emails="marge@example.com")
    homer = await make_contact(client_a, "Homer", "Simpson", emails="homer@example.com")
    current = await _current(tenant_a)
    assert (await get_contact(current, uuid.UUID(homer)))["emails"] == ["homer@example.com"]
    async with owner_conn.transaction():  # someone with write access to the table moves it
        await owner_conn.execute(
            "select set_config('app.tenant_id', $1, true)", str(tenant_a.tenant_id)
        )
        moved = await owner_conn.execute(
            "update contacts set emails_enc = (select emails_enc from contacts where id = $1)"
            " where id = $2",
            uuid.UUID(marge),
            uuid.UUID(homer),
        )
    assert moved == "UPDATE 1"
    with pytest.raises(crypto.DecryptionError):
        await get_contact(current, uuid.UUID(homer))
    assert (await get_contact(current, uuid.UUID(marge)))["emails"] == ["marge@example.com"]


async def _current(account: Account) -> Any:
    from app.accounts.services import load_current

    return await load_current(account.user_id, account.tenant_id)


@pytest.mark.every_workspace
async def test_old_values_are_upgraded_by_a_resumable_job(
    tenant_a: Account, tenant_b: Account, monkeypatch: Any
) -> None:
    """Rows written before bindings (enc1, as the first encryption migration wrote them) still
    read; the rotation job rewrites them bound to their rows, and a run that dies half way is
    finished by the next one."""
    from app.crm.secure import open_contact, seal_contact

    ids: dict[uuid.UUID, uuid.UUID] = {}
    for account in (tenant_a, tenant_b):
        async with tenant_transaction(account.tenant_id) as conn:
            for n in range(5):
                contact_id = uuid.uuid4()
                await conn.execute(
                    "insert into contacts (id, tenant_id, first_name, emails_enc, emails_bidx,"
                    " phones_enc, phones_bidx) values ($1, $2, $3, $4, $5, $6, $7)",
                    contact_id,
                    account.tenant_id,
                    f"Old{n}",
                    *seal_contact([f"old{n}@example.com"], []),  # unbound: enc1
                )
                ids[contact_id] = account.tenant_id
    for contact_id, tenant_id in ids.items():  # legacy values read fine
        async with tenant_transaction(tenant_id) as conn:
            row = await conn.fetchrow("select * from contacts where id = $1", contact_id)
        assert row["emails_enc"][0].startswith("enc1:")
        assert open_contact(row)["emails"][0].startswith("old")
    column = crypto.EncryptedColumn("contacts", "emails_enc", is_array=True)
    real_batch = rotation._rotate_batch
    calls = {"n": 0}

    async def dies_after_two(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > 2:
            raise RuntimeError("worker killed")
        return await real_batch(*args)

    monkeypatch.setattr(rotation, "_rotate_batch", dies_after_two)
    with pytest.raises(RuntimeError):
        await rotation.rotate_column(column, batch=2)
    monkeypatch.setattr(rotation, "_rotate_batch", real_batch)
    await rotation.rotate_field_keys(None, batch=2)
    for contact_id, tenant_id in ids.items():
        async with tenant_transaction(tenant_id) as conn:
            row = await conn.fetchrow("select * from contacts where id = $1", contact_id)
        assert all(crypto.is_bound(v) for v in row["emails_enc"]), row["emails_enc"]
        assert open_contact(row)["emails"][0].startswith("old")
    assert await rotation.rotate_column(column) == 0  # done: nothing left to upgrade


def test_decrypt_joined_opens_as_decrypt_list_does() -> None:
    """The export pool's reader of COPY's bytes: lists joined by "; ", empty lists, enc1
    values, and a value moved to another row or altered refused as decrypt_text refuses it."""
    tenant, row, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    binding = crypto.bind("contacts", "emails_enc", row, tenant)
    values = [crypto.encrypt_text(v, binding=binding) for v in ("a@x.example", "Zoë@x.example")]
    old = crypto.encrypt_text("old@x.example")  # enc1: bound to its key id only
    cells = [
        (" ".join(values).encode(), str(tenant).encode(), str(row).encode()),
        (b"", str(tenant).encode(), str(other).encode()),
        (old.encode(), str(tenant).encode(), str(other).encode()),
    ]
    opened = crypto.decrypt_joined(cells, "contacts", "emails_enc", crypto.key_ring())
    assert opened == ["a@x.example; Zoë@x.example".encode(), b"", b"old@x.example"]
    moved = [(values[0].encode(), str(tenant).encode(), str(other).encode())]
    altered = [(values[0][:-2].encode() + b"AA", str(tenant).encode(), str(row).encode())]
    for bad in (moved, altered):
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt_joined(bad, "contacts", "emails_enc", crypto.key_ring())
