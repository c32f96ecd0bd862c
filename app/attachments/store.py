"""Where attachments' bytes live: one directory per workspace under the data dir
(``attachments/<tenant id>/``), or, when ATTACHMENTS_S3_BUCKET is set, one key prefix per
workspace in that S3-compatible bucket (``<ATTACHMENTS_S3_PREFIX><tenant id>/``); either way
written through the storage-target interface backups use (app/core/storage.py). Uploads'
plaintext scratch files stay on local disk (``attachments/.incoming``). Each file is
encrypted (app/core/filecrypt.py) and bound to its tenant, attachment id and part ("file" or
"thumbnail"). Stored names are made from ids only: nothing a person typed reaches a path.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

from app.core.crypto import Binding, bind
from app.core.datamap import data_dir
from app.core.filecrypt import decrypt_segments, encrypt_file
from app.core.storage import DirectoryTarget, S3Target, StorageTarget, s3_client
from app.settings import get_settings

THUMBNAIL_PX = 256
MAX_IMAGE_PIXELS = 40_000_000  # larger images get no thumbnail (decompression bombs)
PARTS = ("file", "thumbnail")


def root() -> Path:
    return data_dir() / "attachments"


@functools.cache
def _client(endpoint: str, region: str) -> Any:
    return s3_client(endpoint, region)  # one per process (boto3 clients are thread-safe)


def target(tenant_id: UUID) -> StorageTarget:
    """The workspace's store: its prefix in ATTACHMENTS_S3_BUCKET when that is set, else a
    directory under the data dir."""
    settings = get_settings()
    if settings.attachments_s3_bucket:
        endpoint = settings.attachments_s3_endpoint or settings.backup_s3_endpoint
        region = settings.attachments_s3_region or settings.backup_s3_region
        return S3Target(
            settings.attachments_s3_bucket,
            f"{settings.attachments_s3_prefix}{tenant_id}/",
            client=_client(endpoint, region),
        )
    return DirectoryTarget(root() / str(tenant_id))


def scratch_path(tenant_id: UUID) -> Path:
    """A fresh name for an upload's plaintext while it is received and checked (deleted at
    the end of the request; `expire_scratch` sweeps what a crash left)."""
    folder = root() / ".incoming" / str(tenant_id)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder / f"{uuid.uuid4()}.part"


def _name(attachment_id: UUID, part: str) -> str:
    return f"{attachment_id}.{'bin' if part == 'file' else 'thumb'}"


def _binding(tenant_id: UUID, attachment_id: UUID, part: str) -> Binding:
    return bind("attachments", part, attachment_id, tenant_id)


def save(tenant_id: UUID, attachment_id: UUID, part: str, plaintext: Path) -> None:
    """Encrypt `plaintext` and store it as the attachment's `part` (blocking: run in a thread)."""
    sealed = plaintext.with_suffix(".sealed")
    try:
        encrypt_file(plaintext, sealed, _binding(tenant_id, attachment_id, part))
        target(tenant_id).put(_name(attachment_id, part), sealed)
    finally:
        sealed.unlink(missing_ok=True)


def read(tenant_id: UUID, attachment_id: UUID, part: str = "file") -> Iterator[bytes]:
    """The plaintext of a stored part, segment by segment (blocking: iterate in a thread).
    FileNotFoundError when it is not stored; DecryptionError when it fails its check."""
    handle = target(tenant_id).open_read(_name(attachment_id, part))
    with handle:
        yield from decrypt_segments(handle, _binding(tenant_id, attachment_id, part))


def remove(tenant_id: UUID, attachment_id: UUID) -> None:
    """Delete the file and its thumbnail (missing ones are fine)."""
    store = target(tenant_id)
    for part in PARTS:
        store.delete(_name(attachment_id, part))


def remove_workspace(tenant_id: UUID) -> int:
    """Delete every stored file of a workspace (and its scratch files); how many there were."""
    store = target(tenant_id)
    names = store.names()
    for name in names:
        store.delete(name)
    count = len(names)
    for folder in (root() / str(tenant_id), root() / ".incoming" / str(tenant_id)):
        if folder.exists():
            count += sum(1 for p in folder.iterdir() if p.is_file())
            shutil.rmtree(folder, ignore_errors=True)
    return count


def stored_names(tenant_id: UUID) -> list[str]:
    """The names held in a workspace's store (for the deletion report's check)."""
    return target(tenant_id).names()


def make_thumbnail(tenant_id: UUID, attachment_id: UUID, plaintext: Path) -> bool:
    """Store a small PNG of an image (Pillow); False when it cannot be read as one (or is too
    large to open safely). Blocking: run in a thread."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS  # larger ones raise DecompressionBombError
    thumb = plaintext.with_suffix(".thumb.png")
    try:
        with Image.open(plaintext) as image:
            image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            small: Image.Image = image
            if small.mode not in ("RGB", "RGBA", "L", "LA"):
                small = small.convert("RGBA")
            buffer = io.BytesIO()
            small.save(buffer, "PNG")
        thumb.write_bytes(buffer.getvalue())
        save(tenant_id, attachment_id, "thumbnail", thumb)
        return True
    except Exception:  # any unreadable, truncated or hostile image: simply no thumbnail
        return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            thumb.unlink()


def remove_unknown(tenant_id: UUID, known: set[UUID], before: float) -> int:
    """Delete stored files older than `before` whose attachment row does not exist (a crash
    between the two; younger ones may belong to an upload finishing now)."""
    removed = 0
    store = target(tenant_id)
    for name, written in store.modified().items():
        if written >= before:
            continue
        stem = name.split(".", 1)[0]
        try:
            attachment_id = UUID(stem)
        except ValueError:
            continue
        if attachment_id not in known:
            store.delete(name)
            removed += 1
    return removed


def remove_scratch_before(timestamp: float) -> int:
    """Delete uploads' scratch files older than `timestamp` (left by a crash)."""
    removed = 0
    for path in (root() / ".incoming").glob("*/*"):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < timestamp:
                path.unlink()
                removed += 1
    return removed


def rewrite_under_newest_key(tenant_id: UUID, attachment_id: UUID, part: str) -> bool:
    """Re-encrypt a stored part under the newest FIELD_KEYS key when it names an older one;
    True when it did. Missing parts are skipped. Blocking: run in a thread."""
    from app.core.crypto import key_ring
    from app.core.filecrypt import key_id_of_file

    store = target(tenant_id)
    try:
        with store.open_read(_name(attachment_id, part)) as handle:
            kid = key_id_of_file(handle)
    except FileNotFoundError:
        return False
    if kid is None or kid == key_ring().current_id:
        return False
    plain = scratch_path(tenant_id)
    try:
        fd = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            for segment in read(tenant_id, attachment_id, part):
                out.write(segment)
        save(tenant_id, attachment_id, part, plain)
    finally:
        plain.unlink(missing_ok=True)
    return True
