"""Plain data types shared by the transcription and analysis code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Speaker = Literal["rep", "customer", "unknown"]
SPEAKERS: tuple[Speaker, ...] = ("rep", "customer", "unknown")


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word with its timing (seconds) and probability."""

    word: str
    start: float
    end: float
    prob: float


@dataclass(slots=True)
class Segment:
    """A speaker turn: consecutive words of one speaker."""

    speaker: Speaker
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)


@dataclass(slots=True)
class Transcript:
    """The transcription of one recording."""

    segments: list[Segment]
    language: str
    duration: float
