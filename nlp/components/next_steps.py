"""Next step agreed: a concrete follow-up proposed by one side and accepted by the other."""

from __future__ import annotations

import re
from collections.abc import Sequence

from nlp.types import AnalysisDoc, Sentence

# A concrete follow-up: something sent, scheduled or booked, usually with a time.
COMMITMENT = re.compile(
    r"\b(i'll|i will|we'll|we will|let's|let us|can you|could you|would you|please|shall we|"
    r"i can|we can|happy to)\b.{0,60}\b(send|schedule|book|set up|setup|share|follow up|"
    r"loop in|introduce|meet|talk|call|demo|trial|pilot|proposal|quote|contract|invite|"
    r"calendar)\b|\bnext steps?\b|\b(calendar|meeting) invite\b|\bsee you (on|next)\b",
    re.IGNORECASE,
)
WHEN = re.compile(
    r"\b(today|tomorrow|tonight|monday|tuesday|wednesday|thursday|friday|next (week|month|"
    r"quarter)|this week|end of (the )?(day|week|month)|eod|by the \w+|on the \d+\w*|"
    r"\d{1,2}(:\d\d)? ?(am|pm)|in (a|two|three|\d+) (days|weeks))\b",
    re.IGNORECASE,
)
ACCEPT = re.compile(
    r"^\W*(yes|yeah|yep|sure|absolutely|definitely|of course|sounds (good|great|perfect)|"
    r"perfect|great|works (for me|for us)|that works|ok(ay)?|deal|will do|looking forward|"
    r"thank you|thanks)\b",
    re.IGNORECASE,
)
DECLINE = re.compile(
    r"\b(no|not (now|yet|interested)|don't|can't|won't|hold off|pass)\b", re.IGNORECASE
)


class NextStepComponent:
    """Sets metrics['next_step_agreed'] and the evidence sentences."""

    name: str = "next_steps"
    version: str = "1"
    requires: tuple[str, ...] = ("sentences",)
    assigns: tuple[str, ...] = ("metrics",)

    def initialize(self) -> None:
        """Nothing to load."""

    def __call__(self, docs: Sequence[AnalysisDoc]) -> None:
        for doc in docs:
            if doc.kind != "call":
                continue
            agreed, evidence = next_step(doc.sentences)
            doc.metrics["next_step_agreed"] = agreed
            doc.metrics["next_step_evidence"] = [
                {
                    "utterance": s.utterance,
                    "quote": s.text,
                    "span": [s.begin, s.end],
                    "speaker": s.speaker,
                    "start": s.start_s,
                    "end": s.end_s,
                }
                for s in evidence
            ]


def next_step(sentences: Sequence[Sentence]) -> tuple[bool, list[Sentence]]:
    """Whether a timed follow-up was proposed and accepted; the proposal and the acceptance."""
    for i, sent in enumerate(sentences):
        if not (COMMITMENT.search(sent.text) and WHEN.search(sent.text)):
            continue
        # Accepted by the other side in the next two sentences of theirs ...
        others = [s for s in sentences[i + 1 : i + 6] if s.speaker != sent.speaker][:2]
        for reply in others:
            if ACCEPT.search(reply.text) and not DECLINE.search(reply.text[:30]):
                return True, [sent, reply]
        # ... or the rep commits to what the customer asked for ("Can you send ...?" "I will").
        if sent.speaker == "rep" and i > 0 and sentences[i - 1].speaker == "customer":
            prev = sentences[i - 1]
            if COMMITMENT.search(prev.text) and prev.is_question:
                return True, [prev, sent]
    return False, []
