"""Sentence segmentation with spaCy's rule-based sentencizer, keeping spans and timings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from nlp.types import AnalysisDoc, Sentence, Utterance

QUESTION_OPENERS = frozenset(
    [
        "what",
        "how",
        "when",
        "why",
        "who",
        "where",
        "which",
        "can",
        "could",
        "do",
        "does",
        "did",
        "is",
        "are",
        "would",
        "will",
        "should",
        "have",
        "has",
        "may",
        "might",
        "shall",
    ]
)
_WORD_CHARS = re.compile(r"\w+", re.UNICODE)


class Segmenter:
    """Splits every utterance into sentences (blank English pipeline + sentencizer: fast)."""

    name: str = "segmenter"
    version: str = "1"
    requires: tuple[str, ...] = ("utterances",)
    assigns: tuple[str, ...] = ("sentences",)

    def __init__(self, batch_size: int = 256) -> None:
        self.batch_size = batch_size
        self._nlp: Any = None

    def initialize(self) -> None:
        """Build the spaCy pipeline (no model weights needed)."""
        if self._nlp is None:
            import spacy

            nlp = spacy.blank("en")
            nlp.add_pipe("sentencizer")
            self._nlp = nlp

    def __call__(self, docs: Sequence[AnalysisDoc]) -> None:
        self.initialize()
        flat = [(d, i, u) for d in docs for i, u in enumerate(d.utterances)]
        texts = [u.text for _, _, u in flat]
        for d in docs:
            d.sentences = []
        for (doc, idx, utt), sdoc in zip(
            flat, self._nlp.pipe(texts, batch_size=self.batch_size), strict=True
        ):
            offsets = word_offsets(utt)
            for sent in sdoc.sents:
                text = sent.text.strip()
                if not _WORD_CHARS.search(text):
                    continue
                begin = sent.start_char + (len(sent.text) - len(sent.text.lstrip()))
                end = begin + len(text)
                start_s, end_s = span_times(utt, offsets, begin, end)
                doc.sentences.append(
                    Sentence(
                        utterance=idx,
                        begin=begin,
                        end=end,
                        text=text,
                        speaker=utt.speaker,
                        start_s=start_s,
                        end_s=end_s,
                        is_question=is_question(text),
                    )
                )


def is_question(text: str) -> bool:
    """A question mark, or an interrogative opener (speech recognition may drop the mark)."""
    stripped = text.rstrip()
    if stripped.endswith("?"):
        return True
    first = _WORD_CHARS.search(stripped.lower())
    return bool(first and first.group() in QUESTION_OPENERS and not stripped.endswith("."))


def word_offsets(utt: Utterance) -> list[tuple[int, int]]:
    """Character offsets of each recognised word inside the utterance text (-1 if not found)."""
    offsets: list[tuple[int, int]] = []
    pos = 0
    lowered = utt.text.lower()
    for w in utt.words:
        token = w.word.strip().lower()
        at = lowered.find(token, pos) if token else -1
        if at < 0:
            offsets.append((-1, -1))
            continue
        offsets.append((at, at + len(token)))
        pos = at + len(token)
    return offsets


def span_times(
    utt: Utterance, offsets: list[tuple[int, int]], begin: int, end: int
) -> tuple[float | None, float | None]:
    """Start and end seconds of a character span, from word timings or the utterance's."""
    inside = [
        w
        for w, (b, e) in zip(utt.words, offsets, strict=True)
        if b >= 0 and b >= begin and e <= end
    ]
    if inside:
        return inside[0].start, inside[-1].end
    return utt.start, utt.end
