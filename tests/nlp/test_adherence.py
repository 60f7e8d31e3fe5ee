"""Script adherence with the real MiniLM encoder: lines said in other words count, with quotes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nlp.adherence import (
    DEFAULT_THRESHOLD,
    ScriptAdherence,
    calibrate_threshold,
    load_labelled,
)
from nlp.encoder import EncoderConfig, SentenceEncoder
from nlp.types import Sentence

DATA = Path(__file__).resolve().parents[2] / "bench" / "data" / "adherence" / "script_lines.txt"
LINES = [
    "Before we start, what would make this call a success for you?",
    "Who else is involved in making a decision like this?",
    "If security is the concern, I can send our SOC 2 report today.",
]


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder(EncoderConfig(threads=1))


def sent(i: int, speaker: str, text: str) -> Sentence:
    return Sentence(i, 0, len(text), text, speaker, float(i), float(i) + 1.0, text.endswith("?"))  # type: ignore[arg-type]


def test_paraphrased_lines_count_and_carry_their_quote(encoder: SentenceEncoder) -> None:
    sentences = [
        sent(0, "rep", "Before we dive in, what would you like to get out of today's call?"),
        sent(1, "customer", "Who else is involved in making a decision like this? Just me."),
        sent(2, "rep", "Our pricing is per seat and per month."),
    ]
    result = ScriptAdherence(encoder).score(LINES, sentences)
    said = {m.line: m for m in result.lines}
    opener = said[LINES[0]]
    assert opener.said and opener.quote == sentences[0].text and opener.start == 0.0
    # The customer said the discovery line, not the rep: it does not count for the rep.
    assert not said[LINES[1]].said and said[LINES[1]].quote is None
    assert not said[LINES[2]].said
    assert result.said == 1 and result.share == pytest.approx(1 / 3)


def test_no_rep_speech_means_nothing_said(encoder: SentenceEncoder) -> None:
    result = ScriptAdherence(encoder).score(LINES, [sent(0, "customer", "Hello there.")])
    assert result.said == 0 and all(m.quote is None for m in result.lines)
    assert ScriptAdherence(encoder).score([], [sent(0, "rep", "Hi.")]).share is None


def test_labelled_set_is_split_by_line_and_big_enough() -> None:
    pairs = load_labelled(DATA)
    assert len(pairs) >= 400
    train_lines = {p.line for p in pairs if p.split == "train"}
    test_lines = {p.line for p in pairs if p.split == "test"}
    assert train_lines and test_lines and not train_lines & test_lines
    assert sum(p.said for p in pairs) >= 100


def test_shipped_threshold_is_the_calibration_on_the_train_split(encoder: SentenceEncoder) -> None:
    pairs = [p for p in load_labelled(DATA) if p.split == "train"]
    lines = encoder.encode([p.line for p in pairs])
    sents = encoder.encode([p.sentence for p in pairs])
    scores = (lines * sents).sum(axis=1)
    assert calibrate_threshold(list(scores), [p.said for p in pairs]) == DEFAULT_THRESHOLD
    said = np.array([p.said for p in pairs])
    # Paraphrases score clearly higher than non-matching sentences on average.
    assert scores[said].mean() > scores[~said].mean() + 0.2


def test_loader_rejects_unreadable_lines(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("LINE Hello there.\n* not a label\n")
    with pytest.raises(ValueError, match="cannot read"):
        load_labelled(bad)
