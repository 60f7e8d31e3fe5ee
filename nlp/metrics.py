"""Conversation metrics from speaker-labelled segments (talk ratio, monologues, questions...)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from nlp.types import Segment

# A pause shorter than this inside one speaker's talk does not end their monologue.
MONOLOGUE_GAP_S = 1.5


@dataclass(frozen=True, slots=True)
class CallMetrics:
    """Talk-pattern metrics of one call; ratios are None when there is nothing to divide by."""

    duration_s: float
    rep_talk_s: float
    customer_talk_s: float
    rep_talk_ratio: float | None
    longest_rep_monologue_s: float
    longest_customer_story_s: float
    rep_questions: int
    rep_questions_per_min: float | None
    speaker_switches: int
    interactivity_per_min: float | None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _talk_time(segment: Segment) -> float:
    if segment.words:
        return sum(max(0.0, w.end - w.start) for w in segment.words)
    return max(0.0, segment.end - segment.start)


def _longest_run(segments: Sequence[Segment], speaker: str) -> float:
    longest = 0.0
    run_start: float | None = None
    run_end = 0.0
    for seg in segments:
        if seg.speaker == speaker:
            if run_start is None or seg.start - run_end > MONOLOGUE_GAP_S:
                run_start = seg.start
            run_end = seg.end
            longest = max(longest, run_end - run_start)
        elif seg.speaker != "unknown":
            run_start = None
    return longest


def call_metrics(segments: Sequence[Segment], *, duration_s: float) -> CallMetrics:
    """Compute talk metrics; segments must be in time order."""
    rep_talk = sum(_talk_time(s) for s in segments if s.speaker == "rep")
    cust_talk = sum(_talk_time(s) for s in segments if s.speaker == "customer")
    total = rep_talk + cust_talk
    minutes = duration_s / 60.0 if duration_s > 0 else 0.0
    rep_questions = sum(s.text.count("?") for s in segments if s.speaker == "rep")
    known = [s.speaker for s in segments if s.speaker != "unknown"]
    switches = sum(1 for a, b in zip(known, known[1:], strict=False) if a != b)
    return CallMetrics(
        duration_s=round(duration_s, 3),
        rep_talk_s=round(rep_talk, 3),
        customer_talk_s=round(cust_talk, 3),
        rep_talk_ratio=round(rep_talk / total, 4) if total > 0 else None,
        longest_rep_monologue_s=round(_longest_run(segments, "rep"), 3),
        longest_customer_story_s=round(_longest_run(segments, "customer"), 3),
        rep_questions=rep_questions,
        rep_questions_per_min=round(rep_questions / minutes, 3) if minutes else None,
        speaker_switches=switches,
        interactivity_per_min=round(switches / minutes, 3) if minutes else None,
    )
