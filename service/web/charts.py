"""Chart helper: series in, a Plotly figure (as JSON) out, drawn by plotly.js on the page."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

# Colour-blind-safe palette (Okabe-Ito), in the order series are drawn.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


@dataclass(frozen=True, slots=True)
class Series:
    """One named series; links[i] is where clicking point i goes (the evidence behind it)."""

    name: str
    x: Sequence[Any]
    y: Sequence[float]
    links: Sequence[str | None] = field(default_factory=tuple)


def _layout(title: str, x_title: str, y_title: str, barmode: str | None) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title, "x": 0, "font": {"size": 15}},
        "margin": {"l": 48, "r": 16, "t": 40, "b": 48},
        "height": 300,
        "font": {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 12},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "xaxis": {"title": {"text": x_title}, "gridcolor": "#eceff3", "automargin": True},
        "yaxis": {
            "title": {"text": y_title},
            "gridcolor": "#eceff3",
            "rangemode": "tozero",
            "automargin": True,
        },
        "legend": {"orientation": "h", "y": -0.18, "yanchor": "top"},
        "hovermode": "closest",
    }
    if barmode:
        layout["barmode"] = barmode
    return layout


def _trace(kind: str, s: Series, colour: str) -> dict[str, Any]:
    trace: dict[str, Any] = {
        "type": kind,
        "name": s.name,
        "x": list(s.x),
        "y": list(s.y),
        "marker": {"color": colour},
    }
    if kind == "scatter":
        trace["mode"] = "lines+markers"
        trace["line"] = {"color": colour, "width": 2}
    if s.links:
        trace["customdata"] = list(s.links)
    return trace


def figure(
    series: Sequence[Series],
    *,
    title: str,
    kind: str = "bar",
    x_title: str = "",
    y_title: str = "",
    barmode: str | None = "group",
) -> dict[str, Any]:
    """A Plotly figure dict: bar (grouped) or line ("scatter") traces, one per series."""
    if kind not in ("bar", "scatter"):
        raise ValueError(f"unknown chart kind {kind!r}")
    data = [_trace(kind, s, PALETTE[i % len(PALETTE)]) for i, s in enumerate(series)]
    return {
        "data": data,
        "layout": _layout(title, x_title, y_title, barmode if kind == "bar" else None),
    }


def reference_line(fig: dict[str, Any], *, y: float, label: str) -> dict[str, Any]:
    """Add a dotted horizontal line across the plot (a limit or a target) with its label."""
    layout = fig["layout"]
    layout.setdefault("shapes", []).append(
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "y0": y,
            "y1": y,
            "line": {"color": "#D55E00", "width": 1.5, "dash": "dot"},
        }
    )
    layout.setdefault("annotations", []).append(
        {
            "xref": "paper",
            "x": 1,
            "y": y,
            "text": label,
            "showarrow": False,
            "xanchor": "right",
            "yanchor": "bottom",
            "font": {"color": "#D55E00", "size": 11},
        }
    )
    return fig


def chart_html(fig: dict[str, Any], *, label: str) -> Markup:
    """The element app.js turns into a chart (the figure travels as escaped JSON)."""
    payload = json.dumps(fig, separators=(",", ":"), default=str)
    return Markup('<div class="chart" role="img" aria-label="{}" data-figure="{}"></div>').format(
        escape(label), payload
    )
