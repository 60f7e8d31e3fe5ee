"""The `deal.updated` CRM event: validation, order-safe upsert and stage history; never commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import Conversation, Deal, DealStageChange, Insight
from models.base import utcnow
from service.conversations.ingest import InvalidMetadata
from service.conversations.schemas import Playbook
from service.deals.placeholders import ensure_deal_row
from service.trends.rollup import apply_conversation

DealStatus = Literal["open", "won", "lost"]


class DealOwner(BaseModel):
    """The rep who owns the deal."""

    model_config = ConfigDict(extra="allow")

    external_id: str = Field(min_length=1, max_length=255)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    team: str | None = Field(default=None, max_length=200)


class DealEvent(BaseModel):
    """A `deal.updated` webhook event: the deal's full current state at updated_at."""

    model_config = ConfigDict(extra="allow")

    event: Literal["deal.updated"] = "deal.updated"
    external_id: str = Field(min_length=1, max_length=255)
    name: str | None = Field(default=None, max_length=500)
    stage: str | None = Field(default=None, min_length=1, max_length=200)
    amount: Decimal | None = Field(default=None, ge=0, lt=Decimal("1e16"))
    currency: str | None = Field(default=None, pattern=r"^[A-Za-z]{3}$")
    close_date: date | None = None
    owner: DealOwner | None = None
    team: str | None = Field(default=None, max_length=200)
    status: DealStatus = "open"
    updated_at: datetime
    playbook: Playbook | None = None

    @field_validator("amount", mode="before")
    @classmethod
    def _number(cls, v: Any) -> Any:
        # A boolean or an object is a CRM bug to report, not to guess at; "42000" is fine.
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float | str)):
            raise ValueError("amount must be a number")
        if isinstance(v, str):
            try:
                Decimal(v)
            except ArithmeticError:
                raise ValueError("amount must be a number") from None
        return v

    @field_validator("amount")
    @classmethod
    def _finite(cls, v: Decimal | None) -> Decimal | None:
        if v is not None and not v.is_finite():
            raise ValueError("amount must be a finite number")
        return v

    @field_validator("currency")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return v.upper() if v else v

    @field_validator("updated_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        # Like recordings: a CRM timestamp without a zone is taken as UTC.
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)


def deal_event(payload: dict[str, Any]) -> DealEvent:
    """Validate a deal.updated payload (422 naming each bad field)."""
    try:
        return DealEvent.model_validate(payload)
    except ValidationError as exc:
        raise InvalidMetadata(exc) from exc


@dataclass(frozen=True, slots=True)
class DealUpsert:
    """What a deal event did: created, updated, unchanged (a replay) or stale (older)."""

    deal: Deal
    outcome: Literal["created", "updated", "unchanged", "stale"]


def _locked_deal(session: Session, *, tenant_id: uuid.UUID, external_id: str) -> Deal:
    """The deal row, locked on PostgreSQL (SQLite's BEGIN IMMEDIATE already serialises)."""
    q = select(Deal).where(Deal.tenant_id == tenant_id, Deal.external_id == external_id)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    return session.execute(q.execution_options(populate_existing=True)).scalar_one()


def apply_deal_event(session: Session, *, tenant_id: uuid.UUID, event: DealEvent) -> DealUpsert:
    """Store the event unless a newer one is already stored; always keep its stage in history."""
    created = ensure_deal_row(session, tenant_id=tenant_id, external_id=event.external_id)
    deal = _locked_deal(session, tenant_id=tenant_id, external_id=event.external_id)
    if deal.crm_updated_at is not None and event.updated_at <= deal.crm_updated_at:
        outcome: Literal["unchanged", "stale"] = (
            "unchanged" if event.updated_at == deal.crm_updated_at else "stale"
        )
        # An older event cannot change the deal, but it can fill a gap in the stage history.
        record_stage_history(session, deal=deal, observed=(event.updated_at, event.stage))
        return DealUpsert(deal, outcome)
    was_closed = deal.status in ("won", "lost")
    deal.name = event.name
    deal.stage = event.stage
    deal.amount = event.amount
    deal.currency = event.currency
    deal.close_date = event.close_date
    deal.owner_external_id = event.owner.external_id if event.owner else None
    deal.owner_name = event.owner.name if event.owner else None
    deal.team = event.team or (event.owner.team if event.owner else None)
    deal.status = event.status
    if event.playbook is not None:
        deal.playbook_experiment = event.playbook.experiment
        deal.playbook_variant = event.playbook.variant
    if event.status in ("won", "lost") and not was_closed:
        deal.closed_at = event.updated_at
    elif event.status == "open":
        deal.closed_at = None
    deal.crm_updated_at = event.updated_at
    deal.updated_at = utcnow()
    session.flush()
    record_stage_history(session, deal=deal, observed=(event.updated_at, event.stage))
    if deal.team is not None:
        _fill_team(session, tenant_id=tenant_id, external_id=deal.external_id, team=deal.team)
    return DealUpsert(deal, "created" if created else "updated")


def record_stage_history(
    session: Session, *, deal: Deal, observed: tuple[datetime, str | None]
) -> None:
    """Rebuild the deal's stage changes from what is stored plus one observation, in time order.

    Events may arrive in any order, so the history is the sequence of observed stages sorted by
    the CRM's time with repeats collapsed; the deal row itself is the newest observation.
    """
    rows = list(
        session.execute(
            select(DealStageChange)
            .where(DealStageChange.deal_id == deal.id)
            .order_by(DealStageChange.changed_at, DealStageChange.id)
        ).scalars()
    )
    points: list[tuple[datetime, str | None]] = [(r.changed_at, r.to_stage) for r in rows]
    points.append(observed)
    if deal.crm_updated_at is not None:
        points.append((deal.crm_updated_at, deal.stage))
    points.sort(key=lambda p: p[0])
    wanted: list[tuple[datetime, str | None, str | None]] = []
    current: str | None = None
    for at, stage in points:
        if stage is None or (wanted and stage == current):
            continue
        wanted.append((at, current, stage))
        current = stage
    have = [(r.changed_at, r.from_stage, r.to_stage) for r in rows]
    if have != wanted:
        for r in rows:
            session.delete(r)
        session.flush()
        session.add_all(
            DealStageChange(
                tenant_id=deal.tenant_id, deal_id=deal.id, from_stage=f, to_stage=t, changed_at=at
            )
            for at, f, t in wanted
        )
    if wanted and wanted[-1][2] == deal.stage:
        deal.stage_entered_at = wanted[-1][0]
    session.flush()


def _fill_team(session: Session, *, tenant_id: uuid.UUID, external_id: str, team: str) -> None:
    """Give the deal's conversations and insights that arrived without a team the deal's team."""
    convs = list(
        session.execute(
            select(Conversation).where(
                Conversation.tenant_id == tenant_id,
                Conversation.deal_external_id == external_id,
                Conversation.team.is_(None),
            )
        ).scalars()
    )
    for conv in convs:
        # Move its trend counts from "no team" to the team along with the rows.
        if conv.analyzed_at is not None:
            apply_conversation(session, conversation=conv, sign=-1)
        conv.team = team
        session.execute(
            update(Insight)
            .where(Insight.conversation_id == conv.id)
            .values(team=team)
            .execution_options(synchronize_session=False)
        )
        if conv.analyzed_at is not None:
            apply_conversation(session, conversation=conv, sign=1)
    session.flush()
