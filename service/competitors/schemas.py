"""API shapes of the competitor catalogue."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator


class CompetitorIn(BaseModel):
    """A catalogue entry: the name reported in insights, and other ways people say it."""

    name: str = Field(min_length=1, max_length=200)
    aliases: list[str] = Field(default_factory=list, max_length=50)
    # True: the name is an everyday word ("Close", "Gong") and needs vendor context to count.
    ambiguous: bool | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        v = v.strip()
        if not any(c.isalnum() for c in v):
            raise ValueError("a competitor name needs letters or digits")
        return v

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, v: list[str]) -> list[str]:
        out = []
        for alias in v:
            alias = alias.strip()
            if len(alias) > 200:
                raise ValueError("an alias is at most 200 characters")
            if alias and any(c.isalnum() for c in alias) and alias not in out:
                out.append(alias)
        return out


class CompetitorOut(CompetitorIn):
    """A stored catalogue entry."""


class CandidateOut(BaseModel):
    """An organisation outside the catalogue that keeps coming up."""

    name: str
    conversations: int
    last_seen: datetime
