"""CSV import pages: streamed upload, column mapping with preview, live progress, errors."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from uuid import UUID

from litestar import Response, get, post
from litestar.params import Parameter
from litestar.response import Stream

from app.accounts.schemas import Current
from app.core.errors import FormInvalid
from app.core.web import content_disposition, redirect, render
from app.crm import imports
from app.crm.upload import UploadMalformed, UploadTooLarge, receive_upload
from app.crm.web import Req, form_values
from app.settings import get_settings

MULTIPART_SLACK = 1024 * 1024  # room for the form's other fields and part headers


def too_large_message() -> str:
    limit = get_settings().crm_import_max_bytes
    size = f"{limit / 1024**3:g} GB" if limit >= 1024**3 else f"{limit / 1024**2:g} MB"
    return f"That file is larger than {size}, the most we import at once. Split it into parts."


@get("/imports")
async def import_list(request: Req, current: Current) -> Response[str]:
    ctx = {"imports": await imports.recent_imports(current)}
    return render(request, "crm/imports/list.html", ctx)


def _upload_page(
    request: Req, kind: str, errors: dict[str, str], status: int = 200
) -> Response[str]:
    ctx = {"kind": kind if kind in imports.KINDS else "contacts", "kinds": imports.KINDS}
    ctx["errors"] = errors
    return render(request, "crm/imports/upload.html", ctx, status=status)


@get("/imports/new")
async def import_new(
    request: Req, current: Current, kind: str = Parameter(query="kind", default="contacts")
) -> Response[str]:
    return _upload_page(request, kind, {})


@post(
    "/imports",
    request_max_body_size=get_settings().crm_import_max_bytes + MULTIPART_SLACK,
)
async def import_upload(request: Req, current: Current) -> Response[str]:
    limit = get_settings().crm_import_max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + MULTIPART_SLACK:
        return _upload_page(request, "contacts", {"file": too_large_message()}, status=413)
    temp = imports.import_path(current.tenant_id, uuid.uuid4()).with_suffix(".part")
    try:
        upload = await receive_upload(
            request.headers.get("content-type", ""), request.stream(), "file", temp, limit
        )
    except UploadTooLarge:
        return _upload_page(request, "contacts", {"file": too_large_message()}, status=413)
    except UploadMalformed as exc:
        return _upload_page(request, "contacts", {"file": str(exc)}, status=422)
    kind = upload.fields.get("kind", "")
    try:
        import_id = await imports.start_import(current, kind, upload.filename, Path(temp))
    except FormInvalid as exc:
        return _upload_page(request, kind, exc.errors, status=422)
    return redirect(request, f"/imports/{import_id}")


async def _import_page(
    request: Req,
    current: Current,
    import_id: UUID,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
    block: str | None = None,
) -> Response[str]:
    data = await imports.get_import(current, import_id)
    mapping = values if values is not None else {f"col_{k}": t for k, t in data["mapping"].items()}
    ctx: dict[str, Any] = {
        "imp": data,
        "targets": imports.TARGETS[data["kind"]],
        "mapping": mapping,
        "errors": errors or {},
        "preview": imports.preview(data, current) if data["status"] == "uploaded" else [],
        "percent": int(100 * data["rows_done"] / data["total_rows"]) if data["total_rows"] else 0,
    }
    return render(request, "crm/imports/detail.html", ctx, status=status, block=block)


@get("/imports/{import_id:uuid}")
async def import_detail(request: Req, current: Current, import_id: UUID) -> Response[str]:
    return await _import_page(request, current, import_id)


@get("/imports/{import_id:uuid}/progress")
async def import_progress(request: Req, current: Current, import_id: UUID) -> Response[str]:
    return await _import_page(request, current, import_id, block="progress")


@post("/imports/{import_id:uuid}/run")
async def import_run(request: Req, current: Current, import_id: UUID) -> Response[str]:
    values = await form_values(request)
    try:
        await imports.run_import(current, import_id, values)
    except FormInvalid as exc:
        return await _import_page(request, current, import_id, exc.errors, values, status=422)
    return redirect(request, f"/imports/{import_id}")


@post("/imports/{import_id:uuid}/resume")
async def import_resume(request: Req, current: Current, import_id: UUID) -> Response[str]:
    try:
        await imports.resume_import(current, import_id)
    except FormInvalid as exc:
        return await _import_page(request, current, import_id, exc.errors, status=422)
    return redirect(request, f"/imports/{import_id}")


@get("/imports/{import_id:uuid}/errors.csv")
async def import_errors(request: Req, current: Current, import_id: UUID) -> Stream:
    data, rows = await imports.error_rows(current, import_id)
    name = Path(data["filename"]).stem[:80] or "import"
    return Stream(
        imports.errors_csv(list(data["headers"]), rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition(f"{name}-failed-rows.csv")},
    )


ROUTES = [
    import_list,
    import_new,
    import_upload,
    import_detail,
    import_progress,
    import_run,
    import_resume,
    import_errors,
]
