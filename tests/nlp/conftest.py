"""Fixtures for the nlp tests: the real tiny.en model and diarizer, loaded once per session."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from nlp.audio import DecodedAudio, decode_audio
from nlp.diarize import Diarizer, SpeakerTurn, load_default_diarizer
from nlp.transcribe import AsrConfig, Transcriber
from nlp.types import Transcript

AUDIO = Path(__file__).resolve().parent.parent / "data" / "audio"
COMPETITORS = "HubSpot Salesforce"


@dataclass(frozen=True)
class RefTurn:
    """One turn of a clip's reference JSON, as placed in the mix by bench/make_test_audio.py."""

    speaker: str
    start: float
    end: float
    text: str


def load_reference(name: str) -> list[RefTurn]:
    """The reference turns stored next to a clip (name without extension)."""
    data: dict[str, Any] = json.loads((AUDIO / f"{name}.json").read_text())
    return [RefTurn(t["speaker"], t["start"], t["end"], t["text"]) for t in data["turns"]]


def reference_turns(name: str) -> list[SpeakerTurn]:
    """The reference as SpeakerTurns, for DER."""
    return [SpeakerTurn(t.start, t.end, t.speaker) for t in load_reference(name)]


def decode(name: str) -> DecodedAudio:
    """Decode a committed clip with a generous limit."""
    return decode_audio(AUDIO / name, max_duration_s=600)


@pytest.fixture(scope="session")
def transcriber() -> Transcriber:
    """One Transcriber (one loaded model) shared by every test, as in a worker process."""
    return Transcriber(AsrConfig(model="", cpu_threads=1, num_workers=2, beam_size=1))


@pytest.fixture(scope="session")
def diarizer() -> Diarizer:
    """The built-in Resemblyzer diarizer (the `diarize` extra is part of the dev install)."""
    loaded = load_default_diarizer()
    if loaded is None:
        pytest.skip("the diarize extra (resemblyzer, torch, scikit-learn) is not installed")
    return loaded


@pytest.fixture(scope="session")
def stereo_transcript(transcriber: Transcriber) -> Transcript:
    """dialogue_stereo.wav transcribed with the default channel map and no hints."""
    return transcriber.transcribe(decode("dialogue_stereo.wav"))


@pytest.fixture(scope="session")
def mono_transcript(transcriber: Transcriber) -> Transcript:
    """dialogue_mono.wav transcribed without a diarizer."""
    return transcriber.transcribe(decode("dialogue_mono.wav"))


@pytest.fixture(scope="session")
def mono_diarized(transcriber: Transcriber, diarizer: Diarizer) -> Transcript:
    """dialogue_mono.wav transcribed with the diarizer and the rep's name."""
    return transcriber.transcribe(
        decode("dialogue_mono.wav"), diarizer=diarizer, rep_name="Dana Smith"
    )
