"""The experiment pages: the list, and one experiment's variants, intervals and verdicts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from service.db import SessionDep
from service.experiments import service
from service.experiments.metrics import METRICS
from service.experiments.results import experiment_results
from service.experiments.schemas import ComparisonOut, MetricResultOut, ResultsOut
from service.web.charts import Series, chart_html, figure
from service.web.deps import ViewerDep
from service.web.rendering import render

router = APIRouter(include_in_schema=False)


def show(value: float | None, metric: str, *, diff: bool = False) -> str:
    """A metric value (or a difference) in the words of the page: 31.2%, +4.0 pts, 1.25/min."""
    if value is None:
        return "-"
    m = METRICS[metric]
    if m.unit == "points":
        return f"{value * 100:+.1f} pts" if diff else f"{value * 100:.1f}%"
    return f"{value:+.2f}" if diff else f"{value:.2f}"


def interval(lo: float | None, hi: float | None, metric: str) -> str:
    """'-3.0 to +15.0 pts' style."""
    if lo is None or hi is None:
        return "-"
    return f"{show(lo, metric, diff=True)} to {show(hi, metric, diff=True)}"


@dataclass(frozen=True, slots=True)
class Row:
    """One table row: a metric under one analysis for one treatment variant."""

    metric: MetricResultOut
    comp: ComparisonOut


def sequence_chart(metric: MetricResultOut, comp: ComparisonOut) -> Markup:
    """The always-valid interval of the difference, day by day, with zero marked."""
    scale = METRICS[metric.metric].scale
    days = [p.day for p in comp.daily]

    def ys(attr: str) -> list[float | None]:
        out: list[float | None] = []
        for p in comp.daily:
            v = getattr(p, attr)
            out.append(None if v is None else round(v * scale, 4))
        return out

    unit = "points" if METRICS[metric.metric].unit == "points" else METRICS[metric.metric].unit
    fig = figure(
        [
            Series("upper bound", days, ys("upper")),  # type: ignore[arg-type]
            Series("lower bound", days, ys("lower")),  # type: ignore[arg-type]
            Series(f"{comp.variant} minus control", days, ys("estimate")),  # type: ignore[arg-type]
        ],
        title=f"{metric.label}: variant {comp.variant} minus control, always-valid 95% interval",
        kind="scatter",
        x_title="day",
        y_title=f"difference ({unit})",
    )
    upper, lower, est = fig["data"]
    for band in (upper, lower):
        band.update(mode="lines", line={"color": "#0072B2", "width": 0}, showlegend=False)
    lower["fill"] = "tonexty"
    lower["fillcolor"] = "rgba(0,114,178,0.18)"
    lower["name"] = "95% always-valid interval"
    lower["showlegend"] = True
    est["line"] = {"color": "#D55E00", "width": 2}
    est["marker"] = {"color": "#D55E00", "size": 4}
    fig["layout"]["yaxis"]["rangemode"] = "normal"
    fig["layout"]["yaxis"]["zeroline"] = True
    fig["layout"]["yaxis"]["zerolinecolor"] = "#1d2330"
    fig["layout"]["yaxis"]["zerolinewidth"] = 1.5
    return chart_html(fig, label=f"Daily always-valid interval of {metric.label}")


def view(res: ResultsOut) -> dict[str, Any]:
    """Everything the template shows, prepared here so the template stays plain."""
    tested = [m for m in res.metrics if m.role != "descriptive" or m.metric == "adherence"]
    primary = [m for m in res.metrics if m.role == "primary" and m.analysis == "itt"]
    secondary = [m for m in res.metrics if m.role == "secondary" and m.analysis == "itt"]
    breakdown = [m for m in res.metrics if m.role == "breakdown" and m.analysis == "itt"]
    charts = [
        sequence_chart(m, c)
        for m in res.metrics
        if m.analysis == "itt" and m.role in ("primary", "secondary")
        for c in m.comparisons
    ]
    return {
        "r": res,
        "rows": [Row(m, c) for m in tested for c in m.comparisons],
        "primary": primary,
        "secondary": secondary,
        "breakdown": breakdown,
        "charts": charts,
        "show": show,
        "interval": interval,
    }


@router.get("/experiments")
def experiments_page(request: Request, viewer: ViewerDep, session: SessionDep) -> HTMLResponse:
    """The tenant's experiments."""
    items = service.list_experiments(session, tenant_id=viewer.tenant_id)
    return render(request, "experiments.html", {"items": items, "metrics": METRICS})


@router.get("/experiments/{experiment_id}")
def experiment_page(
    experiment_id: str, request: Request, viewer: ViewerDep, session: SessionDep
) -> HTMLResponse:
    """One experiment: verdicts, variants side by side, intervals over time, adherence."""
    loaded = service.get_experiment(
        session, tenant_id=viewer.tenant_id, experiment_id=experiment_id
    )
    res = experiment_results(session, loaded=loaded)
    return render(request, "experiment.html", view(res))
