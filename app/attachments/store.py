"""Where attachments' bytes live: one directory per workspace under the data dir
(``attachments/<tenant id>/``), or, when ATTACHMENTS_S3_BUCKET is set, one key prefix per
workspace in that S3-compatible bucket (``<ATTACHMENTS_S3_PREFIX><tenant id>/``); either way
written through the storage-target interface backups use (app/core/storage.py). Uploads'
plaintext scratch files stay on local disk (``attachments/.incoming``). Each file is
encrypted (app/core/filecrypt.py) and bound to its tenant, attachment id and part ("file" or
"thumbnail"), not to where it is kept, so moving a file copies its bytes as they are. Each
attachment row says where its bytes are (`stored_in`, app/attachments/relocate.py moves them).
Stored names are made from ids only: nothing a person typed reaches a path.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from uuid import UUID

from app.core.crypto import Binding, bind
from app.core.datamap import data_dir
from app.core.filecrypt import decrypt_segments, encrypt_file
from app.core.storage import DirectoryTarget, S3Client, S3Target, StorageTarget, s3_client
from app.settings import get_settings

THUMBNAIL_PX = 256
MAX_IMAGE_PIXELS = 40_000_000  # larger images get no thumbnail (decompression bombs)
PARTS = ("file", "thumbnail")


def root() -> Path:
    return data_dir() / "attachments"


@functools.cache
def _client(endpoint: str, region: str) -> S3Client:
    return s3_client(endpoint, region)  # one per process (boto3 clients are thread-safe)


DIR = "dir"  # the data dir's place; a bucket's is "s3:<bucket>/<prefix>"


def here() -> str:
    """Where new files go now (an attachment row's `stored_in`): ATTACHMENTS_S3_BUCKET under
    ATTACHMENTS_S3_PREFIX when that is set, else the data dir."""
    settings = get_settings()
    if settings.attachments_s3_bucket:
        return f"s3:{settings.attachments_s3_bucket}/{settings.attachments_s3_prefix}"
    return DIR


def known_places() -> list[str]:
    """Every place files may be in: where they go now, the data dir, the former bucket."""
    settings = get_settings()
    found = [here(), DIR]
    if settings.attachments_s3_former_bucket:
        prefix = settings.attachments_s3_former_prefix or settings.attachments_s3_prefix
        found.append(f"s3:{settings.attachments_s3_former_bucket}/{prefix}")
    return list(dict.fromkeys(found))


def place(location: str, tenant_id: UUID) -> StorageTarget:
    """A workspace's store in one place (a bucket's on the attachments' endpoint)."""
    if not location.startswith("s3:"):
        return DirectoryTarget(root() / str(tenant_id))
    bucket, _, prefix = location.removeprefix("s3:").partition("/")
    settings = get_settings()
    endpoint = settings.attachments_s3_endpoint or settings.backup_s3_endpoint
    region = settings.attachments_s3_region or settings.backup_s3_region
    return S3Target(bucket, f"{prefix}{tenant_id}/", client=_client(endpoint, region))


def target(tenant_id: UUID) -> StorageTarget:
    """The workspace's store where new files go (see `here`)."""
    return place(here(), tenant_id)


def places_of(stored_in: str | None) -> list[str]:
    """Where to look for a file: where its row says first (NULL: stored before rows said),
    then every other known place (it may have just been moved from there)."""
    first = [stored_in] if stored_in else []
    return list(dict.fromkeys([*first, *known_places()]))


def scratch_path(tenant_id: UUID) -> Path:
    """A fresh name for an upload's plaintext while it is received and checked (deleted at
    the end of the request; `expire_scratch` sweeps what a crash left)."""
    folder = root() / ".incoming" / str(tenant_id)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder / f"{uuid.uuid4()}.part"


def part_name(attachment_id: UUID, part: str) -> str:
    """The stored name of an attachment's part: `<id>.bin`, `<id>.thumb`."""
    return f"{attachment_id}.{'bin' if part == 'file' else 'thumb'}"


def _binding(tenant_id: UUID, attachment_id: UUID, part: str) -> Binding:
    return bind("attachments", part, attachment_id, tenant_id)


def save(tenant_id: UUID, attachment_id: UUID, part: str, plaintext: Path) -> None:
    """Encrypt `plaintext` and store it as the attachment's `part` (blocking: run in a thread)."""
    sealed = plaintext.with_suffix(".sealed")
    try:
        encrypt_file(plaintext, sealed, _binding(tenant_id, attachment_id, part))
        target(tenant_id).put(part_name(attachment_id, part), sealed)
    finally:
        sealed.unlink(missing_ok=True)


def _open(tenant_id: UUID, name: str, stored_in: str | None) -> IO[bytes]:
    for location in places_of(stored_in):
        try:
            return place(location, tenant_id).open_read(name)
        except FileNotFoundError:
            continue
    raise FileNotFoundError(name)


def read(
    tenant_id: UUID, attachment_id: UUID, part: str = "file", stored_in: str | None = None
) -> Iterator[bytes]:
    """The plaintext of a stored part, segment by segment, from where its row says it is
    (`stored_in`; blocking: iterate in a thread). FileNotFoundError when it is not stored;
    DecryptionError when it fails its check."""
    handle = _open(tenant_id, part_name(attachment_id, part), stored_in)
    with handle:
        yield from decrypt_segments(handle, _binding(tenant_id, attachment_id, part))


def remove(tenant_id: UUID, attachment_id: UUID) -> None:
    """Delete the file and its thumbnail, wherever they are (missing ones are fine)."""
    for location in known_places():
        store = place(location, tenant_id)
        for part in PARTS:
            store.delete(part_name(attachment_id, part))


def remove_workspace(tenant_id: UUID) -> int:
    """Delete every stored file of a workspace, in every place (and its scratch files); how
    many there were."""
    count = 0
    for location in known_places():
        store = place(location, tenant_id)
        names = store.names()
        for name in names:
            store.delete(name)
        count += len(names)
    for folder in (root() / str(tenant_id), root() / ".incoming" / str(tenant_id)):
        if folder.exists():
            count += sum(1 for p in folder.iterdir() if p.is_file())
            shutil.rmtree(folder, ignore_errors=True)
    return count


def stored_names(tenant_id: UUID) -> list[str]:
    """The names held in a workspace's stores (for the deletion report's check)."""
    return sorted({n for loc in known_places() for n in place(loc, tenant_id).names()})


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
        with store.open_read(part_name(attachment_id, part)) as handle:
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


# ---- moving files between places (app/attachments/relocate.py) ---------------------------


class CopyMismatch(RuntimeError):
    """A copy read back from its destination differs from its source (size or SHA-256)."""


def _digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return path.stat().st_size, digest.hexdigest()


def copy_part(
    tenant_id: UUID, attachment_id: UUID, part: str, sources: list[str], dest: str
) -> str | None:
    """Copy a stored part as it is (still encrypted) from the first of `sources` holding it
    to `dest`, then read it back from there and compare size and SHA-256: the place it came
    from, or None when no source holds it. CopyMismatch when the copy differs. Blocking."""
    name = part_name(attachment_id, part)
    got, back = scratch_path(tenant_id), scratch_path(tenant_id)
    try:
        for location in sources:
            try:
                place(location, tenant_id).fetch(name, got)
            except FileNotFoundError:
                continue
            there = place(dest, tenant_id)
            there.put(name, got)
            there.fetch(name, back)
            if _digest(back) != _digest(got):
                raise CopyMismatch(f"{there.label}{name} differs from its source")
            return location
        return None
    finally:
        got.unlink(missing_ok=True)
        back.unlink(missing_ok=True)


def holds(location: str, tenant_id: UUID, attachment_id: UUID, part: str) -> bool:
    """Is the part stored in `location`?"""
    try:
        place(location, tenant_id).open_read(part_name(attachment_id, part)).close()
    except FileNotFoundError:
        return False
    return True


def delete_part(location: str, tenant_id: UUID, attachment_id: UUID, part: str) -> None:
    place(location, tenant_id).delete(part_name(attachment_id, part))


def remove_moved(tenant_id: UUID, dest: str, moved: set[UUID]) -> int:
    """Delete, from every place but `dest`, the copies of parts that `dest` holds and whose
    rows say `dest` (left behind by a move stopped between its row and its source); how many.
    Blocking."""
    held = set(place(dest, tenant_id).names())
    removed = 0
    for location in known_places():
        if location == dest:
            continue
        store = place(location, tenant_id)
        for name in store.names():
            try:
                attachment_id = UUID(name.split(".", 1)[0])
            except ValueError:
                continue
            if attachment_id in moved and name in held:
                store.delete(name)
                removed += 1
    return removed
