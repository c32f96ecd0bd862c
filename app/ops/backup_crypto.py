"""The encrypted backup file format: AES-256-GCM in authenticated chunks (the STREAM scheme).

Layout of an `.odexbak` file (all integers big-endian):

    header (28 bytes)  magic b"ODEXBAK1" | version u8 = 1 | key id (8 bytes) |
                       nonce prefix (7 random bytes) | chunk size u32
    chunks             AES-256-GCM(plaintext chunk) + 16-byte tag, each `chunk size` bytes of
                       plaintext except the last, which is shorter (possibly empty)

Each chunk's 12-byte nonce is `prefix (7) | chunk index u32 | last flag u8`, so nonces never
repeat within a file (the prefix is random per file), and the whole header is the associated
data of every chunk. A flipped bit fails that chunk's tag; reordered or dropped chunks fail
(the index is in the nonce); a truncated file fails (no chunk carries the last flag). The key
id is the first 8 bytes of SHA-256 of the key: it names the key without revealing it, so a
restore can pick the right key from the current and old ones.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from collections.abc import Iterable, Iterator
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"ODEXBAK1"
VERSION = 1
HEADER = struct.Struct(">8sB8s7sI")
CHUNK_SIZE = 1024 * 1024
TAG_SIZE = 16


class BackupCorrupt(Exception):
    """The file is not an intact Odex backup (tampered, truncated, or not one at all)."""


class BackupKeyMissing(Exception):
    """The file was encrypted with a key that is neither BACKUP_KEY nor in BACKUP_OLD_KEYS."""


def decode_key(value: str) -> bytes:
    """A base64 setting to 32 key bytes (AES-256); anything else is a configuration error."""
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except ValueError as exc:
        raise ValueError("backup keys must be base64") from exc
    if len(key) != 32:
        raise ValueError("backup keys must be 32 bytes (AES-256), base64-encoded")
    return key


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:8]


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", index, 1 if last else 0)


def encrypt_stream(
    source: IO[bytes], target: IO[bytes], key: bytes, chunk_size: int = CHUNK_SIZE
) -> tuple[int, str]:
    """Encrypt `source` into `target`; return the encrypted size and its SHA-256 (hex)."""
    header = HEADER.pack(MAGIC, VERSION, key_id(key), os.urandom(7), chunk_size)
    prefix = header[17:24]
    aead = AESGCM(key)
    digest = hashlib.sha256(header)
    target.write(header)
    size = len(header)
    index = 0
    chunk = _read_full(source, chunk_size)
    while True:
        following = _read_full(source, chunk_size) if len(chunk) == chunk_size else b""
        last = len(chunk) < chunk_size or not following
        sealed = aead.encrypt(_nonce(prefix, index, last), chunk, header)
        target.write(sealed)
        digest.update(sealed)
        size += len(sealed)
        if last:
            return size, digest.hexdigest()
        chunk, index = following, index + 1


def decrypt_stream(source: IO[bytes], target: IO[bytes], keys: Iterable[bytes]) -> None:
    """Decrypt and verify every chunk of `source` into `target`; raise if anything is off.

    `target` receives plaintext chunk by chunk, so callers write it to a scratch file and use
    it only once this returns (a failure can come after some chunks were written).
    """
    header = source.read(HEADER.size)
    if len(header) != HEADER.size:
        raise BackupCorrupt("the file is too short to be an Odex backup")
    magic, version, kid, prefix, chunk_size = HEADER.unpack(header)
    if magic != MAGIC or version != VERSION or not 0 < chunk_size <= 64 * CHUNK_SIZE:
        raise BackupCorrupt("the file is not an Odex backup (bad header)")
    key = next((k for k in keys if key_id(k) == kid), None)
    if key is None:
        raise BackupKeyMissing(
            "the backup was made with another key: set it in BACKUP_KEY or BACKUP_OLD_KEYS"
        )
    aead = AESGCM(key)
    for index, sealed, last in _chunks(source, chunk_size + TAG_SIZE):
        try:
            target.write(aead.decrypt(_nonce(prefix, index, last), sealed, header))
        except InvalidTag as exc:
            raise BackupCorrupt(
                f"chunk {index} failed its authentication tag: the file was altered or cut short"
            ) from exc


def _chunks(source: IO[bytes], sealed_size: int) -> Iterator[tuple[int, bytes, bool]]:
    index = 0
    current = _read_full(source, sealed_size)
    while True:
        following = _read_full(source, sealed_size) if len(current) == sealed_size else b""
        last = not following
        yield index, current, last
        if last:
            return
        current, index = following, index + 1


def _read_full(source: IO[bytes], size: int) -> bytes:
    """Read exactly `size` bytes unless the stream ends first (pipes return short reads)."""
    parts: list[bytes] = []
    remaining = size
    while remaining:
        part = source.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)
