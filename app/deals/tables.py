"""Piccolo tables of the deals app (DDL and RLS live in migrations/deals)."""

from piccolo.columns import (
    UUID,
    BigInt,
    Boolean,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    Numeric,
    SmallInt,
    Text,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from app.core.columns import Char, Created, TenantRecord, TenantRow
from app.crm.tables import CrmRecord


class Pipeline(TenantRecord, Table, tablename="pipelines"):
    """A sales process: an ordered list of stages."""

    name = Text()
    position = Integer(default=0)
    is_default = Boolean(default=False)
    stale_days = Integer(default=14)  # cards untouched this long are marked on the board


class Stage(TenantRecord, Table, tablename="stages"):
    """One column of a pipeline; `kind` is open, won or lost."""

    # the migration's key is (tenant_id, pipeline_id) → pipelines (tenant_id, id); a pipeline id
    # is unique, so Piccolo joins on it alone (`Stage.pipeline_id.position`)
    pipeline_id = ForeignKey(Pipeline, null=False)
    name = Text()
    position = Integer(default=0)
    kind = Text(default="open")
    probability = SmallInt(default=0)  # % chance of winning (won 100, lost 0)


class Deal(CrmRecord, Table, tablename="deals"):
    """A sales opportunity on a pipeline; `version` guards concurrent moves and edits."""

    title = Text()
    amount = Numeric(digits=(14, 2))
    currency = Char(length=3)
    pipeline_id = UUID()
    # the migration's key is (tenant_id, pipeline_id, stage_id) → stages (tenant_id,
    # pipeline_id, id); Piccolo joins on the stage's id (`Deal.stage_id.kind`)
    stage_id = ForeignKey(Stage, null=False, on_delete=OnDelete.no_action)
    position = DoublePrecision(default=0.0)
    expected_close_date = Date(null=True, default=None)
    company_id = UUID(null=True, default=None)
    lost_reason = Text(null=True, default=None)


class DealContact(TenantRow, Created, Table, tablename="deal_contacts"):
    """A contact involved in a deal."""

    deal_id = UUID()
    contact_id = UUID()


class BoardVersion(Table, tablename="board_versions"):
    """A pipeline's board version: bumped by triggers (migrations/deals) in the transaction of
    any change a board of it shows; the app only reads it (app/deals/board_cache.py)."""

    pipeline_id = UUID(primary_key=True)
    tenant_id = UUID()
    version = BigInt(default=0)


class BoardEpoch(Table, tablename="board_epoch"):
    """One platform-wide counter, bumped when a person's name changes (a card's owner: users
    are global, so no workspace's board version can say it)."""

    id = SmallInt(primary_key=True)
    version = BigInt(default=0)
