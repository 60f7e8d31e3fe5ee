"""Mono diarization with the real Resemblyzer encoder, and the DER metric itself."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from nlp.diarize import (
    Diarizer,
    ResemblyzerDiarizer,
    SpeakerTurn,
    cluster_embeddings,
    diarization_error_rate,
    estimate_speakers,
)
from nlp.transcribe import Transcriber, label_for
from nlp.types import Transcript, Word

from .conftest import decode, load_reference, reference_turns

# Measured: DER 0.035 (wav), 0.040 (mp3), 0.039 (opus) on dialogue_mono, no collar; the
# bound leaves room for other CPUs' floating point and library versions.
MAX_DER = 0.10


@pytest.mark.parametrize("name", ["dialogue_mono.wav", "dialogue_mono.mp3", "dialogue_mono.opus"])
def test_der_on_the_mono_dialogue(diarizer: Diarizer, name: str) -> None:
    turns = diarizer.diarize(decode(name).mono(), 16000)
    assert len({t.label for t in turns}) == 2
    assert all(t.start < t.end for t in turns)
    assert [t.start for t in turns] == sorted(t.start for t in turns)
    assert diarization_error_rate(reference_turns("dialogue_mono"), turns) < MAX_DER


def test_speaker_count_is_estimated_when_not_given() -> None:
    turns = ResemblyzerDiarizer(num_speakers=None).diarize(
        decode("dialogue_mono.wav").mono(), 16000
    )
    assert len({t.label for t in turns}) == 2


def test_rep_identified_from_self_introduction(mono_diarized: Transcript) -> None:
    intro = next(s for s in mono_diarized.segments if "this is dana" in s.text.lower())
    assert intro.speaker == "rep"
    labelled = [(seg.speaker, w) for seg in mono_diarized.segments for w in seg.words]
    right = 0
    turns = load_reference("dialogue_mono")
    for turn in turns:
        inside = Counter(s for s, w in labelled if turn.start <= (w.start + w.end) / 2 <= turn.end)
        right += bool(inside) and inside.most_common(1)[0][0] == turn.speaker
    assert right >= 0.8 * len(turns)


def test_mono_without_evidence_is_unknown_but_keeps_turns(
    transcriber: Transcriber, diarizer: Diarizer, mono_transcript: Transcript
) -> None:
    # No names given, and the rep's "thanks for taking my call" does not fit an inbound call.
    transcript = transcriber.transcribe(
        decode("dialogue_mono.wav"), diarizer=diarizer, direction="inbound"
    )
    assert {seg.speaker for seg in transcript.segments} == {"unknown"}
    # The diarizer's turns still split the segments where pauses alone would not.
    assert len(transcript.segments) >= 8 > len(mono_transcript.segments)


def test_diarizer_finds_nobody_in_silence(diarizer: Diarizer) -> None:
    assert diarizer.diarize(np.zeros(16000 * 3, dtype=np.float32), 16000) == []


def test_diarizer_rejects_other_sample_rates(diarizer: Diarizer) -> None:
    with pytest.raises(ValueError, match="16000"):
        diarizer.diarize(np.zeros(8000, dtype=np.float32), 8000)


def test_import_without_the_diarize_extra() -> None:
    code = (
        "import sys\n"
        "for name in ('resemblyzer', 'torch', 'sklearn'):\n"
        "    sys.modules[name] = None\n"
        "import nlp.diarize, nlp.transcribe\n"
        "assert nlp.diarize.load_default_diarizer() is None\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def turns(*spec: tuple[float, float, str]) -> list[SpeakerTurn]:
    """SpeakerTurns from (start, end, label) tuples."""
    return [SpeakerTurn(*t) for t in spec]


REFERENCE = turns((0, 4, "rep"), (4, 7, "customer"), (7, 10, "rep"))


def test_der_perfect_is_zero() -> None:
    assert diarization_error_rate(REFERENCE, REFERENCE) == 0.0


def test_der_maps_labels_before_scoring() -> None:
    renamed = turns((0, 4, "B"), (4, 7, "A"), (7, 10, "B"))
    assert diarization_error_rate(REFERENCE, renamed) == 0.0


def test_der_counts_missed_speech_false_alarm_and_confusion() -> None:
    missed = turns((0, 4, "B"), (4, 7, "A"))  # the last 3 s of 10 are not found
    assert diarization_error_rate(REFERENCE, missed) == pytest.approx(0.3)
    extra = [*REFERENCE, SpeakerTurn(10, 12, "rep")]  # 2 s of speech where nobody talks
    assert diarization_error_rate(REFERENCE, extra) == pytest.approx(0.2)
    confused = turns((0, 4, "B"), (4, 7, "A"), (7, 10, "A"))  # last turn given to the customer
    assert diarization_error_rate(REFERENCE, confused) == pytest.approx(0.3)
    assert diarization_error_rate(REFERENCE, []) == pytest.approx(1.0)
    assert diarization_error_rate([], []) == 0.0


def test_der_with_overlapping_reference_speech() -> None:
    reference = turns((0, 5, "rep"), (4, 6, "customer"))  # 1 s spoken by both: 7 s of speech
    single = turns((0, 4, "X"), (4, 6, "Y"))  # the overlap second is heard as one speaker
    assert diarization_error_rate(reference, single) == pytest.approx(1 / 7)


def test_spectral_clustering_separates_voices() -> None:
    rng = np.random.default_rng(0)
    centres = np.abs(rng.normal(size=(3, 256)))
    members = [np.abs(c + rng.normal(scale=0.3, size=(15, 256))) for c in centres]
    embeddings = np.concatenate(members).astype(np.float32)
    labels = cluster_embeddings(embeddings, num_speakers=3)
    groups = [set(labels[i * 15 : (i + 1) * 15]) for i in range(3)]
    assert all(len(g) == 1 for g in groups) and len(set.union(*groups)) == 3
    similarity = (embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)).astype(float)
    assert estimate_speakers(similarity @ similarity.T, max_speakers=6) == 3
    estimated = cluster_embeddings(embeddings, num_speakers=None, min_windows_for_estimate=20)
    assert len(set(estimated)) == 3
    assert cluster_embeddings(embeddings[:1], num_speakers=2) == [0]


def test_word_takes_the_label_of_the_turn_covering_its_midpoint() -> None:
    spoken = turns((0, 2, "A"), (2, 4, "B"), (6, 8, "A"))
    assert label_for(Word("hi", 0.5, 0.9, 1.0), spoken) == "A"
    assert label_for(Word("across", 1.7, 2.5, 1.0), spoken) == "B"  # midpoint 2.1
    assert label_for(Word("late", 4.6, 4.8, 1.0), spoken) == "B"  # no turn: nearest one
    assert label_for(Word("x", 0, 1, 1.0), []) == ""
