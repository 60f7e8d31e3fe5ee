"""API shapes of insights and of the stateless /v1/analyze call (a stable contract)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

Speaker = Literal["rep", "customer", "unknown"]


class InsightOut(BaseModel):
    """One insight with its evidence; the same shape in /v1/analyze and conversations."""

    kind: Literal["objection", "competitor"]
    label: str
    utterance: int | None
    quote: str
    span: tuple[int, int]
    start: float | None
    end: float | None
    speaker: Speaker
    confidence: float = Field(ge=0.0, le=1.0)
    context: str | None


class UtteranceIn(BaseModel):
    """A turn to analyse."""

    speaker: Speaker
    text: str = Field(max_length=20_000)
    start: float | None = Field(default=None, ge=0)
    end: float | None = Field(default=None, ge=0)


class EmailIn(BaseModel):
    """An email to analyse, as raw RFC 822 text."""

    raw: str = Field(min_length=1)


class AnalyzeIn(BaseModel):
    """Either utterances or an email, analysed with the caller's trackers and catalogue."""

    utterances: list[UtteranceIn] | None = Field(default=None, max_length=5000)
    email: EmailIn | None = None

    @model_validator(mode="after")
    def _one_of(self) -> AnalyzeIn:
        if (self.utterances is None) == (self.email is None):
            raise ValueError("send exactly one of 'utterances' or 'email'")
        return self


class AnalyzeOut(BaseModel):
    """Insights and metrics; nothing is stored."""

    insights: list[InsightOut]
    metrics: dict[str, Any]
