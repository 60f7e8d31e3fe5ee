"""Plain data types shared by the transcription and analysis code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Speaker = Literal["rep", "customer", "unknown"]
SPEAKERS: tuple[Speaker, ...] = ("rep", "customer", "unknown")


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word with its timing (seconds) and probability."""

    word: str
    start: float
    end: float
    prob: float


@dataclass(slots=True)
class Segment:
    """A speaker turn: consecutive words of one speaker."""

    speaker: Speaker
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)


@dataclass(slots=True)
class Transcript:
    """The transcription of one recording."""

    segments: list[Segment]
    language: str
    duration: float


@dataclass(slots=True)
class Utterance:
    """One turn of text to analyse: a transcript segment or the new text of an email."""

    speaker: Speaker
    text: str
    start: float | None = None
    end: float | None = None
    words: list[Word] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence inside an utterance, with its character span there and its time if known."""

    utterance: int
    begin: int
    end: int
    text: str
    speaker: Speaker
    start_s: float | None
    end_s: float | None
    is_question: bool


InsightKind = Literal["objection", "competitor"]


@dataclass(frozen=True, slots=True)
class Insight:
    """One finding with its evidence: the quote, where it is, who said it, how sure we are."""

    kind: InsightKind
    label: str
    utterance: int | None
    quote: str
    span: tuple[int, int]
    start: float | None
    end: float | None
    speaker: Speaker
    confidence: float
    context: str | None = None
    source: str = ""  # which component (and tracker) produced it


@dataclass(frozen=True, slots=True)
class KeywordSpec:
    """A keyword tracker as a tenant defines it."""

    label: str
    phrases: tuple[str, ...]
    speaker: Literal["customer", "rep", "any"] = "customer"
    only_questions: bool = False


@dataclass(frozen=True, slots=True)
class SmartSpec:
    """A trained tracker: a linear scorer over sentence embeddings."""

    label: str
    weights: tuple[float, ...]
    bias: float
    threshold: float
    speaker: Literal["customer", "rep", "any"] = "customer"
    # Embeddings of the tenant's counter-examples: sentences this close are never a hit, which
    # also lets a tenant silence the built-in model on phrasings that are fine for them.
    negatives: tuple[tuple[float, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class CompetitorSpec:
    """A catalogue entry."""

    name: str
    aliases: tuple[str, ...] = ()
    ambiguous: bool | None = None


@dataclass(frozen=True, slots=True)
class TenantNlpConfig:
    """What one tenant adds to the analysis: its catalogue and trackers."""

    competitors: tuple[CompetitorSpec, ...] = ()
    keyword_trackers: tuple[KeywordSpec, ...] = ()
    smart_trackers: tuple[SmartSpec, ...] = ()
    disabled_categories: tuple[str, ...] = ()


@dataclass(slots=True)
class AnalysisDoc:
    """A conversation moving through the analysis pipeline; components fill in the fields."""

    utterances: list[Utterance]
    tenant: TenantNlpConfig = field(default_factory=TenantNlpConfig)
    sentences: list[Sentence] = field(default_factory=list)
    insights: list[Insight] = field(default_factory=list)
    metrics: dict[str, object] = field(default_factory=dict)
    org_candidates: list[str] = field(default_factory=list)
    kind: Literal["call", "email"] = "call"
