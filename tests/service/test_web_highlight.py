"""Marking evidence spans in transcript text: overlaps, nesting, bad spans, hostile text."""

from __future__ import annotations

from service.web.pages.highlight import Span, highlight


def test_nested_and_overlapping_spans_are_cut_into_marked_pieces() -> None:
    text = "We use HubSpot and it is too expensive."
    spans = [Span(0, len(text), 1, "objection", 12.5), Span(7, 14, 2, "competitor", 12.0)]
    html = str(highlight(text, spans))
    assert html.count("<mark") == 3
    assert '<mark class="ev competitor objection" data-insights="1 2"' in html
    # The piece covered by both seeks to the earlier start.
    assert 'data-seek="12.00" data-insight="2">HubSpot</mark>' in html
    assert 'data-seek="12.50" data-insight="1">We use </mark>' in html


def test_text_is_escaped_and_bad_spans_are_ignored() -> None:
    text = "<script>alert(1)</script> price"
    html = str(
        highlight(
            text,
            [
                Span(26, 31, 3, "objection", None),
                Span(40, 50, 4, "x", 1.0),
                Span(5, 2, 5, "x", 1.0),
            ],
        )
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<mark class="ev objection" data-insights="3">price</mark>' in html
    assert "data-seek" not in html  # no timestamp (an email): nothing to seek
    assert str(highlight("plain", [])) == "plain"
