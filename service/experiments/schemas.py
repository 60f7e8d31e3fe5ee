"""API schemas for experiments: creation, assignment and results."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from service.experiments.metrics import METRICS

Unit = Literal["rep", "deal", "conversation"]
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
# A variant may not get less than this share of units: such an arm would never read out.
MIN_WEIGHT_SHARE = 0.01


class VariantIn(BaseModel):
    """One arm: its key (what the CRM sends), its weight and the key lines of its script."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=KEY_PATTERN)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    control: bool = False
    weight: float = Field(default=1.0, gt=0, le=1000, allow_inf_nan=False)
    script: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("script")
    @classmethod
    def _lines(cls, lines: list[str]) -> list[str]:
        cleaned = [line.strip() for line in lines]
        for line in cleaned:
            if not 1 <= len(line) <= 500:
                raise ValueError("each script line must have 1 to 500 characters")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("script lines must be distinct")
        return cleaned


class ExperimentIn(BaseModel):
    """A new experiment; its primary metric is fixed from the start."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=KEY_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    hypothesis: str = Field(default="", max_length=5000)
    unit: Unit
    primary_metric: str = Field(max_length=64)
    secondary_metrics: list[str] = Field(default_factory=list, max_length=20)
    variants: list[VariantIn] = Field(min_length=2, max_length=10)
    planned_units_per_variant: int = Field(default=500, ge=10, le=10_000_000)
    minimum_effect: float | None = Field(default=None, gt=0, le=1000, allow_inf_nan=False)
    stage_window_days: int = Field(default=14, ge=1, le=365)
    adherence_min_share: float = Field(default=0.5, ge=0, le=1, allow_inf_nan=False)
    started_at: datetime | None = None

    @field_validator("primary_metric")
    @classmethod
    def _known_primary(cls, name: str) -> str:
        if name not in METRICS:
            raise ValueError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
        return name

    @field_validator("secondary_metrics")
    @classmethod
    def _known_secondary(cls, names: list[str]) -> list[str]:
        for name in names:
            if name not in METRICS:
                raise ValueError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
        if len(set(names)) != len(names):
            raise ValueError("secondary metrics must be distinct")
        return names

    @field_validator("started_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            return v.replace(tzinfo=UTC)
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ExperimentIn:
        controls = [v.key for v in self.variants if v.control]
        if len(controls) != 1:
            raise ValueError(f"exactly one variant must be the control, got {len(controls)}")
        keys = [v.key for v in self.variants]
        if len(set(keys)) != len(keys):
            raise ValueError("variant keys must be distinct")
        total = sum(v.weight for v in self.variants)
        for v in self.variants:
            if v.weight / total < MIN_WEIGHT_SHARE:
                raise ValueError(f"variant {v.key!r} would get under 1% of units; raise its weight")
        if self.primary_metric in self.secondary_metrics:
            raise ValueError("the primary metric cannot also be a secondary metric")
        return self


class ExperimentPatch(BaseModel):
    """Changes to an experiment: name and hypothesis always; the design only before any data."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    hypothesis: str | None = Field(default=None, max_length=5000)
    # The pre-registered design: refused with 409 once any exposure or call exists.
    unit: Unit | None = None
    primary_metric: str | None = Field(default=None, max_length=64)
    secondary_metrics: list[str] | None = Field(default=None, max_length=20)
    variants: list[VariantIn] | None = Field(default=None, min_length=2, max_length=10)

    @model_validator(mode="after")
    def _not_null(self) -> ExperimentPatch:
        # An explicit null would mean "unset", which no field here allows.
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


DESIGN_FIELDS = ("unit", "primary_metric", "secondary_metrics", "variants")


class StopIn(BaseModel):
    """Why the experiment is stopped (optional)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=500)


class VariantOut(BaseModel):
    """A stored arm."""

    key: str
    name: str
    control: bool
    weight: float
    script: list[str]


class ExperimentOut(BaseModel):
    """A stored experiment."""

    id: uuid.UUID
    key: str
    name: str
    hypothesis: str
    unit: Unit
    primary_metric: str
    secondary_metrics: list[str]
    variants: list[VariantOut]
    planned_units_per_variant: int
    minimum_effect: float | None
    stage_window_days: int
    adherence_min_share: float
    started_at: datetime
    stopped_at: datetime | None
    stop_reason: str | None
    created_at: datetime
    updated_at: datetime | None


class AssignmentOut(BaseModel):
    """A unit's variant; `new` the first time; after a stop, the control with `stopped` true."""

    experiment_id: uuid.UUID
    unit: Unit
    unit_id: str
    variant: str
    control: bool
    script: list[str]
    source: Literal["service", "crm"]
    new: bool
    stopped: bool = False


class ArmOut(BaseModel):
    """One variant's value of a metric: mean (share or average) with its 95% interval."""

    variant: str
    n: int
    clusters: int
    mean: float | None
    lower: float | None
    upper: float | None


class IntervalOut(BaseModel):
    """An estimate with its interval."""

    estimate: float | None
    lower: float | None
    upper: float | None


class DailyPoint(BaseModel):
    """The always-valid interval of the difference as it stood at the end of one day."""

    day: str
    estimate: float | None
    lower: float | None
    upper: float | None


class ComparisonOut(BaseModel):
    """One variant against the control on one metric."""

    variant: str
    control: ArmOut
    treatment: ArmOut
    difference: IntervalOut  # fixed-horizon: Newcombe (shares) or Welch (means)
    ratio: IntervalOut  # fixed-horizon: Katz log (shares) or delta method (means)
    sequential: IntervalOut  # always-valid confidence sequence for the difference
    sequential_ratio: IntervalOut
    p_always_valid: float
    p_fixed: float
    p_holm: float | None
    significant: bool
    needed_per_variant: int | None
    more_needed_per_variant: int | None
    verdict: str
    daily: list[DailyPoint]


class MetricResultOut(BaseModel):
    """A metric's comparisons under one analysis (intention to treat or per protocol)."""

    metric: str
    label: str
    kind: Literal["proportion", "mean"]
    # breakdown: the per-category objection rates, Holm-corrected as a family of their own.
    role: Literal["primary", "secondary", "breakdown", "descriptive"]
    analysis: Literal["itt", "per_protocol"]
    unit: str
    comparisons: list[ComparisonOut]


class SrmOut(BaseModel):
    """Sample-ratio-mismatch check of the units seen per variant against the weights."""

    observed: dict[str, int]
    expected: dict[str, float]
    chi2: float
    p_value: float
    mismatch: bool
    verdict: str


class LineOut(BaseModel):
    """A key line of a variant's script and how often reps said it."""

    line: str
    said_calls: int
    share: float | None
    quote: str | None


class VariantAdherenceOut(BaseModel):
    """Script adherence of one variant's calls."""

    variant: str
    calls_scored: int
    mean_share: float | None
    lines: list[LineOut]


class UnknownVariantOut(BaseModel):
    """One variant key the experiment does not have (None: the playbook field had no variant)."""

    variant: str | None
    calls: int
    deals: int


class UnknownVariantsOut(BaseModel):
    """Calls and deals naming a variant the experiment lacks: left out of metrics, counted here."""

    calls: int
    deals: int
    distinct: int
    variants: list[UnknownVariantOut]  # the most frequent keys, at most 20


class ResultsOut(BaseModel):
    """Everything /results returns."""

    experiment: ExperimentOut
    generated_at: datetime
    days: int
    srm: SrmOut
    metrics: list[MetricResultOut]
    adherence: list[VariantAdherenceOut]
    unknown_variants: UnknownVariantsOut
    notes: list[str]
