"""Tenant risk settings: the thresholds behind each deal risk flag, with documented defaults."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models import Tenant

# Objection categories that usually block a close when left unanswered (DOMAIN.md taxonomy).
DEFAULT_RISK_CATEGORIES = ("price", "authority", "competition", "security", "contract")
# Competitor contexts that mean the rival is in play now (not "past" or unclassified).
ACTIVE_COMPETITOR_CONTEXTS = ("incumbent", "evaluating", "comparison")


def clean_labels(labels: list[str]) -> list[str]:
    """Category labels stripped and deduplicated; empty or overlong ones are refused."""
    out: list[str] = []
    for label in labels:
        label = label.strip()
        if not label or len(label) > 200:
            raise ValueError("categories are non-empty labels of at most 200 characters")
        if label not in out:
            out.append(label)
    return out


class RiskSettings(BaseModel):
    """Thresholds for the risk flags; every field has a default (see docs/trends.md)."""

    model_config = ConfigDict(extra="forbid")

    stalled_days: int = Field(default=30, ge=1, le=3650)
    no_contact_days: int = Field(default=14, ge=1, le=3650)
    competitor_days: int = Field(default=30, ge=1, le=3650)
    objection_categories: list[str] = Field(
        default_factory=lambda: list(DEFAULT_RISK_CATEGORIES), max_length=50
    )
    objection_lookback_days: int = Field(default=90, ge=1, le=3650)
    talk_ratio_max: float = Field(default=0.65, gt=0.0, lt=1.0)
    talk_ratio_days: int = Field(default=30, ge=1, le=3650)

    @field_validator("objection_categories")
    @classmethod
    def _labels(cls, v: list[str]) -> list[str]:
        return clean_labels(v)


class RiskPatch(BaseModel):
    """A partial change of the risk settings; absent fields keep their value."""

    model_config = ConfigDict(extra="forbid")

    stalled_days: int | None = Field(default=None, ge=1, le=3650)
    no_contact_days: int | None = Field(default=None, ge=1, le=3650)
    competitor_days: int | None = Field(default=None, ge=1, le=3650)
    objection_categories: list[str] | None = Field(default=None, max_length=50)
    objection_lookback_days: int | None = Field(default=None, ge=1, le=3650)
    talk_ratio_max: float | None = Field(default=None, gt=0.0, lt=1.0)
    talk_ratio_days: int | None = Field(default=None, ge=1, le=3650)

    @field_validator("objection_categories")
    @classmethod
    def _labels(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else clean_labels(v)

    def merged(self, current: RiskSettings) -> RiskSettings:
        """The current settings with this patch applied (validated again as a whole)."""
        changes = self.model_dump(exclude_none=True)
        return RiskSettings.model_validate({**current.model_dump(), **changes})


def risk_settings(tenant: Tenant | None) -> RiskSettings:
    """The tenant's risk settings; stored values that no longer validate fall back to defaults."""
    stored: Any = ((tenant.settings or {}) if tenant else {}).get("risk") or {}
    try:
        return RiskSettings.model_validate(stored)
    except ValueError:
        return RiskSettings()
