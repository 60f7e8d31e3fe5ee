"""Script adherence: which key lines of a playbook variant the rep actually said, with quotes.

Each rep sentence is embedded with the MiniLM encoder and compared (cosine) with each key
line; a line counts as said when its best-matching rep sentence reaches the threshold. The
threshold was calibrated on the train split of bench/data/adherence/script_lines.txt
(`python bench/eval_adherence.py` recomputes it and reports precision and recall on the
held-out lines).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlp.encoder import FloatMatrix, SentenceEncoder
from nlp.types import Sentence

# Calibrated by bench/eval_adherence.py on the train split (highest F1 there).
DEFAULT_THRESHOLD = 0.52
VERSION = "adherence-1"


@dataclass(frozen=True, slots=True)
class LineMatch:
    """One key line: whether it was said, and the closest rep sentence as evidence."""

    line: str
    said: bool
    score: float
    quote: str | None
    utterance: int | None
    start: float | None
    end: float | None


@dataclass(frozen=True, slots=True)
class Adherence:
    """All key lines of a variant for one conversation."""

    lines: list[LineMatch]

    @property
    def said(self) -> int:
        """How many key lines were said."""
        return sum(1 for m in self.lines if m.said)

    @property
    def share(self) -> float | None:
        """The share of key lines said (None for a script without lines)."""
        return self.said / len(self.lines) if self.lines else None


def rep_sentences(sentences: Sequence[Sentence]) -> list[Sentence]:
    """The rep's sentences; a transcript without identified rep speech falls back to 'unknown'."""
    rep = [s for s in sentences if s.speaker == "rep"]
    return rep or [s for s in sentences if s.speaker == "unknown"]


def similarities(line_vecs: FloatMatrix, sentence_vecs: FloatMatrix) -> FloatMatrix:
    """Cosine similarities (lines x sentences) of unit-length embeddings."""
    out: FloatMatrix = (line_vecs @ sentence_vecs.T).astype(np.float32)
    return out


def match_lines(
    lines: Sequence[str],
    sentences: Sequence[Sentence],
    sims: FloatMatrix,
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> Adherence:
    """Pick each line's best sentence from a similarity matrix and apply the threshold."""
    matches: list[LineMatch] = []
    for i, line in enumerate(lines):
        if not sentences:
            matches.append(LineMatch(line, False, 0.0, None, None, None, None))
            continue
        j = int(np.argmax(sims[i]))
        score = float(sims[i, j])
        best = sentences[j]
        said = score >= threshold
        matches.append(
            LineMatch(
                line=line,
                said=said,
                score=round(score, 4),
                quote=best.text if said else None,
                utterance=best.utterance if said else None,
                start=best.start_s if said else None,
                end=best.end_s if said else None,
            )
        )
    return Adherence(matches)


class ScriptAdherence:
    """Scores conversations against key lines with a shared sentence encoder."""

    def __init__(self, encoder: SentenceEncoder, *, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.encoder = encoder
        self.threshold = threshold

    def score(self, lines: Sequence[str], sentences: Sequence[Sentence]) -> Adherence:
        """Which of the lines the rep said in these sentences."""
        said_by_rep = rep_sentences(sentences)
        if not lines or not said_by_rep:
            return match_lines(lines, [], np.zeros((len(lines), 0), np.float32))
        vecs = self.encoder.encode([*lines, *(s.text for s in said_by_rep)])
        sims = similarities(vecs[: len(lines)], vecs[len(lines) :])
        return match_lines(lines, said_by_rep, sims, threshold=self.threshold)


@dataclass(frozen=True, slots=True)
class LabelledPair:
    """A key line, a rep sentence, whether the sentence says the line, and the split."""

    line: str
    sentence: str
    said: bool
    split: str  # train | test


LINE_RE = re.compile(r"^LINE (?P<line>.+?)(?P<test> \[test\])?$")


def load_labelled(path: Path, *, cross_negatives: int = 2) -> list[LabelledPair]:
    """Pairs from the labelled file, plus each line against the paraphrases of the next lines.

    The cross pairs stand for the rest of a call: other script lines said well must not count
    as this line. They are drawn within a split so the test lines stay unseen in training.
    """
    blocks: list[tuple[str, str, list[str], list[str]]] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        m = LINE_RE.match(text)
        if m:
            blocks.append((m["line"], "test" if m["test"] else "train", [], []))
        elif text[:2] in ("+ ", "- ") and blocks:
            _, _, pos, neg = blocks[-1]
            (pos if text[0] == "+" else neg).append(text[2:].strip())
        else:
            raise ValueError(f"{path}: cannot read line {raw!r}")
    pairs: list[LabelledPair] = []
    for line, split, pos, neg in blocks:
        pairs += [LabelledPair(line, s, True, split) for s in pos]
        pairs += [LabelledPair(line, s, False, split) for s in neg]
    for split in ("train", "test"):
        same = [b for b in blocks if b[1] == split]
        for i, (line, _, _, _) in enumerate(same):
            for k in range(1, cross_negatives + 1):
                other = same[(i + k) % len(same)]
                if other[0] != line:
                    pairs += [LabelledPair(line, s, False, split) for s in other[2]]
    return pairs


def precision_recall(said: Sequence[bool], predicted: Sequence[bool]) -> tuple[float, float, float]:
    """Precision, recall and F1 of predictions against labels."""
    a, b = np.asarray(said, dtype=bool), np.asarray(predicted, dtype=bool)
    tp, fp, fn = float((a & b).sum()), float((~a & b).sum()), float((a & ~b).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def calibrate_threshold(scores: Sequence[float], said: Sequence[bool]) -> float:
    """The similarity threshold (two decimals) with the best F1; ties go to the higher one."""
    sim = np.asarray(scores, dtype=np.float64)
    best, best_f1 = 1.0, -1.0
    for t in np.unique(np.round(sim, 2)):
        f1 = precision_recall(said, sim >= t)[2]
        if f1 >= best_f1:
            best, best_f1 = float(t), f1
    return round(best, 2)
