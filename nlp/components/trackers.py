"""Tenant trackers: keyword lists and trained smart trackers, applied to every sentence."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from nlp.encoder import SentenceEncoder
from nlp.objections.keywords import KeywordTracker
from nlp.types import AnalysisDoc, Insight, Sentence, SmartSpec

# A sentence this similar to one of the tenant's counter-examples is never a hit.
NEGATIVE_SIMILARITY = 0.85


def _speaker_ok(wanted: str, sentence: Sentence) -> bool:
    return wanted == "any" or sentence.speaker in (wanted, "unknown")


def _insight(sent: Sentence, label: str, confidence: float, source: str) -> Insight:
    return Insight(
        kind="objection",
        label=label,
        utterance=sent.utterance,
        quote=sent.text,
        span=(sent.begin, sent.end),
        start=sent.start_s,
        end=sent.end_s,
        speaker=sent.speaker,
        confidence=round(confidence, 4),
        source=source,
    )


class TrackerComponent:
    """Runs each document's tenant trackers; embeds sentences only when a smart tracker exists."""

    name: str = "trackers"
    version: str = "1"
    requires: tuple[str, ...] = ("sentences", "insights")
    assigns: tuple[str, ...] = ("insights",)

    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder = encoder

    def initialize(self) -> None:
        """The encoder loads lazily, on the first tenant with a smart tracker."""

    def __call__(self, docs: Sequence[AnalysisDoc]) -> None:
        for doc in docs:
            self._keywords(doc)
        smart_docs = [d for d in docs if d.tenant.smart_trackers and d.sentences]
        if not smart_docs:
            return
        texts = [s.text for d in smart_docs for s in d.sentences]
        vectors = self.encoder.encode(texts)
        offset = 0
        for doc in smart_docs:
            n = len(doc.sentences)
            self._smart(doc, vectors[offset : offset + n])
            offset += n

    def _keywords(self, doc: AnalysisDoc) -> None:
        for spec in doc.tenant.keyword_trackers:
            tracker = KeywordTracker(spec.label, spec.phrases, spec.speaker, spec.only_questions)
            rx = tracker.pattern()
            for sent in doc.sentences:
                if tracker.matches(sent, rx):
                    doc.insights.append(_insight(sent, spec.label, 1.0, f"keyword:{spec.label}"))

    def _smart(self, doc: AnalysisDoc, vectors: np.ndarray) -> None:
        for spec in doc.tenant.smart_trackers:
            scores = _scores(spec, vectors)
            blocked = _blocked(spec, vectors)
            for sent, score, block in zip(doc.sentences, scores, blocked, strict=True):
                if block:
                    # A counter-example also silences the built-in model for this category.
                    doc.insights[:] = [
                        i
                        for i in doc.insights
                        if not (
                            i.label == spec.label
                            and i.span == (sent.begin, sent.end)
                            and i.utterance == sent.utterance
                        )
                    ]
                    continue
                if score >= spec.threshold and _speaker_ok(spec.speaker, sent):
                    already = any(
                        i.label == spec.label
                        and i.span == (sent.begin, sent.end)
                        and i.utterance == sent.utterance
                        for i in doc.insights
                    )
                    if not already:
                        doc.insights.append(
                            _insight(sent, spec.label, score, f"smart:{spec.label}")
                        )


def _scores(spec: SmartSpec, vectors: np.ndarray) -> list[float]:
    logits = vectors @ np.array(spec.weights, dtype=np.float32) + spec.bias
    return [1.0 / (1.0 + math.exp(-float(z))) for z in logits]


def _blocked(spec: SmartSpec, vectors: np.ndarray) -> list[bool]:
    if not spec.negatives:
        return [False] * len(vectors)
    sims = vectors @ np.array(spec.negatives, dtype=np.float32).T
    return [bool(row.max() >= NEGATIVE_SIMILARITY) for row in sims]
