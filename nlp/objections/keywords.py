"""Keyword trackers: word lists with who-said-it and only-in-questions options (the baseline)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from nlp.types import Sentence

SpeakerFilter = Literal["customer", "rep", "any"]


@dataclass(frozen=True, slots=True)
class KeywordTracker:
    """Fires when any phrase occurs as whole words in a sentence of the chosen speaker."""

    label: str
    phrases: tuple[str, ...]
    speaker: SpeakerFilter = "customer"
    only_questions: bool = False

    def pattern(self) -> re.Pattern[str]:
        """One case-insensitive regex for all phrases (spaces match any run of spaces)."""
        alternatives = sorted(
            (
                r"\s+".join(re.escape(w) for w in p.lower().split())
                for p in self.phrases
                if p.strip()
            ),
            key=len,
            reverse=True,
        )
        if not alternatives:
            return re.compile(r"(?!x)x")  # matches nothing
        return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)

    def matches(self, sentence: Sentence, compiled: re.Pattern[str] | None = None) -> bool:
        """Whether the tracker fires on this sentence."""
        if self.speaker != "any" and sentence.speaker not in (self.speaker, "unknown"):
            return False
        if self.only_questions and not sentence.is_question:
            return False
        return bool((compiled or self.pattern()).search(sentence.text))


# What a sales-ops admin would type into a keyword tracker for each category: the baseline the
# trained model must beat.
DEFAULT_KEYWORDS: dict[str, tuple[str, ...]] = {
    "price": (
        "expensive",
        "too much",
        "price",
        "pricing",
        "cost",
        "costs",
        "budget",
        "afford",
        "cheaper",
        "discount",
        "pay",
        "money",
        "spend",
    ),
    "timing": (
        "next quarter",
        "next year",
        "not now",
        "later",
        "timing",
        "bad time",
        "busy",
        "freeze",
        "revisit",
        "too soon",
        "right now",
        "q1",
        "q2",
        "q3",
        "q4",
        "wait",
    ),
    "authority": (
        "approval",
        "approve",
        "boss",
        "cfo",
        "ceo",
        "vp",
        "decision",
        "sign off",
        "committee",
        "board",
        "my manager",
        "procurement",
        "not my call",
        "leadership",
    ),
    "need": (
        "don't need",
        "no need",
        "not a priority",
        "happy with",
        "works fine",
        "value",
        "not sure we need",
        "don't see",
        "adopt",
        "not a problem",
        "fine as is",
    ),
    "competition": (
        "already use",
        "competitor",
        "other vendor",
        "evaluating",
        "under contract",
        "alternative",
        "another tool",
        "looking at",
        "cheaper elsewhere",
        "switch",
    ),
    "trust": (
        "references",
        "reference",
        "proven",
        "case study",
        "small company",
        "startup",
        "skeptical",
        "sceptical",
        "track record",
        "risk",
        "trust",
        "unproven",
        "new company",
    ),
    "security": (
        "security",
        "soc 2",
        "soc2",
        "gdpr",
        "sso",
        "compliance",
        "data residency",
        "encryption",
        "infosec",
        "hipaa",
        "iso 27001",
        "privacy",
        "pen test",
    ),
    "integration": (
        "integrate",
        "integration",
        "integrations",
        "api",
        "migration",
        "migrate",
        "compatible",
        "works with",
        "connector",
        "sync",
        "stack",
        "missing feature",
    ),
    "contract": (
        "contract",
        "terms",
        "cancel",
        "cancellation",
        "liability",
        "legal",
        "payment terms",
        "auto-renew",
        "auto renew",
        "msa",
        "redline",
        "redlines",
        "commitment",
        "lock in",
    ),
}


def default_keyword_trackers() -> list[KeywordTracker]:
    """The baseline keyword tracker for every default category."""
    return [KeywordTracker(label, phrases) for label, phrases in DEFAULT_KEYWORDS.items()]


def keyword_labels(
    sentences: Sequence[Sentence], trackers: Sequence[KeywordTracker]
) -> list[set[str]]:
    """For each sentence, the labels of the trackers that fire."""
    compiled = [(t, t.pattern()) for t in trackers]
    return [{t.label for t, rx in compiled if t.matches(s, rx)} for s in sentences]
