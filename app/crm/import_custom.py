"""Custom fields in the CSV import: the mapping's extra targets (`custom.<key>`, a column whose
name is the field's name or key is mapped to it), each row's values checked by the one decoder
(a refused row goes to the error report with the reason), and the values written after a
batch's insert. Call inside the caller's tenant transaction."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

import asyncpg

from app.core.errors import FormInvalid
from app.crm.custom_fields import FieldDef, kind_fields, workspace_people
from app.crm.custom_values import check_custom, encoded

# an import kind (plural) -> the record kind its custom fields are defined on
SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal"}


async def custom_targets(kind: str) -> list[tuple[str, str]]:
    """(target, label) of the kind's active custom fields, for the mapping's choices."""
    if kind not in SINGULAR:
        return []
    return [(f.input_name, f"{f.label} (custom field)") for f in await kind_fields(SINGULAR[kind])]


def guess_custom(
    headers: list[str], targets: Sequence[tuple[str, str]], taken: set[str]
) -> dict[str, str]:
    """{column index: target} for columns named like a custom field (its name or key)."""
    wanted: dict[str, str] = {}
    for target, label in targets:
        wanted.setdefault(_plain(label.removesuffix(" (custom field)")), target)
        wanted.setdefault(_plain(target.removeprefix("custom.")), target)
    found: dict[str, str] = {}
    for index, header in enumerate(headers):
        target = wanted.get(_plain(header), "")
        if target and target not in taken and str(index) not in found:
            found[str(index)] = target
            taken.add(target)
    return found


def _plain(name: str) -> str:
    return re.sub(r"[_\s]+", " ", name.lower()).strip()


class Checked(Protocol):
    """What an import batch holds (app/crm/import_jobs.py's Batch)."""

    good: list[dict[str, Any]]
    good_rows: list[tuple[int, list[str]]]
    failed: list[tuple[int, str, list[str]]]


async def check_rows(tenant_id: UUID, kind: str, batch: Checked, reason: Any) -> None:
    """Check each good row's custom values (`data["custom"]`, from the form's rule): the ones
    refused move to `batch.failed` with `reason(exc)`; the others get an `id` and their
    `custom_values`."""
    if kind not in SINGULAR:
        return
    fields: list[FieldDef] = await kind_fields(SINGULAR[kind])
    people = (
        await workspace_people(tenant_id) if any(f.field_type == "user" for f in fields) else []
    )
    good: list[dict[str, Any]] = []
    rows: list[tuple[int, list[str]]] = []
    for data, numbered in zip(batch.good, batch.good_rows, strict=True):
        try:
            checked = await check_custom(
                tenant_id,
                SINGULAR[kind],
                data.pop("custom", {}),
                None,
                fields=fields,
                people=people,
            )
        except FormInvalid as exc:
            batch.failed.append((numbered[0], reason(exc), numbered[1]))
            continue
        data["id"] = uuid.uuid4()
        data["custom_values"] = checked.values
        good.append(data)
        rows.append(numbered)
    batch.good, batch.good_rows = good, rows
    batch.failed.sort(key=lambda f: f[0])


async def store_values(c: asyncpg.Connection, kind: str, rows: list[dict[str, Any]]) -> None:
    """Write the inserted rows' custom values (one statement; rows without any are skipped)."""
    table = {"contacts": "contacts", "companies": "companies", "deals": "deals"}.get(kind)
    with_values = [r for r in rows if r.get("custom_values")]
    if table is None or not with_values:
        return
    await c.execute(
        f"update {table} t set custom_values = v.cv::jsonb"  # a fixed table name
        " from unnest($1::uuid[], $2::text[]) as v(id, cv) where t.id = v.id",
        [r["id"] for r in with_values],
        [encoded(r["custom_values"]) for r in with_values],
    )


async def new_company_refusal() -> str | None:
    """Why an import can't create a company for a row naming a new one (None: it can): the
    workspace's companies have required custom fields, which a name alone can't fill in."""
    required = [f.label for f in await kind_fields("company") if f.required]
    if not required:
        return None
    return (
        f"The company is new, and companies need {', '.join(required)} (required): import the"
        " companies first, or name one you have."
    )[:500]
