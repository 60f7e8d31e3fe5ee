"""API shapes of tenant trackers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

SpeakerFilter = Literal["customer", "rep", "any"]


class TrackerIn(BaseModel):
    """A keyword tracker (phrases) or a smart tracker (example sentences, >= 5)."""

    label: str = Field(min_length=1, max_length=200, pattern=r"^[\w .:/&+-]+$")
    mode: Literal["keyword", "smart"]
    speaker: SpeakerFilter = "customer"
    phrases: list[str] = Field(default_factory=list, max_length=200)
    only_questions: bool = False
    examples: list[str] = Field(default_factory=list, max_length=400)
    negatives: list[str] = Field(default_factory=list, max_length=400)

    @model_validator(mode="after")
    def _fits_mode(self) -> TrackerIn:
        if self.mode == "keyword" and not [p for p in self.phrases if p.strip()]:
            raise ValueError("a keyword tracker needs at least one phrase")
        if self.mode == "keyword" and (self.examples or self.negatives):
            raise ValueError("examples and negatives belong to smart trackers")
        if self.mode == "smart" and self.phrases:
            raise ValueError("phrases belong to keyword trackers")
        for text in [*self.phrases, *self.examples, *self.negatives]:
            if len(text) > 1000:
                raise ValueError("phrases and examples are at most 1000 characters")
        return self


class TrackerOut(TrackerIn):
    """A stored tracker."""

    id: uuid.UUID
    created_at: datetime
    updated_at: datetime
