"""Transcription with the real tiny.en model: channels become speakers, words stay in order."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import ctranslate2
import numpy as np
import pytest

from nlp.audio import AudioError, DecodedAudio
from nlp.transcribe import (
    AsrConfig,
    Transcriber,
    bundled_model_path,
    channels_identical,
    group_segments,
    resolve_device,
    word_error_rate,
)
from nlp.types import Speaker, Transcript, Word

from .conftest import AUDIO, COMPETITORS, decode, load_reference

# Measured on the committed clip with tiny.en, beam 1: WER 0.14-0.17 (the en-gb voice is hard
# for tiny.en: "her part" for HubSpot, "tight -less water" for "tight this quarter").
MAX_STEREO_WER = 0.25
# Measured on dialogue_mono: WER 0.11 from the wav, 0.18 from the mp3 (24 kb/s) and the opus
# (16 kb/s); their words differ from the wav's by 0.14 and 0.10 ("Dana" heard as "Vayner").
MAX_EXTRA_WER = 0.10
MAX_FORMAT_DRIFT = 0.20


def all_words(transcript: Transcript) -> list[Word]:
    """Every word of a transcript, in order."""
    return [w for seg in transcript.segments for w in seg.words]


def speaker_of_turns(transcript: Transcript, name: str) -> list[tuple[str, str | None]]:
    """(reference speaker, majority speaker of the words inside that turn) for each turn."""
    labelled = [(seg.speaker, w) for seg in transcript.segments for w in seg.words]
    result: list[tuple[str, str | None]] = []
    for turn in load_reference(name):
        inside = Counter(
            spk for spk, w in labelled if turn.start <= (w.start + w.end) / 2 <= turn.end
        )
        result.append((turn.speaker, inside.most_common(1)[0][0] if inside else None))
    return result


def text_of(transcript: Transcript) -> str:
    """The whole transcript as one string."""
    return " ".join(seg.text for seg in transcript.segments)


def test_stereo_turns_get_the_channel_speaker(stereo_transcript: Transcript) -> None:
    turns = speaker_of_turns(stereo_transcript, "dialogue_stereo")
    right = sum(ref == got for ref, got in turns)
    assert right >= 0.9 * len(turns), turns
    assert {seg.speaker for seg in stereo_transcript.segments} == {"rep", "customer"}


def test_stereo_words_are_recognised(stereo_transcript: Transcript) -> None:
    reference = " ".join(turn.text for turn in load_reference("dialogue_stereo"))
    assert word_error_rate(reference, text_of(stereo_transcript)) < MAX_STEREO_WER
    # Spaces ignored: without hotwords tiny.en writes "sales force" on some CPUs (its int8
    # kernels differ), which the competitor matcher reads as Salesforce anyway.
    text = text_of(stereo_transcript).lower().replace(" ", "")
    for key in ("dana", "salesforce", "expensive", "budget", "proposal", "contract"):
        assert key in text


def test_stereo_transcript_is_well_formed(stereo_transcript: Transcript) -> None:
    words = all_words(stereo_transcript)
    starts = [w.start for w in words]
    assert starts == sorted(starts)
    assert all(0.0 <= w.prob <= 1.0 and w.start <= w.end and w.word for w in words)
    assert stereo_transcript.language == "en"
    assert stereo_transcript.duration == pytest.approx(42.0, abs=0.2)
    for seg in stereo_transcript.segments:
        assert seg.text == " ".join(w.word for w in seg.words)
        assert (seg.start, seg.end) == (seg.words[0].start, max(w.end for w in seg.words))
    # Roughly one segment per turn: turns are rebuilt from words, not split per VAD chunk.
    assert 8 <= len(stereo_transcript.segments) <= 16


def test_hotwords_keep_competitor_names(transcriber: Transcriber) -> None:
    transcript = transcriber.transcribe(decode("dialogue_stereo.wav"), hotwords=COMPETITORS)
    customer = " ".join(s.text for s in transcript.segments if s.speaker == "customer")
    assert "hubspot" in customer.lower().replace(" ", "")
    assert "salesforce" in customer.lower().replace(" ", "")


def test_channel_map_decides_who_is_who(transcriber: Transcriber) -> None:
    swapped = transcriber.transcribe(
        decode("dialogue_stereo.wav"), channels={0: "customer", 1: "rep"}
    )
    turns = speaker_of_turns(swapped, "dialogue_stereo")
    flipped = {"rep": "customer", "customer": "rep"}
    assert sum(flipped[ref] == got for ref, got in turns) >= 0.9 * len(turns)


def test_sequential_channels_give_the_same_transcript(stereo_transcript: Transcript) -> None:
    sequential = Transcriber(AsrConfig(num_workers=1, cpu_threads=1, beam_size=1))
    transcript = sequential.transcribe(decode("dialogue_stereo.wav"))
    assert word_error_rate(text_of(stereo_transcript), text_of(transcript)) <= 0.05
    assert [s.speaker for s in transcript.segments] == [
        s.speaker for s in stereo_transcript.segments
    ]


def test_fake_stereo_is_transcribed_once_as_mono(transcriber: Transcriber) -> None:
    audio = decode("fake_stereo.wav")
    assert audio.channels == 2
    transcript = transcriber.transcribe(audio)
    assert {seg.speaker for seg in transcript.segments} == {"unknown"}
    # Transcribing both copies would have given every word twice.
    assert text_of(transcript).lower().count("proposal") == 1
    reference = load_reference("short_mono")[0].text
    assert word_error_rate(reference, text_of(transcript)) < 0.3


def test_mono_without_diarizer_is_unknown(transcriber: Transcriber) -> None:
    transcript = transcriber.transcribe(decode("short_mono.wav"), rep_name="Dana Smith")
    assert transcript.segments
    assert {seg.speaker for seg in transcript.segments} == {"unknown"}


@pytest.mark.parametrize("name", ["dialogue_mono.mp3", "dialogue_mono.opus"])
def test_compressed_formats_give_nearly_the_wav_words(
    transcriber: Transcriber, mono_transcript: Transcript, name: str
) -> None:
    reference = " ".join(turn.text for turn in load_reference("dialogue_mono"))
    wav = text_of(mono_transcript)
    compressed = text_of(transcriber.transcribe(decode(name)))
    assert word_error_rate(reference, compressed) <= word_error_rate(reference, wav) + MAX_EXTRA_WER
    assert word_error_rate(wav, compressed) < MAX_FORMAT_DRIFT


def test_transcribe_file_decodes_within_the_configured_limit() -> None:
    limited = Transcriber(AsrConfig(max_duration_s=10))
    with pytest.raises(AudioError) as caught:
        limited.transcribe_file(AUDIO / "dialogue_stereo.wav")
    assert caught.value.code == "too_long"


def test_rejects_wrong_rate_and_unknown_roles(transcriber: Transcriber) -> None:
    with pytest.raises(ValueError, match="16000"):
        transcriber.transcribe(DecodedAudio(np.zeros((1, 8000), np.float32), sample_rate=8000))
    with pytest.raises(ValueError, match="agent"):
        transcriber.transcribe(decode("short_mono.wav"), channels={0: "agent"})  # type: ignore[dict-item]


def test_bundled_model_and_device_resolution() -> None:
    assert (Path(bundled_model_path()) / "model.bin").is_file()
    expected = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    device, compute_type = resolve_device(AsrConfig())
    assert (device, compute_type) == (expected, "float16" if expected == "cuda" else "int8")
    assert resolve_device(AsrConfig(device="cpu", compute_type="int8_float32")) == (
        "cpu",
        "int8_float32",
    )


def test_channels_identical() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(0, 0.1, 48000).astype(np.float32)
    b = rng.normal(0, 0.1, 48000).astype(np.float32)
    silent = np.zeros(48000, np.float32)
    assert channels_identical(a, a.copy())
    assert channels_identical(a, 0.5 * a)  # same signal at another gain
    assert not channels_identical(a, b)
    assert not channels_identical(a, silent)
    assert channels_identical(silent, silent)


def test_word_error_rate() -> None:
    assert word_error_rate("Hello, World!", "hello world") == 0.0
    assert word_error_rate("a b c d", "a x c d") == 0.25
    assert word_error_rate("a b c d", "a b") == 0.5
    assert word_error_rate("a b", "a b c d") == 1.0
    assert word_error_rate("", "") == 0.0


def test_group_segments_splits_at_speakers_clusters_and_pauses() -> None:
    def w(text: str, start: float) -> Word:
        return Word(text, start, start + 0.3, 0.9)

    labelled: list[tuple[str, Speaker, Word]] = [
        ("0", "rep", w("Hi", 0.0)),
        ("0", "rep", w("there.", 0.4)),
        ("0", "rep", w("Quick", 0.9)),  # sentence end, short pause: same turn
        ("1", "customer", w("Sure.", 1.4)),  # other speaker
        ("1", "customer", w("Go", 2.6)),  # sentence end and a 0.9 s pause
        ("1", "customer", w("ahead", 3.0)),
        ("1", "customer", w("please", 5.0)),  # 1.7 s pause without sentence end
        ("A", "unknown", w("one", 6.0)),
        ("B", "unknown", w("two", 6.4)),  # another diarized cluster, though both unknown
    ]
    segments = group_segments(labelled)
    assert [s.text for s in segments] == [
        "Hi there. Quick",
        "Sure.",
        "Go ahead",
        "please",
        "one",
        "two",
    ]
    speakers = ["rep", "customer", "customer", "customer", "unknown", "unknown"]
    assert [s.speaker for s in segments] == speakers
    assert segments[0].start == 0.0
    assert segments[0].end == pytest.approx(1.2)
