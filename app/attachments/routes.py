"""Attachment pages: a record's file list (an htmx block on the record page), the streamed
upload, downloads and thumbnails (decrypted as they stream), and delete."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path
from typing import IO
from uuid import UUID

from litestar import Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Stream

from app.accounts.deps import routes_at
from app.accounts.schemas import Current
from app.attachments import services
from app.attachments.sniff import OCTET, is_inline
from app.billing.plans import plans
from app.core.access import Level
from app.core.errors import FormInvalid, RecordNotFound, declare_form_page
from app.core.http_types import Req
from app.core.web import CSRF_HEADER, content_disposition, get_session, redirect, render
from app.crm.upload import UploadMalformed, UploadTooLarge

# the largest file any plan takes: the server refuses bodies beyond it before reading them
BODY_LIMIT = max(p.attachment_max_bytes for p in plans().values()) + services.MULTIPART_SLACK
LIST_TEMPLATE = "attachments/_list.html"


def _check_type(subject_type: str) -> None:
    if subject_type not in services.RECORD_PATHS:
        raise RecordNotFound("record")


async def _list(
    request: Req,
    current: Current,
    subject_type: str,
    subject_id: UUID,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response[str]:
    rows = await services.list_attachments(current, subject_type, subject_id)
    ctx = {
        "attachments": rows,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "record_path": services.record_path(subject_type, subject_id),
        "errors": errors or {},
    }
    return render(request, LIST_TEMPLATE, ctx, block="attachments", status=status)


@get("/records/{subject_type:str}/{subject_id:uuid}/attachments")
async def attachment_list(
    request: Req, current: Current, subject_type: str, subject_id: UUID
) -> Response[str]:
    _check_type(subject_type)
    return await _list(request, current, subject_type, subject_id)


async def _refused(
    request: Req, current: Current, subject_type: str, subject_id: UUID, refused: FormInvalid
) -> Response[str]:
    return await _list(request, current, subject_type, subject_id, refused.errors, refused.status)


def _from_form(request: Req) -> services.Receiver:
    async def receive(path: Path, limit: int) -> str:
        upload = (await request.form()).get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise UploadMalformed("Choose a file to attach.")
        await asyncio.to_thread(_copy_limited, upload.file, path, limit)
        return upload.filename

    return receive


def _copy_limited(source: IO[bytes], path: Path, limit: int) -> None:
    size = 0
    with path.open("wb") as out:
        while chunk := source.read(1024 * 1024):
            size += len(chunk)
            if size > limit:
                raise UploadTooLarge()
            out.write(chunk)


@post(
    "/records/{subject_type:str}/{subject_id:uuid}/attachments",
    request_max_body_size=BODY_LIMIT,
)
async def attachment_upload(
    request: Req, current: Current, subject_type: str, subject_id: UUID
) -> Response[str]:
    _check_type(subject_type)
    declare_form_page(request, partial(_refused, request, current, subject_type, subject_id))
    declared = request.headers.get("content-length", "")
    # the CSRF check read a form whose token came in the body (a browser without JavaScript):
    # the body is parsed already, so the file comes from the parsed form
    parsed = not request.headers.get(CSRF_HEADER)
    row = await services.upload_attachment(
        current,
        subject_type,
        subject_id,
        request.headers.get("content-type", ""),
        request.stream(),
        int(declared) if declared.isdigit() else None,
        _from_form(request) if parsed else None,
    )
    get_session(request).flash("success", f"Attached {row.file_name}.")
    if request.headers.get("hx-request") == "true":
        return await _list(request, current, subject_type, subject_id)
    return redirect(request, services.record_path(subject_type, subject_id))


def _download_headers(name: str, content_type: str, inline: bool) -> dict[str, str]:
    # a file is never a page of ours: nothing in it may run or load anything (browsers' PDF
    # viewers refuse to open in a sandbox, so a PDF gets the rest of the policy only)
    policy = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    return {
        "Content-Disposition": content_disposition(name, "inline" if inline else "attachment"),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        "Content-Security-Policy": policy
        + ("" if content_type == "application/pdf" else "; sandbox"),
    }


async def _send(current: Current, attachment_id: UUID, inline: bool) -> Stream:
    row = await services.get_attachment(current, attachment_id)
    inline = inline and is_inline(row.content_type)
    body = await services.open_part(current.tenant_id, attachment_id, "file", row.stored_in)
    media_type = row.content_type if inline or row.content_type.startswith("text/") else OCTET
    if media_type.startswith("text/"):
        media_type += "; charset=utf-8"
    headers = _download_headers(row.file_name, row.content_type, inline)
    headers["Content-Length"] = str(row.size_bytes)
    return Stream(body, media_type=media_type, headers=headers)


@get("/attachments/{attachment_id:uuid}")
async def attachment_view(current: Current, attachment_id: UUID) -> Stream:
    """Shown in the browser when it is an image or a PDF; downloaded otherwise."""
    return await _send(current, attachment_id, inline=True)


@get("/attachments/{attachment_id:uuid}/download")
async def attachment_download(current: Current, attachment_id: UUID) -> Stream:
    return await _send(current, attachment_id, inline=False)


@get("/attachments/{attachment_id:uuid}/thumbnail")
async def attachment_thumbnail(current: Current, attachment_id: UUID) -> Stream:
    row = await services.get_attachment(current, attachment_id)
    if not row.has_thumbnail:
        raise RecordNotFound("thumbnail")
    body = await services.open_part(current.tenant_id, attachment_id, "thumbnail", row.stored_in)
    headers = _download_headers(f"{row.file_name}.png", "image/png", True)
    return Stream(body, media_type="image/png", headers=headers)


@post("/attachments/{attachment_id:uuid}/delete")
async def attachment_delete(request: Req, current: Current, attachment_id: UUID) -> Response[str]:
    row = await services.delete_attachment(current, attachment_id)
    get_session(request).flash("info", f"Deleted the file {row.file_name}.")
    if request.headers.get("hx-request") == "true":
        return await _list(request, current, row.subject_type, row.subject_id)
    return redirect(request, services.record_path(row.subject_type, row.subject_id))


ROUTES = [
    routes_at(
        Level.MEMBER,
        [
            attachment_list,
            attachment_upload,
            attachment_view,
            attachment_download,
            attachment_thumbnail,
            attachment_delete,
        ],
    )
]
