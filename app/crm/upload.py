"""Streaming multipart upload: the file part goes straight to disk, with a hard size limit."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header

if TYPE_CHECKING:  # a TypedDict the parser declares for type checkers only
    from python_multipart.multipart import MultipartCallbacks

FIELD_LIMIT = 64 * 1024  # text fields of the upload form are tiny


class UploadTooLarge(Exception):
    """The file is bigger than the limit (the partial file has been removed)."""


class UploadMalformed(Exception):
    """The request was not a multipart form with a file."""


@dataclass
class Upload:
    fields: dict[str, str] = field(default_factory=dict)
    filename: str = ""
    size: int = 0


@dataclass
class _Part:
    """The multipart part being read: its headers, its field name, and the file or the text
    it fills."""

    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: str = ""
    file: BinaryIO | None = None
    buf: bytearray = field(default_factory=bytearray)


async def receive_upload(
    content_type: str,
    chunks: AsyncIterator[bytes],
    file_field: str,
    target: Path,
    max_bytes: int,
) -> Upload:
    """Parse a multipart body from `chunks`, writing the `file_field` part to `target`.

    Nothing of the file is held in memory beyond one chunk; past `max_bytes` the partial file
    is deleted and UploadTooLarge raised.
    """
    mime, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if mime != b"multipart/form-data" or not boundary:
        raise UploadMalformed("Send the file with the upload form (multipart/form-data).")
    result = Upload()
    state = _Part()
    header_field = bytearray()
    header_value = bytearray()
    target.parent.mkdir(parents=True, exist_ok=True)
    out: BinaryIO | None = None

    def on_part_begin() -> None:
        state.headers = {}
        state.buf = bytearray()
        state.name = ""
        state.file = None

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        state.headers[bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        nonlocal out
        disposition = state.headers.get(b"content-disposition", b"")
        _, opts = parse_options_header(disposition)
        name = opts.get(b"name", b"").decode("utf-8", "replace")
        state.name = name
        if name == file_field and b"filename" in opts:
            result.filename = opts[b"filename"].decode("utf-8", "replace")[:300]
            out = open(target, "wb")  # noqa: SIM115 - closed in on_part_end / finally
            state.file = out

    def on_part_data(data: bytes, start: int, end: int) -> None:
        handle = state.file
        if handle is not None:
            result.size += end - start
            if result.size > max_bytes:
                raise UploadTooLarge()
            handle.write(data[start:end])
        else:
            buf = state.buf
            if len(buf) + end - start > FIELD_LIMIT:
                raise UploadMalformed("A form field is too long.")
            buf.extend(data[start:end])

    def on_part_end() -> None:
        nonlocal out
        if state.file is not None:
            state.file.close()
            state.file = None
            out = None
        elif state.name:
            result.fields[state.name] = bytes(state.buf).decode("utf-8", "replace")

    callbacks: MultipartCallbacks = {
        "on_part_begin": on_part_begin,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished,
    }
    parser = MultipartParser(boundary, callbacks)
    try:
        async for chunk in chunks:
            parser.write(chunk)
        parser.finalize()
    except UploadTooLarge:
        _discard(out, target)
        raise
    except UploadMalformed:
        _discard(out, target)
        raise
    except Exception as exc:  # the parser's own errors: a broken or truncated body
        _discard(out, target)
        raise UploadMalformed("The upload was cut off or malformed. Try again.") from exc
    if out is not None:
        out.close()
    if not result.filename:
        _discard(None, target)
        raise UploadMalformed("Choose a CSV file to upload.")
    return result


def _discard(handle: BinaryIO | None, target: Path) -> None:
    if handle is not None:
        handle.close()
    if target.exists():
        os.unlink(target)
