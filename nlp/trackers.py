"""Training tenant trackers from a handful of example sentences (seconds on a CPU)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import numpy as np

from nlp.encoder import SentenceEncoder
from nlp.types import SmartSpec

MIN_EXAMPLES = 5
MAX_EXAMPLES = 500


class TrackerError(ValueError):
    """The tracker definition cannot be trained; the message says what to change."""


@dataclass(frozen=True, slots=True)
class TrackerDraft:
    """What a tenant sends to create or change a smart tracker."""

    label: str
    examples: tuple[str, ...]
    negatives: tuple[str, ...] = ()
    speaker: Literal["customer", "rep", "any"] = "customer"


def background_sentences() -> list[str]:
    """Neutral sentences shipped with the package, used as generic negatives."""
    text = resources.files("nlp.data").joinpath("background_sentences.txt").read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def check_draft(draft: TrackerDraft) -> None:
    """Refuse drafts that cannot make a useful tracker, saying how to fix them."""
    examples = [e for e in (x.strip() for x in draft.examples) if e]
    if len(examples) < MIN_EXAMPLES:
        raise TrackerError(
            f"a smart tracker needs at least {MIN_EXAMPLES} example sentences; got "
            f"{len(examples)}, add {MIN_EXAMPLES - len(examples)} more"
        )
    if len(examples) + len(draft.negatives) > MAX_EXAMPLES:
        raise TrackerError(f"at most {MAX_EXAMPLES} example and negative sentences in all")
    if len(set(e.lower() for e in examples)) < MIN_EXAMPLES:
        raise TrackerError(f"the examples must contain at least {MIN_EXAMPLES} different sentences")


def train_tracker(
    draft: TrackerDraft, encoder: SentenceEncoder, background: Sequence[str] | None = None
) -> SmartSpec:
    """Fit a logistic scorer: examples against negatives and neutral background sentences."""
    from sklearn.linear_model import LogisticRegression

    check_draft(draft)
    examples = [e.strip() for e in draft.examples if e.strip()]
    negatives = [n.strip() for n in draft.negatives if n.strip()]
    bg = list(background if background is not None else background_sentences())
    vectors = encoder.encode(examples + negatives + bg)
    y = np.array([1] * len(examples) + [0] * (len(negatives) + len(bg)))
    # The tenant's own counter-examples say more than generic background sentences.
    weights = np.array(
        [1.0] * len(examples) + [3.0] * len(negatives) + [0.5] * len(bg), dtype=np.float64
    )
    clf = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000)
    clf.fit(vectors, y, sample_weight=weights)
    neg_vectors = vectors[len(examples) : len(examples) + len(negatives)]
    return SmartSpec(
        label=draft.label,
        weights=tuple(float(w) for w in clf.coef_[0]),
        bias=float(clf.intercept_[0]),
        threshold=0.5,
        speaker=draft.speaker,
        negatives=tuple(tuple(float(x) for x in v) for v in neg_vectors),
    )
