"""Files encrypted at rest with the field key ring (app/core/crypto.py): AES-256-GCM in
authenticated segments, each bound to where the file belongs.

Layout (integers big-endian): ``b"ODEXF1" | key id length u8 | key id | nonce prefix (7 random
bytes) | segment size u32``, then the segments, each ``segment size`` bytes of plaintext (the
last one shorter, possibly empty) sealed with a 16-byte tag. A segment's nonce is ``prefix |
index u32 | last flag u8``; its associated data is the header plus the `Binding`'s (tenant,
table, column, row id), so a file copied to another row or workspace, reordered, cut short or
altered fails to open. Segments let uploads and downloads stream: nothing holds a whole file.

The key id in the header picks the key from FIELD_KEYS; the field rotation job does not rewrite
files, so keep a retired key in the ring while files still name it.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.core.crypto import Binding, DecryptionError, key_ring

MAGIC = b"ODEXF1"
SEGMENT = 64 * 1024
TAG = 16
_TAIL = struct.Struct(">7sI")


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", index, int(last))


def _read(source: IO[bytes], size: int) -> bytes:
    """Exactly `size` bytes unless the stream ends first (streams may return short reads)."""
    data = bytearray()
    while len(data) < size:
        part = source.read(size - len(data))
        if not part:
            break
        data += part
    return bytes(data)


def encrypt_file(source: Path, target: Path, binding: Binding) -> int:
    """Encrypt `source` into `target` (created 0600) under the newest key; the bytes written."""
    kid, key = key_ring().keys[0]
    header = MAGIC + bytes([len(kid)]) + kid.encode() + _TAIL.pack(os.urandom(7), SEGMENT)
    aad = header + binding.aad(kid)
    aead, prefix = AESGCM(key), header[-_TAIL.size : -4]
    written = 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with source.open("rb") as plain, os.fdopen(fd, "wb") as out:
        out.write(header)
        written += len(header)
        index, segment = 0, _read(plain, SEGMENT)
        while True:
            following = _read(plain, SEGMENT) if len(segment) == SEGMENT else b""
            last = not following
            sealed = aead.encrypt(_nonce(prefix, index, last), segment, aad)
            out.write(sealed)
            written += len(sealed)
            if last:
                return written
            index, segment = index + 1, following


def decrypt_segments(source: IO[bytes], binding: Binding) -> Iterator[bytes]:
    """The plaintext of an encrypted file, segment by segment, each checked before it is
    given out; DecryptionError for a foreign, altered or truncated file (possibly after some
    segments: a download then ends early instead of delivering bad bytes)."""
    head = _read(source, len(MAGIC) + 1)
    if len(head) != len(MAGIC) + 1 or head[: len(MAGIC)] != MAGIC:
        raise DecryptionError("not an encrypted Odex file")
    kid_bytes = _read(source, head[-1])
    tail = _read(source, _TAIL.size)
    if len(tail) != _TAIL.size:
        raise DecryptionError("the encrypted file is cut short")
    prefix, size = _TAIL.unpack(tail)
    kid = kid_bytes.decode("ascii", "replace")
    key = key_ring().get(kid)
    if key is None or not 0 < size <= 16 * SEGMENT:
        raise DecryptionError(f"key {kid!r} is not in FIELD_KEYS, or the header is damaged")
    aad = head + kid_bytes + tail + binding.aad(kid)
    aead, index = AESGCM(key), 0
    current = _read(source, size + TAG)
    while True:
        following = _read(source, size + TAG) if len(current) == size + TAG else b""
        last = not following
        try:
            yield aead.decrypt(_nonce(prefix, index, last), current, aad)
        except InvalidTag as exc:
            raise DecryptionError(f"segment {index} of the file was altered or cut") from exc
        if last:
            return
        index, current = index + 1, following


def key_id_of_file(source: IO[bytes]) -> str | None:
    """The key id an encrypted file names in its header (None: not one of ours)."""
    head = _read(source, len(MAGIC) + 1)
    if len(head) != len(MAGIC) + 1 or head[: len(MAGIC)] != MAGIC:
        return None
    return _read(source, head[-1]).decode("ascii", "replace")
