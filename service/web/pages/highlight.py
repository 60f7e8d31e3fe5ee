"""Marking evidence spans inside a transcript turn (spans may overlap or nest)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True, slots=True)
class Span:
    """The characters [begin, end) of a text that an insight quotes."""

    begin: int
    end: int
    insight_id: int
    kind: str
    start_s: float | None


def highlight(text: str, spans: Sequence[Span]) -> Markup:
    """The text, escaped, with each evidence span wrapped in a <mark> that seeks the audio."""
    valid = [
        Span(max(0, s.begin), min(len(text), s.end), s.insight_id, s.kind, s.start_s)
        for s in spans
        if s.begin < s.end and s.begin < len(text) and s.end > 0
    ]
    if not valid:
        return Markup(escape(text))
    # Cut the text at every span boundary; each piece is covered by a (possibly empty) set.
    cuts = sorted({0, len(text), *(s.begin for s in valid), *(s.end for s in valid)})
    out: list[str] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        piece = escape(text[a:b])
        cover = [s for s in valid if s.begin <= a and b <= s.end]
        if not cover:
            out.append(str(piece))
            continue
        kinds = " ".join(sorted({s.kind for s in cover}))
        ids = " ".join(str(s.insight_id) for s in cover)
        first = min(cover, key=lambda s: (s.start_s is None, s.start_s or 0.0, s.insight_id))
        seek = (
            Markup(' data-seek="{:.2f}" data-insight="{}"').format(first.start_s, first.insight_id)
            if first.start_s is not None
            else Markup("")
        )
        out.append(
            str(
                Markup('<mark class="ev {}" data-insights="{}"{}>{}</mark>').format(
                    kinds, ids, seek, piece
                )
            )
        )
    return Markup("".join(out))
