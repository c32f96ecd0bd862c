"""Field encryption: AES-256-GCM round trip, tamper detection, key ids, blind index, rotation."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest

from app.core.db import global_transaction, tenant_transaction
from app.security import crypto
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
                    crypto.encrypt_text(plain),
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
    assert await crypto.rotate_column(column, batch=2) >= 6
    assert await crypto.rotate_column(column, batch=2) == 0  # nothing left: restartable
    await crypto.rotate_field_keys(None)
    for alert_id, (tenant_id, plain) in rows.items():
        async with tenant_transaction(tenant_id) as conn:
            value = await conn.fetchval(
                "select session_key from security_alerts where id = $1", alert_id
            )
        assert crypto.key_id_of(value) == "rotated"
        assert crypto.decrypt_text(value) == plain
        with pytest.raises(crypto.DecryptionError):  # the old ring cannot read it
            crypto.decrypt_text(value, ring=old)
    async with global_transaction() as conn:
        secret = await conn.fetchval(
            "select secret_enc from user_mfa where user_id = $1", tenant_a.user_id
        )
    assert crypto.key_id_of(secret) == "rotated"
    assert crypto.decrypt_text(secret) == "JBSWY3DPEHPK3PXP"


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
        assert await crypto.rotate_column(column) == 2
        assert await crypto.rotate_column(column) == 0
        for row_id, (tenant_id, plain) in seeded.items():
            async with tenant_transaction(tenant_id) as conn:
                vals = await conn.fetchval("select vals from rotation_probe where id = $1", row_id)
            assert [crypto.key_id_of(v) for v in vals] == ["arr", None, "arr"]
            assert crypto.decrypt_list([v for v in vals if v]) == [plain[0], plain[2]]
    finally:
        await owner_conn.execute("drop table rotation_probe")
