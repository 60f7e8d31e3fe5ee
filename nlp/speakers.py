"""Decide which diarized cluster of a mono call is the rep, from what each cluster says."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final, Literal

from nlp.types import Speaker

Direction = Literal["outbound", "inbound"]

# Self-introductions; {name} is a first name. "Hi Dana" or "thanks Dana" (addressing someone)
# deliberately does not count: only a speaker introducing themself names their own role.
_INTRO_TEMPLATES: Final = (
    r"\b(?:this is|my name is|my name's|name's|i am|i'm|it's) {name}\b",
    r"\b{name} (?:here|speaking|from|calling)\b",
)
# Phrases only the rep says, used when nobody introduces themself by name. They depend on
# who placed the call, so each applies only when the direction does not contradict it.
_REP_PHRASES: Final[Mapping[Direction, tuple[str, ...]]] = {
    "inbound": (r"\bthanks? (?:you )?for calling\b", r"\bhow can i help you\b"),
    "outbound": (
        r"\bthanks? (?:you )?for taking my call\b",
        r"\bthe reason (?:for my call|i'm calling|i am calling)\b",
        r"\bis (?:now|this) (?:still )?a good time\b",
    ),
}


def identify_rep(
    utterances: Mapping[str, Sequence[str]],
    *,
    rep_name: str | None,
    customer_names: Sequence[str] = (),
    direction: Direction | None = None,
) -> dict[str, Speaker]:
    """Map cluster labels to rep/customer from self-introductions; "unknown" without evidence."""
    texts = {label: _normalize(" ".join(parts)) for label, parts in utterances.items()}
    rep_scores = _scores(texts, _first_names([rep_name] if rep_name else []))
    customer_scores = _scores(texts, _first_names(customer_names))
    if not any(rep_scores.values()) and not any(customer_scores.values()):
        rep_scores = _phrase_scores(texts, direction)

    roles: dict[str, Speaker] = dict.fromkeys(texts, "unknown")
    rep = _winner(rep_scores)
    if rep is not None:
        roles[rep] = "rep"
    customer_scores.pop(rep or "", None)
    customer = _winner(customer_scores)
    for label, score in customer_scores.items():
        if score > 0:
            roles[label] = "customer"
    if len(roles) == 2:
        # Two voices: once one role is known, the other voice has the other role.
        if rep is not None:
            roles = {label: "rep" if label == rep else "customer" for label in roles}
        elif customer is not None:
            roles = {label: "customer" if label == customer else "rep" for label in roles}
    return roles


def _normalize(text: str) -> str:
    """Lower-case words separated by single spaces, apostrophes kept."""
    return " ".join(re.findall(r"[a-z0-9']+", text.lower().replace("’", "'")))


def _first_names(names: Sequence[str]) -> list[str]:
    """The distinct normalised first names of people named in full or in part."""
    firsts = (_normalize(name).split(" ")[0] for name in names)
    return sorted({first for first in firsts if len(first) >= 2})


def _scores(texts: Mapping[str, str], names: Sequence[str]) -> dict[str, int]:
    """How many self-introductions with one of names each cluster says."""
    patterns = [
        re.compile(template.format(name=re.escape(name)))
        for name in names
        for template in _INTRO_TEMPLATES
    ]
    return {label: sum(len(p.findall(text)) for p in patterns) for label, text in texts.items()}


def _phrase_scores(texts: Mapping[str, str], direction: Direction | None) -> dict[str, int]:
    """How many rep-only phrases each cluster says, given the call direction if known."""
    allowed = [d for d in _REP_PHRASES if direction is None or d == direction]
    patterns = [re.compile(p) for d in allowed for p in _REP_PHRASES[d]]
    return {label: sum(len(p.findall(text)) for p in patterns) for label, text in texts.items()}


def _winner(scores: Mapping[str, int]) -> str | None:
    """The single cluster with the highest positive score; None when absent or tied."""
    best = max(scores.values(), default=0)
    leaders = [label for label, score in scores.items() if score == best]
    return leaders[0] if best > 0 and len(leaders) == 1 else None
