"""API shapes for emails posted by the CRM or an API client."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.conversations.schemas import DealRef, RepRef

MAX_EMAIL_CHARS = 10 * 1024 * 1024


class EmailIn(BaseModel):
    """An email: raw RFC 822 text, or its fields. external_id defaults to the Message-ID."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    external_id: str | None = Field(default=None, min_length=1, max_length=255)
    deal: DealRef | None = None
    rep: RepRef | None = None
    raw: str | None = Field(default=None, max_length=MAX_EMAIL_CHARS)
    from_: str | None = Field(default=None, alias="from", max_length=1000)
    to: str | list[str] | None = None
    cc: str | list[str] | None = None
    subject: str | None = Field(default=None, max_length=5000)
    body: str | None = Field(default=None, max_length=MAX_EMAIL_CHARS)
    sent_at: datetime | str | None = None
    message_id: str | None = Field(default=None, max_length=1000)
    in_reply_to: str | None = Field(default=None, max_length=1000)
    references: str | list[str] | None = None

    @model_validator(mode="after")
    def _raw_or_fields(self) -> EmailIn:
        if self.raw is None and self.body is None:
            raise ValueError("send the message as 'raw' (RFC 822) or as fields with a 'body'")
        if self.raw is not None and self.body is not None:
            raise ValueError("send either 'raw' or the fields, not both")
        return self


class EmailEvent(EmailIn):
    """An `email.received` webhook event."""

    event: str = "email.received"
