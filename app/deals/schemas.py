"""Shapes the deals domain hands to routes, templates and pushes; the forms it accepts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import msgspec

from app.core.forms import Amount, Choice, Cursor, Day, Form, Integer, Ref, Refs, Text, Version
from app.crm.schemas import CustomInput
from app.deals.money import MAX_AMOUNT, currency_rule

STAGE_KINDS = ("open", "won", "lost")
CENT = Decimal("0.01")
MAX_CONTACTS = 50
DEAL_SORTS = ("newest", "title", "amount", "close")


class StageInfo(msgspec.Struct, frozen=True):
    id: UUID
    pipeline_id: UUID
    name: str
    position: int
    kind: str
    version: int = 1
    probability: int = 0  # % chance a deal here is won (won 100, lost 0): weighted values


class StageChoice(msgspec.Struct, frozen=True):
    """A stage as the deal form's stage picker offers it, under its pipeline's name."""

    id: UUID
    pipeline_id: UUID
    pipeline_name: str
    name: str
    kind: str


class PipelineInfo(msgspec.Struct, frozen=True):
    id: UUID
    name: str
    is_default: bool
    version: int = 1
    stale_days: int = 14  # cards untouched this long are marked on the board


class Rates(msgspec.Struct, frozen=True):
    """The workspace's default currency and its admins' rates to it (1 unit = rate)."""

    currency: str = "EUR"
    rates: dict[str, Decimal] = {}

    def convert(self, amount: Decimal, currency: str) -> Decimal | None:
        """`amount` in the default currency, or None when `currency` has no rate."""
        if currency == self.currency:
            return amount
        rate = self.rates.get(currency)
        return None if rate is None else amount * rate


class NextActivity(msgspec.Struct, frozen=True):
    """A deal's next open activity (soonest due) as its card shows it."""

    kind: str
    title: str
    due_at: datetime | None
    due_date: date | None
    overdue: bool


class DealFields(msgspec.Struct, frozen=True):
    """The values a deal's row stores that people set (the form, an import row), by column."""

    title: str
    amount: Decimal
    currency: str
    pipeline_id: UUID
    stage_id: UUID
    expected_close_date: date | None
    lost_reason: str | None
    owner_id: UUID | None
    company_id: UUID | None


class DealCard(DealFields, frozen=True):
    """What a board card and a list row show."""

    id: UUID
    stage_name: str
    stage_kind: str
    position: float
    version: int
    owner_name: str | None
    company_name: str | None
    created_at: datetime
    updated_at: datetime
    next_activity: NextActivity | None = None


class Column(msgspec.Struct, frozen=True):
    """A stage with its cards, in board order (built by `stage_column`, which sums it once)."""

    stage: StageInfo
    cards: list[DealCard]
    rates: Rates = msgspec.field(default_factory=Rates)
    stale: dict[UUID, int] = {}  # card id -> whole days untouched (open stages, past the limit)
    stale_days: int = 14
    # the cards' amounts in the workspace currency (those with a rate), and how many cards are
    # in a currency without a rate (left out of `total`): summed once, read by the column's
    # header and the board's line
    total: Decimal = Decimal(0)
    unconverted: int = 0

    @property
    def card_values(self) -> list[tuple[DealCard, int | None]]:
        """Each card with its stale days (None: not stale), what the card's markup reads."""
        stale = self.stale
        return [(card, stale.get(card.id)) for card in self.cards]

    @property
    def weighted(self) -> Decimal:
        """`total` times the stage's probability."""
        return (self.total * self.stage.probability / 100).quantize(CENT)


def stage_column(
    stage: StageInfo, cards: list[DealCard], rates: Rates, stale: dict[UUID, int], stale_days: int
) -> Column:
    """The stage's column with its sums, made in one pass over its cards."""
    total, unconverted = Decimal(0), 0
    for card in cards:
        amount = rates.convert(card.amount, card.currency)
        if amount is None:
            unconverted += 1
        else:
            total += amount
    return Column(
        stage=stage,
        cards=cards,
        rates=rates,
        stale=stale,
        stale_days=stale_days,
        total=total.quantize(CENT),
        unconverted=unconverted,
    )


class Board(msgspec.Struct, frozen=True):
    pipeline: PipelineInfo
    pipelines: list[PipelineInfo]
    columns: list[Column]


def board_summary(columns: Sequence[Column]) -> dict[str, object]:
    """The board's line: open value and its weighted value, won value, in the workspace
    currency, and how many open deals have no rate to it."""
    open_columns = [c for c in columns if c.stage.kind == "open"]
    return {
        "currency": columns[0].rates.currency if columns else "EUR",
        "open": sum((c.total for c in open_columns), Decimal(0)),
        "weighted": sum((c.weighted for c in open_columns), Decimal(0)),
        "won": sum((c.total for c in columns if c.stage.kind == "won"), Decimal(0)),
        "unconverted": sum(c.unconverted for c in open_columns),
        "deals": sum(len(c.cards) for c in open_columns),
    }


class ContactRef(msgspec.Struct, frozen=True):
    id: UUID
    name: str


class DealDetail(msgspec.Struct, frozen=True):
    card: DealCard
    contacts: list[ContactRef]


class MoveOutcome(msgspec.Struct, frozen=True):
    """The result of a board move: `ok`, or why not; the stages whose columns changed."""

    ok: bool
    message: str
    deal_id: UUID
    pipeline_id: UUID | None
    stage_ids: list[UUID]
    columns: list[Column] = []  # those stages as the move's transaction left them
    pushed: str = ""  # the columns' markup as pushed to the boards (in the default formats)


class DealPage(msgspec.Struct, frozen=True):
    """One page of the deal list (keyset pagination)."""

    deals: list[DealCard]
    next_cursor: str | None


class DealRow(msgspec.Struct, frozen=True):
    """A row of the deals table (/deals/list)."""

    id: UUID
    title: str
    amount: Decimal
    currency: str
    stage_id: UUID
    stage_name: str
    stage_kind: str
    owner_id: UUID | None
    owner_name: str | None
    company_id: UUID | None
    company_name: str | None
    expected_close_date: date | None
    created_at: datetime
    updated_at: datetime


class CurrencyTotal(msgspec.Struct, frozen=True):
    """How many deals of a view are in a currency, and their value."""

    currency: str
    deals: int
    amount: Decimal


class DealTable(msgspec.Struct, frozen=True):
    """One page of the deals table, with the totals of the whole view per currency."""

    rows: list[DealRow]
    totals: list[CurrencyTotal]
    next_cursor: str | None
    prev_cursor: str | None

    @property
    def count(self) -> int:
        return sum(t.deals for t in self.totals)


# ---- what the deal pages accept (app/core/forms) --------------------------------------------

CHOOSE_STAGE = "Choose a stage from the list."
# a deal's title as the form and an import row give it
DealTitle = Annotated[str, Text("the title", 200, required=True, message="Give the deal a title.")]


class DealForm(Form):
    """A new deal (the board's stage and the team's records are checked by the service)."""

    title: DealTitle
    stage_id: Annotated[UUID, Ref(CHOOSE_STAGE, required=True)]
    amount: Annotated[Decimal, Amount("the amount", MAX_AMOUNT, default=Decimal(0))] = Decimal(0)
    currency: Annotated[
        str, currency_rule("Choose a currency from the list (ISO 4217 code, like EUR or USD).")
    ] = "EUR"
    expected_close_date: Annotated[
        date | None,
        Day(
            "the expected close date",
            first_year=2000,
            last_year=2100,
            message="Enter a date like 2026-12-31.",
        ),
    ] = None
    owner_id: Annotated[UUID | None, Ref("Choose an owner from your team.")] = None
    company_id: Annotated[UUID | None, Ref("Choose a company from the list.")] = None
    custom: Annotated[dict[str, list[str]], CustomInput()] = {}  # app/crm/custom_values.py
    contact_ids: Annotated[
        list[UUID],
        Refs(
            "Choose contacts from the list.",
            MAX_CONTACTS,
            too_many=f"A deal can have at most {MAX_CONTACTS} contacts.",
        ),
    ] = []
    lost_reason: Annotated[str, Text("the reason", 1000, multiline=True)] = ""


class DealEdit(DealForm, kw_only=True):
    version: Annotated[int, Version()]


class DealDelete(Form):
    version: Annotated[int, Version()]


class MoveForm(Form):
    """A drag on the board: where to, after which card, from the card's version."""

    stage_id: Annotated[UUID, Ref("That move didn't make sense. Reload the board.", required=True)]
    version: Annotated[int, Version()]
    after_id: Annotated[UUID | None, Ref("That move didn't make sense. Reload the board.")] = None
    from_stage_id: Annotated[UUID | None, Ref("That move didn't make sense. Reload the board.")] = (
        None
    )
    lost_reason: Annotated[str, Text("the reason", 1000, multiline=True)] = ""


class DealListQuery(Form):
    """`/deals?q=…&sort=…&cursor=…` (a bad sort or cursor: the default)."""

    q: Annotated[str, Text("the search", 200)] = ""
    sort: Annotated[str, Choice("the order", DEAL_SORTS, lenient=True)] = "newest"
    cursor: Annotated[str, Cursor()] = ""


class PipelineQuery(Form):
    """`?pipeline=…` on the board and the new-deal form (a bad id: the default pipeline)."""

    pipeline: Annotated[UUID | None, Ref("Choose a pipeline.", lenient=True)] = None


class NameForm(Form):
    """A new pipeline."""

    name: Annotated[str, Text("the name", 100, required=True, message="Give it a name.")]


class PipelineRename(NameForm, kw_only=True):
    version: Annotated[int, Version()]
    # None: as it was (a form without the field)
    stale_days: Annotated[int | None, Integer("the days before a deal is marked stale", 1, 365)] = (
        None
    )


class StageForm(NameForm):
    """A new stage."""

    kind: Annotated[str, Choice("the kind", STAGE_KINDS, message="Choose open, won or lost.")]


class StageEdit(StageForm, kw_only=True):
    version: Annotated[int, Version()]
    # None: as it was; won stages are always 100 and lost ones 0
    probability: Annotated[int | None, Integer("the probability", 0, 100)] = None


class StageMove(Form):
    direction: Annotated[str, Choice("the direction", ("up", "down"))]
