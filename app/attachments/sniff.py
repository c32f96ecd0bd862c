"""What a file is, read from its first bytes (magic numbers), never from the browser's word.

Executables, scripts, HTML, SVG and other markup a browser might run are refused outright.
Anything else that no rule recognises is kept as ``application/octet-stream`` and only ever
downloaded, never shown in the browser.
"""

from __future__ import annotations

import re

HEAD_BYTES = 8192  # what sniffing reads of a file
OCTET = "application/octet-stream"
# shown in the browser (inline); everything else downloads as an attachment
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})
THUMBNAIL_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


class RefusedFile(ValueError):
    """A kind of file we do not keep (its message says which, for the person uploading)."""


_EXECUTABLE = (
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a Linux program"),
    (b"\xfe\xed\xfa\xce", "a macOS program"),
    (b"\xfe\xed\xfa\xcf", "a macOS program"),
    (b"\xce\xfa\xed\xfe", "a macOS program"),
    (b"\xcf\xfa\xed\xfe", "a macOS program"),
    (b"\xca\xfe\xba\xbe", "a macOS or Java program"),
    (b"#!", "a script"),
    (b"\x00asm", "a WebAssembly program"),
    (b"dex\n", "an Android program"),
)
_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/vnd.ms-office"),
    (b"\x1f\x8b", "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"ID3", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
    (b"{\\rtf", "application/rtf"),
)
_ZIP_KINDS = (
    (b"word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (b"xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (b"ppt/", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
)
_ODF = re.compile(
    rb"^mimetypeapplication/vnd\.oasis\.opendocument\.(text|spreadsheet|presentation)"
)
# markup a browser would render or run, near the start of a "text" file
_MARKUP = re.compile(rb"<\s*(!doctype|html|head|body|script|svg|iframe|\?xml)", re.IGNORECASE)


def sniff(head: bytes, file_name: str) -> str:
    """The content type of a file from its first bytes (`HEAD_BYTES` of them); RefusedFile
    for executables and markup. `file_name` only tells CSV from other plain text."""
    for magic, what in _EXECUTABLE:
        if head.startswith(magic):
            raise RefusedFile(f"This file is {what}; programs and scripts can't be attached.")
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"PK\x03\x04"):
        return _zip_type(head)
    text = _as_text(head)
    if text is None:
        return OCTET
    if _MARKUP.search(head[:1024]) or text.lstrip("\ufeff \t\r\n").startswith("<"):
        raise RefusedFile(
            "Web pages, SVG and other markup can't be attached (a browser runs them)."
        )
    return "text/csv" if file_name.lower().endswith((".csv", ".tsv")) else "text/plain"


def _zip_type(head: bytes) -> str:
    odf = _ODF.match(head[30:])
    if odf:
        return "application/vnd.oasis.opendocument." + odf.group(1).decode()
    for folder, content_type in _ZIP_KINDS:
        if folder in head:
            return content_type
    return "application/zip"


def _as_text(head: bytes) -> str | None:
    """The head as text when it is UTF-8 (a sequence cut at the end allowed) without NULs or
    other binary control bytes; None for binary."""
    if b"\x00" in head:
        return None
    for cut in range(4):
        try:
            text = head[: len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        if any(ord(c) < 0x20 and c not in "\t\n\r\f" for c in text):
            return None
        return text
    return None


def is_inline(content_type: str) -> bool:
    """May the browser show it (images, PDF) rather than only download it?"""
    return content_type in INLINE_TYPES
