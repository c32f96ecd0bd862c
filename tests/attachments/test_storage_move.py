"""`odex attachments migrate-storage`: every file moves from the data dir (or a former bucket)
into ATTACHMENTS_S3_BUCKET, copied as it is and checked there before its row is switched and
its source deleted; a run stopped half-way is finished by the next one, downloads work
throughout, two workspaces, one run at a time (moto's in-process S3 as the bucket)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest

from app.attachments import relocate, store
from app.core.db import tenant_transaction
from app.core.storage import S3Target
from app.settings import Settings, get_settings
from tests.attachments.test_attachments import attach, ids_on, png_bytes, stored_files
from tests.crm.test_records import make_contact
from tests.helpers import Account

REGION = "us-east-1"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's S3 for the test, with a fresh boto3 client in the store."""
    import boto3
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    store._client.cache_clear()
    with mock_aws():
        yield boto3.client("s3", region_name=REGION)
    store._client.cache_clear()


def configure(monkeypatch: pytest.MonkeyPatch, **values: str) -> Settings:
    configured = msgspec.structs.replace(get_settings(), attachments_s3_region=REGION, **values)
    monkeypatch.setattr(store, "get_settings", lambda: configured)
    return configured


def keys(s3: Any, bucket: str, tenant: Account) -> list[str]:
    prefix = f"odex-attachments/{tenant.tenant_id}/"
    found = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(str(o["Key"])[len(prefix) :] for o in found)


async def upload_files(client: Any, tenant: Account, count: int, images: int) -> dict[str, bytes]:
    """`count` files on a new contact (the first `images` PNGs, which get thumbnails)."""
    contact = await make_contact(client, "Moving", f"Files {tenant.company}")
    sent: dict[str, bytes] = {}
    for index in range(count):
        content = png_bytes((40 + index, 30)) if index < images else os.urandom(3000 + index)
        name = f"f{index}.png" if index < images else f"f{index}.bin"
        assert (await attach(client, f"contact/{contact}", name, content)).status_code == 200
        (newest, *_) = await ids_on(client, f"contact/{contact}")
        sent[newest] = content
    return sent


async def all_downloadable(client: Any, files: dict[str, bytes], images: bool = True) -> None:
    for attachment_id, content in files.items():
        got = await client.get(f"/attachments/{attachment_id}/download")
        assert got.status_code == 200 and got.content == content, attachment_id
        if images and content.startswith(b"\x89PNG"):
            thumb = await client.get(f"/attachments/{attachment_id}/thumbnail")
            assert thumb.status_code == 200 and thumb.content.startswith(b"\x89PNG")


async def places(tenant: Account) -> dict[str | None, int]:
    async with tenant_transaction(tenant.tenant_id) as conn:
        rows = await conn.fetch("select stored_in, count(*) from attachments group by 1")
    return {row["stored_in"]: row["count"] for row in rows}


def bucket_client(tenant: Account) -> Any:
    """The boto3 client the store uses (one for all buckets of the endpoint)."""
    target = store.place(store.here(), tenant.tenant_id)
    assert isinstance(target, S3Target)
    return target.client


def fail_after(
    client: Any, method: str, calls: int, tenants: list[Account], monkeypatch: pytest.MonkeyPatch
) -> Callable[[], None]:
    """The bucket's `method` fails (a network error) after `calls` calls on these workspaces'
    files (the database holds other tests' workspaces too); returns the repair."""
    real: Callable[..., Any] = getattr(client, method)
    seen = {"n": 0}
    ids = [str(t.tenant_id) for t in tenants]

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if any(i in str((args, kwargs)) for i in ids):
            seen["n"] += 1
            if seen["n"] > calls:
                raise ConnectionError("the network went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(client, method, flaky)
    return lambda: monkeypatch.setattr(client, method, real)


async def test_data_dir_to_bucket_stopped_half_way_then_finished(
    client_a: Any,
    client_b: Any,
    tenant_a: Account,
    tenant_b: Account,
    s3: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files_a = await upload_files(client_a, tenant_a, 12, images=3)
    files_b = await upload_files(client_b, tenant_b, 8, images=1)
    assert await places(tenant_a) == {"dir": 12} and await places(tenant_b) == {"dir": 8}
    # files stored before rows said where: NULL, found in the data dir all the same
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute("update attachments set stored_in = null where file_name like 'f1%'")
    sealed = {p.name: p.read_bytes() for p in stored_files(tenant_a.tenant_id)}
    assert len(sealed) == 12 + 3  # files and thumbnails

    bucket = "odex-files-new"
    s3.create_bucket(Bucket=bucket)
    configure(monkeypatch, attachments_s3_bucket=bucket)
    here = store.here()
    assert here == f"s3:{bucket}/odex-attachments/"
    await all_downloadable(client_a, files_a)  # the rows still say the data dir

    # the first run stops with a network error after 9 uploads
    repair = fail_after(
        bucket_client(tenant_a), "upload_file", 9, [tenant_a, tenant_b], monkeypatch
    )
    lines: list[str] = []
    with pytest.raises(ConnectionError):
        await relocate.migrate_attachment_storage({"say": lines.append})
    moved_a, moved_b = await places(tenant_a), await places(tenant_b)
    halfway = moved_a.get(here, 0) + moved_b.get(here, 0)
    assert 0 < halfway < 20
    # nothing lost, nothing in two places: each file is where its row says
    in_bucket = len(keys(s3, bucket, tenant_a)) + len(keys(s3, bucket, tenant_b))
    in_dir = len(stored_files(tenant_a.tenant_id)) + len(stored_files(tenant_b.tenant_id))
    assert in_dir + in_bucket >= 20 + 4
    await all_downloadable(client_a, files_a)
    await all_downloadable(client_b, files_b)

    # the next run finishes (one run at a time: a second one started with it does nothing)
    repair()
    lines.clear()
    results = await asyncio.gather(
        relocate.migrate_attachment_storage({"say": lines.append}),
        relocate.migrate_attachment_storage({"say": lines.append}),
    )
    assert sorted(r is None for r in results) == [False, True]
    done = next(r for r in results if r is not None)
    assert done["moved"] >= 20 - halfway  # and other tests' workspaces' files
    assert f"workspace {tenant_a.tenant_id}: 12/12 files in {here}" in lines
    assert f"workspace {tenant_b.tenant_id}: 8/8 files in {here}" in lines
    assert await places(tenant_a) == {here: 12} and await places(tenant_b) == {here: 8}
    assert stored_files(tenant_a.tenant_id) == [] and stored_files(tenant_b.tenant_id) == []
    assert len(keys(s3, bucket, tenant_a)) == 15 and len(keys(s3, bucket, tenant_b)) == 9
    # the encrypted bytes were copied as they were
    prefix = f"odex-attachments/{tenant_a.tenant_id}/"
    for name, data in sealed.items():
        assert s3.get_object(Bucket=bucket, Key=prefix + name)["Body"].read() == data
    await all_downloadable(client_a, files_a)
    await all_downloadable(client_b, files_b)
    assert (await client_b.get(f"/attachments/{next(iter(files_a))}/download")).status_code == 404

    # once more: nothing left to do
    again = await relocate.migrate_attachment_storage({"say": lines.append})
    assert again is not None and again["moved"] == 0 and again["cleaned"] == 0


async def test_former_bucket_to_new_stopped_between_row_and_source(
    client_a: Any,
    client_b: Any,
    tenant_a: Account,
    tenant_b: Account,
    s3: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old, new = "odex-files-old", "odex-files-new"
    s3.create_bucket(Bucket=old)
    s3.create_bucket(Bucket=new)
    configure(monkeypatch, attachments_s3_bucket=old)
    files_a = await upload_files(client_a, tenant_a, 6, images=1)
    files_b = await upload_files(client_b, tenant_b, 4, images=0)
    assert len(keys(s3, old, tenant_a)) == 7 and len(keys(s3, old, tenant_b)) == 4

    configure(monkeypatch, attachments_s3_bucket=new, attachments_s3_former_bucket=old)
    here = store.here()
    await all_downloadable(client_a, files_a)  # read from the former bucket, as the rows say
    # a new upload goes to the new bucket at once
    (fresh_id, fresh) = next(iter((await upload_files(client_a, tenant_a, 1, 0)).items()))
    assert await places(tenant_a) == {f"s3:{old}/odex-attachments/": 6, here: 1}

    # stopped after switching rows but before deleting their source copies
    repair = fail_after(
        bucket_client(tenant_a), "delete_object", 3, [tenant_a, tenant_b], monkeypatch
    )
    with pytest.raises(ConnectionError):
        await relocate.migrate_attachment_storage({"say": print})
    await all_downloadable(client_a, {**files_a, fresh_id: fresh})
    await all_downloadable(client_b, files_b)

    repair()
    done = await relocate.migrate_attachment_storage({"say": print})
    assert done is not None and done["cleaned"] >= 1
    assert keys(s3, old, tenant_a) == [] and keys(s3, old, tenant_b) == []
    assert len(keys(s3, new, tenant_a)) == 8 and len(keys(s3, new, tenant_b)) == 4
    assert await places(tenant_a) == {here: 7} and await places(tenant_b) == {here: 4}
    await all_downloadable(client_a, {**files_a, fresh_id: fresh})
    await all_downloadable(client_b, files_b)


async def test_the_odex_command_prints_each_workspaces_progress(
    services: dict[str, str], client_a: Any, tenant_a: Account, tenant_b: Account
) -> None:
    """Without a bucket, files stored before rows said where are marked as in the data dir."""
    files = await upload_files(client_a, tenant_a, 2, images=0)
    async with tenant_transaction(tenant_a.tenant_id) as conn:
        await conn.execute("update attachments set stored_in = null")
    env = {**os.environ, **services}
    ran = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "app.cli", "attachments", "migrate-storage"],
        env=env,
        capture_output=True,
        text=True,
    )
    # other tests' workspaces may have files in their (stand-in) buckets: named, exit 1
    assert ran.returncode == 0 or "not configured now" in ran.stdout, ran.stdout + ran.stderr
    assert f"workspace {tenant_a.tenant_id}: 2/2 files in dir" in ran.stdout
    assert f"workspace {tenant_b.tenant_id}: 0/0 files in dir" in ran.stdout
    assert "done: " in ran.stdout
    assert await places(tenant_a) == {"dir": 2}
    await all_downloadable(client_a, files)
