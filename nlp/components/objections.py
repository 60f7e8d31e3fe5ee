"""Customer objections: the trained model over customer sentences, one insight per category."""

from __future__ import annotations

import re
from collections.abc import Sequence

from nlp.objections.model import ObjectionModel
from nlp.types import AnalysisDoc, Insight, Sentence

_WORD = re.compile(r"\w+")
# Without a diarizer we cannot tell the rep's "clients worry about price" from a customer's
# worry, so unknown-speaker hits are reported with less confidence.
UNKNOWN_SPEAKER_FACTOR = 0.75


def candidate(sentence: Sentence) -> bool:
    """Customer (or unattributed) sentences long enough to carry an objection."""
    return sentence.speaker in ("customer", "unknown") and len(_WORD.findall(sentence.text)) >= 3


class ObjectionComponent:
    """Multi-label objection categories for customer speech, with the sentence as evidence."""

    name: str = "objections"
    requires: tuple[str, ...] = ("sentences",)
    assigns: tuple[str, ...] = ("insights",)

    def __init__(self, model: ObjectionModel) -> None:
        self.model = model
        self.version = model.version

    def initialize(self) -> None:
        """Open the ONNX session."""
        self.model.initialize()

    def __call__(self, docs: Sequence[AnalysisDoc]) -> None:
        todo = [(d, s) for d in docs for s in d.sentences if candidate(s)]
        if not todo:
            return
        probs = self.model.predict([s.text for _, s in todo])
        labels = self.model.labels
        for (doc, sent), row in zip(todo, probs, strict=True):
            disabled = doc.tenant.disabled_categories
            for k, p in enumerate(row):
                if p < self.model.thresholds[k] or labels[k] in disabled:
                    continue
                factor = UNKNOWN_SPEAKER_FACTOR if sent.speaker == "unknown" else 1.0
                doc.insights.append(
                    Insight(
                        kind="objection",
                        label=labels[k],
                        utterance=sent.utterance,
                        quote=sent.text,
                        span=(sent.begin, sent.end),
                        start=sent.start_s,
                        end=sent.end_s,
                        speaker=sent.speaker,
                        confidence=round(float(p) * factor, 4),
                        source=self.name,
                    )
                )
