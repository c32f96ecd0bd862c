"""Bulk actions on the deals list (/deals/list): assign an owner, move to a stage, delete;
registered into the crm's bulk machinery (app/crm/bulk_kinds.py), so confirmation, undo and
the background job are the contact and company lists' own.

Each deal goes through its single action's rules: a move is the board move's (the pipeline's
board lock, the versioned update, the lost reason kept only on a lost stage and asked for by
the confirmation, cleared when a deal leaves it, the timeline's "Moved … from … to …"); an
owner change is the edit's versioned save with its timeline entry; a delete is the deal page's.
The touched board columns are pushed live once per batch, and open deal lists re-read.
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID, uuid4

import asyncpg
import msgspec
from piccolo.querystring import QueryString

from app.accounts.schemas import Current
from app.core.errors import FormInvalid
from app.core.paging import Params
from app.core.versioned import update_at_version
from app.crm.activity import field_diff, log_activity
from app.crm.bulk_custom import apply_custom, restore_custom
from app.crm.bulk_kinds import (
    BulkParams,
    KindSteps,
    Outcome,
    Previous,
    ViewSql,
    describe_owner,
    register,
)
from app.crm.common import check_member
from app.crm.filters import DealView, deal_search, deal_where, parse_view
from app.deals import live
from app.deals.pipelines import ensure_default_in
from app.deals.positions import end_position
from app.deals.queries import DEAL_FROM, fetch_columns, lock_board
from app.deals.stages import pipeline_stages
from app.deals.tables import Deal, Stage

GONE_STAGE = "That stage doesn't exist any more: choose another."


async def _describe(conn: asyncpg.Connection, params: BulkParams) -> BulkParams:
    if params.action != "stage":
        return await describe_owner(conn, params)
    stage = await Stage.objects().where(Stage.id == params.stage_id).first()
    if stage is None:  # another workspace's stage is not found either (RLS)
        raise FormInvalid({"stage_id": GONE_STAGE})
    return msgspec.structs.replace(params, stage_name=stage.name, stage_kind=stage.kind)


async def _view_sql(
    conn: asyncpg.Connection, pairs: list[tuple[str, str]], tenant_id: UUID, params: Params
) -> ViewSql:
    """The deals table's view: the pipeline it shows (the default one when it names none)."""
    view = parse_view(DealView, pairs)
    assert isinstance(view, DealView)
    pipeline = view.pipeline or await ensure_default_in(conn, tenant_id)
    where = deal_where(view, params, tenant_id)
    where.insert(1, f"d.pipeline_id = {params.add(pipeline)}")
    where += deal_search(params, " ".join(view.q.split())[:200], tenant_id)
    return DEAL_FROM, "d.id", where


async def _locked(ids: list[UUID]) -> list[dict[str, object]]:
    rows = await Deal.select().where(Deal.id.is_in(ids or [uuid4()])).order_by(Deal.id).lock_rows()
    return [dict(r) for r in rows]


async def _stage_names(conn: asyncpg.Connection, pipeline_ids: set[UUID]) -> dict[UUID, str]:
    names: dict[UUID, str] = {}
    for pipeline_id in sorted(pipeline_ids):
        await lock_board(conn, pipeline_id)  # moves of a board are serialised, as on the board
        names.update({s.id: s.name for s in await pipeline_stages(pipeline_id)})
    return names


async def _move(
    current: Current,
    conn: asyncpg.Connection,
    before: Mapping[str, object],
    stage_id: UUID,
    reason: str | None,
    names: dict[UUID, str],
) -> bool:
    """One deal to `stage_id` (at the bottom), as the board's move writes it."""
    deal_id, version = before["id"], before["version"]
    assert isinstance(deal_id, UUID) and isinstance(version, int)
    moved = await update_at_version(
        Deal,
        deal_id,
        version,
        {
            "stage_id": stage_id,
            "position": await end_position(conn, stage_id),
            "lost_reason": reason,
            "updated_at": QueryString("now()"),
        },
    )
    if moved is None:
        return False
    old_stage = before["stage_id"]
    assert isinstance(old_stage, UUID)
    await log_activity(
        current,
        "deal",
        deal_id,
        "moved",
        f"Moved “{before['title']}” from {names.get(old_stage, '?')} to {names.get(stage_id, '?')}"
        + (f" (lost: {reason})" if reason else ""),
        field_diff(
            {"stage_id": old_stage, "lost_reason": before["lost_reason"]},
            {"stage_id": stage_id, "lost_reason": reason},
            ("stage_id", "lost_reason"),
        ),
    )
    return True


async def _set_owner(
    current: Current, before: Mapping[str, object], owner_id: UUID | None, version: int
) -> bool:
    deal_id = before["id"]
    saved = await update_at_version(
        Deal, deal_id, version, {"owner_id": owner_id, "updated_at": QueryString("now()")}
    )
    if saved is None:
        return False
    assert isinstance(deal_id, UUID)
    changes = field_diff({"owner_id": before["owner_id"]}, {"owner_id": owner_id}, ("owner_id",))
    await log_activity(
        current, "deal", deal_id, "updated", f"Edited the deal “{before['title']}”", changes
    )
    return True


async def _publish_touched(
    conn: asyncpg.Connection, tenant_id: UUID, touched: set[tuple[UUID, UUID]]
) -> None:
    """The board columns a batch touched, read in its transaction, pushed after it commits."""
    for pipeline_id in sorted({p for p, _ in touched}):
        stages = [s for p, s in touched if p == pipeline_id]
        columns = await fetch_columns(conn, pipeline_id, only=stages)
        live.publish_columns_after_commit(tenant_id, columns)


async def _apply(
    current: Current, conn: asyncpg.Connection, params: BulkParams, ids: list[UUID]
) -> Outcome:
    if params.action == "custom":
        return await apply_custom(current, conn, "deal", params, ids)
    outcome = Outcome()
    target = None
    if params.action == "owner":
        await check_member(params.owner_id, "owner_id", "an owner")
    if params.action == "stage":
        target = await Stage.objects().where(Stage.id == params.stage_id).first()
        if target is None:
            raise FormInvalid({"stage_id": GONE_STAGE})
        if target.kind == "lost" and not params.lost_reason:
            raise FormInvalid({"lost_reason": "Say why these deals were lost."})
    rows = await _locked(ids)
    names = await _stage_names(
        conn, {r["pipeline_id"] for r in rows if isinstance(r["pipeline_id"], UUID)}
    )
    touched: set[tuple[UUID, UUID]] = set()
    for before in rows:
        deal_id, version = before["id"], before["version"]
        pipeline_id, stage_id = before["pipeline_id"], before["stage_id"]
        assert isinstance(deal_id, UUID) and isinstance(version, int)
        assert isinstance(pipeline_id, UUID) and isinstance(stage_id, UUID)
        if params.action == "delete":
            await Deal.delete().where(Deal.id == deal_id)
            await log_activity(
                current, "deal", deal_id, "deleted", f"Deleted the deal “{before['title']}”"
            )
            outcome.changed.append(Previous(deal_id, version, None))
            touched.add((pipeline_id, stage_id))
        elif params.action == "owner":
            if before["owner_id"] == params.owner_id:
                continue
            if await _set_owner(current, before, params.owner_id, version):
                old = before["owner_id"]
                outcome.changed.append(Previous(deal_id, version + 1, str(old) if old else None))
                touched.add((pipeline_id, stage_id))
        elif target is not None:
            if pipeline_id != target.pipeline_id:
                outcome.kept += 1  # a stage of another pipeline: not this deal's board
                continue
            if stage_id == target.id:
                continue
            reason = (params.lost_reason or str(before["lost_reason"] or "")) or None
            new_reason = reason if target.kind == "lost" else None
            if await _move(current, conn, before, target.id, new_reason, names):
                old_reason = str(before["lost_reason"] or "")
                value = [str(stage_id), old_reason]
                outcome.changed.append(Previous(deal_id, version + 1, value))
                touched |= {(pipeline_id, stage_id), (pipeline_id, target.id)}
    await _publish_touched(conn, current.tenant_id, touched)
    return outcome


async def _restore(
    current: Current, conn: asyncpg.Connection, action: str, previous: list[Previous]
) -> list[UUID]:
    if action == "custom":
        return await restore_custom(current, conn, "deal", previous)
    wanted = {p.id: p for p in previous}
    rows = await _locked(list(wanted))
    names = await _stage_names(
        conn, {r["pipeline_id"] for r in rows if isinstance(r["pipeline_id"], UUID)}
    )
    restored: list[UUID] = []
    touched: set[tuple[UUID, UUID]] = set()
    for now in rows:
        deal_id, pipeline_id, stage_id = now["id"], now["pipeline_id"], now["stage_id"]
        assert isinstance(deal_id, UUID) and isinstance(pipeline_id, UUID)
        assert isinstance(stage_id, UUID)
        prev = wanted[deal_id]
        if now["version"] != prev.version:
            continue  # edited or moved since: theirs stands
        if action == "owner":
            owner = UUID(prev.value) if isinstance(prev.value, str) else None
            try:
                await check_member(owner, "owner_id", "an owner")
            except FormInvalid:
                continue  # the previous owner left the workspace
            done = await _set_owner(current, now, owner, prev.version)
        elif action == "stage" and isinstance(prev.value, list) and len(prev.value) == 2:
            back = UUID(prev.value[0])
            if back not in names:
                continue  # that stage was deleted since
            done = await _move(current, conn, now, back, prev.value[1] or None, names)
            touched.add((pipeline_id, back))
        else:
            continue
        if done:
            restored.append(deal_id)
            touched.add((pipeline_id, stage_id))
    await _publish_touched(conn, current.tenant_id, touched)
    return restored


def register_deal_bulk() -> None:
    """Bulk actions on the deals list (the deals domain's wiring calls this once)."""
    register(
        KindSteps(
            plural="deals",
            singular="deal",
            list_url="/deals/list",
            actions=("owner", "stage", "custom", "delete"),
            apply=_apply,
            restore=_restore,
            view_sql=_view_sql,
            describe=_describe,
            table=Deal,
            kept_note="in another pipeline left as they were",
        )
    )
