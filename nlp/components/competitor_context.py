"""A learned context label for competitor mentions (incumbent, evaluating, comparison, past, other).

Cue-phrase rules alone label about half the mentions right on our data; a logistic regression
over the sentence embedding (with the vendor's name masked) plus the rule's vote does much better.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from nlp.components.competitors import (
    CatalogueEntry,
    CompetitorMatcher,
    Mention,
    context_label,
)
from nlp.encoder import SentenceEncoder

CONTEXTS = ("incumbent", "evaluating", "comparison", "past", "other")
MASK = "VendorX"
RULE_WEIGHT = 0.5
SHORT_WORDS = 5  # sentences up to this many words take the cue phrase's label when it has one
FILE_NAME = "competitor_context.json"


def masked(text: str, mention: Mention) -> str:
    """The sentence with the vendor's name replaced, so the label comes from the wording."""
    return text[: mention.begin] + MASK + text[mention.end :]


def _features(
    encoder: SentenceEncoder, texts: Sequence[str], rules: Sequence[str]
) -> npt.NDArray[np.float32]:
    emb = encoder.encode(list(texts))
    votes = np.array([[r == c for c in CONTEXTS] for r in rules], dtype=np.float32)
    return np.hstack([emb, votes * RULE_WEIGHT]).astype(np.float32)


def train_context_model(
    rows: Sequence[tuple[str, list[dict[str, Any]]]],
    catalogue: Sequence[CatalogueEntry],
    encoder: SentenceEncoder,
) -> dict[str, Any]:
    """Fit on (sentence, labelled competitor mentions) pairs; returns a JSON-ready model."""
    from sklearn.linear_model import LogisticRegression

    matcher = CompetitorMatcher(list(catalogue))
    texts: list[str] = []
    rules: list[str] = []
    labels: list[str] = []
    for text, mentions in rows:
        found = {m.competitor: m for m in matcher.find(text)}
        for gold in mentions:
            m = found.get(gold["name"])
            if m is not None and gold.get("context") in CONTEXTS:
                texts.append(masked(text, m))
                rules.append(context_label(text, m))
                labels.append(gold["context"])
    clf = LogisticRegression(C=4.0, max_iter=3000, class_weight="balanced")
    clf.fit(_features(encoder, texts, rules), labels)
    return {
        "classes": [str(c) for c in clf.classes_],
        "coef": clf.coef_.astype(float).tolist(),
        "intercept": clf.intercept_.astype(float).tolist(),
        "examples": len(labels),
    }


class ContextModel:
    """Applies a trained context model; falls back to the rules where it has no opinion."""

    def __init__(self, folder: Path, encoder: SentenceEncoder) -> None:
        data = json.loads((folder / FILE_NAME).read_text())
        self.classes: list[str] = data["classes"]
        self.coef = np.array(data["coef"], dtype=np.float32)
        self.intercept = np.array(data["intercept"], dtype=np.float32)
        self.encoder = encoder

    def predict(self, items: Sequence[tuple[str, Mention]]) -> list[str]:
        """A context label per (sentence, mention)."""
        if not items:
            return []
        rules = [context_label(text, m) for text, m in items]
        feats = _features(self.encoder, [masked(t, m) for t, m in items], rules)
        scores = feats @ self.coef.T + self.intercept
        learned = [self.classes[int(i)] for i in np.argmax(scores, axis=1)]
        # A sentence of a few words embeds as little more than its cue, and the regression
        # misreads it ("We use HubSpot." as past): there the cue phrase decides, when it has one.
        return [
            rule if rule != "other" and len(text.split()) <= SHORT_WORDS else label
            for (text, _), rule, label in zip(items, rules, learned, strict=True)
        ]
