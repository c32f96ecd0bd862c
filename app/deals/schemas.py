"""Shapes the deals domain hands to routes, templates and pushes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

import msgspec

STAGE_KINDS = ("open", "won", "lost")


class StageInfo(msgspec.Struct, frozen=True):
    id: UUID
    pipeline_id: UUID
    name: str
    position: int
    kind: str


class PipelineInfo(msgspec.Struct, frozen=True):
    id: UUID
    name: str
    is_default: bool


class DealCard(msgspec.Struct, frozen=True):
    """What a board card and a list row show."""

    id: UUID
    title: str
    amount: Decimal
    currency: str
    pipeline_id: UUID
    stage_id: UUID
    stage_name: str
    stage_kind: str
    position: float
    version: int
    expected_close_date: date | None
    owner_id: UUID | None
    owner_name: str | None
    company_id: UUID | None
    company_name: str | None
    lost_reason: str | None
    created_at: datetime
    updated_at: datetime


class Column(msgspec.Struct, frozen=True):
    """A stage with its cards, in board order."""

    stage: StageInfo
    cards: list[DealCard]

    @property
    def totals(self) -> list[tuple[str, Decimal]]:
        sums: dict[str, Decimal] = {}
        for card in self.cards:
            sums[card.currency] = sums.get(card.currency, Decimal(0)) + card.amount
        return sorted(sums.items(), key=lambda item: -item[1])


class Board(msgspec.Struct, frozen=True):
    pipeline: PipelineInfo
    pipelines: list[PipelineInfo]
    columns: list[Column]


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


class DealPage(msgspec.Struct, frozen=True):
    """One page of the deal list (keyset pagination)."""

    deals: list[DealCard]
    next_cursor: str | None
