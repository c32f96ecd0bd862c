"""CSV import pages: streamed upload, column mapping with preview, live progress, errors."""

from __future__ import annotations

import uuid
from functools import partial
from pathlib import Path
from uuid import UUID

from litestar import Response, get, post
from litestar.response import Stream

from app.accounts.form_routes import FormVisit, shown_again
from app.accounts.schemas import Current
from app.core.errors import FormInvalid, UploadRefused, declare_form_page
from app.core.forms import parse, printable, read_form, read_query
from app.core.http_types import Req
from app.core.web import content_disposition, redirect, render
from app.crm import imports
from app.crm.schemas import ImportMapping, ImportUpload, NewImportQuery
from app.crm.upload import UploadMalformed, UploadTooLarge, receive_upload
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


def _upload_page(request: Req, kind: str, errors: dict[str, str]) -> Response[str]:
    kinds = {name: kind.label for name, kind in imports.kinds().items()}
    ctx = {"kind": kind if kind in kinds else "contacts", "kinds": kinds}
    ctx["errors"] = errors
    return render(request, "crm/imports/upload.html", ctx)


async def _refused_upload(request: Req, refused: FormInvalid) -> Response[str]:
    return _upload_page(request, str(refused.shown().get("kind", "")), refused.errors)


@get("/imports/new")
async def import_new(request: Req, current: Current) -> Response[str]:
    return _upload_page(request, read_query(request, NewImportQuery).kind, {})


@post(
    "/imports",
    request_max_body_size=get_settings().crm_import_max_bytes + MULTIPART_SLACK,
)
async def import_upload(request: Req, current: Current) -> Response[str]:
    declare_form_page(request, partial(_refused_upload, request))
    limit = get_settings().crm_import_max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + MULTIPART_SLACK:
        raise UploadRefused({"file": too_large_message()})
    temp = imports.import_path(current.tenant_id, uuid.uuid4()).with_suffix(".part")
    try:
        upload = await receive_upload(
            request.headers.get("content-type", ""), request.stream(), "file", temp, limit
        )
    except UploadTooLarge as exc:
        raise UploadRefused({"file": too_large_message()}) from exc
    except UploadMalformed as exc:
        raise FormInvalid({"file": str(exc)}) from exc
    try:
        kind = parse(ImportUpload, upload.fields).kind
    except FormInvalid:
        temp.unlink(missing_ok=True)
        raise
    filename = printable(upload.filename, 300)  # shown in lists: no control characters
    import_id = await imports.start_import(current, kind, filename, Path(temp))
    return redirect(request, f"/imports/{import_id}")


async def _import_page(
    visit: FormVisit, import_id: UUID, block: str | None = None
) -> Response[str]:
    """The import's page: mapping and preview, progress, or the refused mapping again."""
    current, refused = visit.current, visit.refused
    data = await imports.get_import(current, import_id)
    mapping = refused.shown() if refused else {f"col_{k}": t for k, t in data["mapping"].items()}
    kind = imports.kind_of(data["kind"])
    ctx: dict[str, object] = {
        "imp": data,
        "kind": kind,
        "targets": await imports.import_targets(current, data["kind"]),
        "mapping": mapping,
        "errors": refused.errors if refused else {},
        "preview": imports.preview(data, current) if data["status"] == "uploaded" else [],
        "percent": int(100 * data["rows_done"] / data["total_rows"]) if data["total_rows"] else 0,
    }
    return render(visit.request, "crm/imports/detail.html", ctx, block=block)


@get("/imports/{import_id:uuid}")
async def import_detail(request: Req, current: Current, import_id: UUID) -> Response[str]:
    return await _import_page(FormVisit(request, current), import_id)


@get("/imports/{import_id:uuid}/progress")
async def import_progress(request: Req, current: Current, import_id: UUID) -> Response[str]:
    return await _import_page(FormVisit(request, current), import_id, block="progress")


@post("/imports/{import_id:uuid}/run")
async def import_run(request: Req, current: Current, import_id: UUID) -> Response[str]:
    page = shown_again(_import_page, request, current, import_id)
    form = await read_form(request, ImportMapping, page=page)
    await imports.run_import(current, import_id, form.columns, form.on_duplicate)
    return redirect(request, f"/imports/{import_id}")


@post("/imports/{import_id:uuid}/resume")
async def import_resume(request: Req, current: Current, import_id: UUID) -> Response[str]:
    declare_form_page(request, shown_again(_import_page, request, current, import_id))
    await imports.resume_import(current, import_id)
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
