"""The metrics an experiment can be judged on: what each measures and how it is compared."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from nlp.objections import CATEGORIES

Kind = Literal["proportion", "mean"]
Level = Literal["conversation", "deal"]


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric: its name in the API, its words on the page, and its default effect size."""

    name: str
    label: str
    kind: Kind
    level: Level  # what one observation is: a conversation or a closed deal
    effect: float  # the change worth detecting, for the sample-size estimate
    unit: str  # "points" for shares, else the unit of the mean
    scale: float  # multiply differences by this to show them in `unit`


def _catalogue() -> dict[str, Metric]:
    metrics = [
        Metric(
            "objection_rate",
            "customer objection rate",
            "proportion",
            "conversation",
            0.05,
            "points",
            100.0,
        ),
        *(
            Metric(
                f"objection_rate.{c}",
                f"{c} objection rate",
                "proportion",
                "conversation",
                0.05,
                "points",
                100.0,
            )
            for c in CATEGORIES
        ),
        Metric(
            "stage_advanced",
            "deals advancing a stage within the window",
            "proportion",
            "conversation",
            0.05,
            "points",
            100.0,
        ),
        Metric("won_rate", "won rate of closed deals", "proportion", "deal", 0.05, "points", 100.0),
        Metric(
            "next_step_agreed",
            "calls with a next step agreed",
            "proportion",
            "conversation",
            0.05,
            "points",
            100.0,
        ),
        Metric("rep_talk_ratio", "rep talk ratio", "mean", "conversation", 0.05, "points", 100.0),
        Metric(
            "question_rate",
            "rep questions per minute",
            "mean",
            "conversation",
            0.25,
            "questions per minute",
            1.0,
        ),
        Metric(
            "adherence", "share of script lines said", "mean", "conversation", 0.10, "points", 100.0
        ),
    ]
    return {m.name: m for m in metrics}


METRICS: dict[str, Metric] = _catalogue()
BREAKDOWN = tuple(f"objection_rate.{c}" for c in CATEGORIES)


def objection_breakdown(named: Sequence[str]) -> list[str]:
    """The per-category objection rates shown beside an experiment naming any objection metric.

    Categories the experiment names itself keep their pre-registered role and are left out.
    """
    if not any(m.startswith("objection_rate") for m in named):
        return []
    return [m for m in BREAKDOWN if m not in named]
