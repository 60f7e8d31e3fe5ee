"""API schemas for conversations: the metadata a CRM posts and what we return."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from service.insights.schemas import InsightOut

Role = Literal["rep", "customer", "unknown"]
Status = Literal["queued", "fetching", "transcribing", "analyzing", "done", "failed"]
Id = str  # external ids are the CRM's, opaque to us


class DealRef(BaseModel):
    """The deal a conversation belongs to, as the CRM knows it."""

    model_config = ConfigDict(extra="allow")

    external_id: str = Field(min_length=1, max_length=255)
    name: str | None = Field(default=None, max_length=500)
    stage: str | None = Field(default=None, max_length=200)
    amount: float | None = Field(default=None, ge=0)
    close_date: date | None = None


class RepRef(BaseModel):
    """The sales rep on the call."""

    model_config = ConfigDict(extra="allow")

    external_id: str = Field(min_length=1, max_length=255)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    team: str | None = Field(default=None, max_length=200)


class Participant(BaseModel):
    """Someone on the call."""

    model_config = ConfigDict(extra="allow")

    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    role: str | None = Field(default=None, max_length=50)


class Playbook(BaseModel):
    """Which playbook experiment and variant the rep was running."""

    experiment: str = Field(min_length=1, max_length=255)
    variant: str = Field(min_length=1, max_length=255)


class RecordingMetadata(BaseModel):
    """Metadata of a recording, posted by the CRM or an API client."""

    model_config = ConfigDict(extra="allow")

    external_id: str = Field(min_length=1, max_length=255)
    deal: DealRef | None = None
    rep: RepRef | None = None
    participants: list[Participant] = Field(default_factory=list, max_length=100)
    started_at: datetime | None = None
    direction: Literal["inbound", "outbound"] | None = None
    channels: dict[str, Role] | None = None
    playbook: Playbook | None = None
    recording_url: AnyHttpUrl | None = None

    @field_validator("started_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        # A timestamp without a zone is taken as UTC rather than refused: CRMs often omit it.
        if v is not None and v.tzinfo is None:
            return v.replace(tzinfo=UTC)
        return v

    @field_validator("channels")
    @classmethod
    def _channels(cls, v: dict[str, Role] | None) -> dict[str, Role] | None:
        if v is None:
            return v
        for key in v:
            if not key.isdigit() or int(key) > 7:
                raise ValueError(f"channel keys are channel numbers 0-7, got {key!r}")
        return v


class RecordingEvent(RecordingMetadata):
    """A `recording.created` webhook event."""

    event: Literal["recording.created"] = "recording.created"


class IngestResult(BaseModel):
    """The answer to an accepted (202) or repeated (200) recording."""

    conversation_id: uuid.UUID
    status: Status
    duplicate: bool


class WordOut(BaseModel):
    """A recognised word."""

    word: str
    start: float
    end: float
    prob: float


class SegmentOut(BaseModel):
    """A speaker turn."""

    speaker: Role
    start: float
    end: float
    text: str
    words: list[WordOut]


class ErrorOut(BaseModel):
    """Why processing failed."""

    code: str
    message: str


class ConversationSummary(BaseModel):
    """A conversation without its transcript (list view)."""

    id: uuid.UUID
    external_id: str
    kind: str
    status: Status
    error: ErrorOut | None
    deal_external_id: str | None
    rep_external_id: str | None
    started_at: datetime | None
    direction: str | None
    playbook: Playbook | None
    duration: float | None
    created_at: datetime
    updated_at: datetime


class ConversationOut(ConversationSummary):
    """A conversation with its metadata and, once processed, its transcript and insights."""

    metadata: dict[str, Any]
    language: str | None
    segments: list[SegmentOut] | None
    metrics: dict[str, Any] | None
    insights: list[InsightOut] | None


class ConversationPage(BaseModel):
    """A page of conversations, newest first."""

    items: list[ConversationSummary]
    next_cursor: str | None
