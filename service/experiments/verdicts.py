"""Plain-language verdicts: what a result means, in the words a sales manager would use."""

from __future__ import annotations

import math

from service.experiments.metrics import Metric
from service.experiments.stats.compare import Comparison


def _num(x: float, unit: str) -> str:
    return f"{x:.1f}" if unit == "points" else f"{x:.2f}"


def effect_words(metric: Metric, effect: float) -> str:
    """'a 5-point change' or 'a change of 0.25 questions per minute'."""
    size = effect * metric.scale
    if metric.unit == "points":
        return f"a {size:g}-point change"
    return f"a change of {size:g} {metric.unit}"


def verdict(
    *,
    metric: Metric,
    variant: str,
    comp: Comparison,
    significant: bool,
    corrected: int,
    more_needed: int | None,
    effect: float,
    family: str = "secondary",
) -> str:
    """One sentence (or two) saying what the data show for this variant and metric."""
    lo, hi = comp.sequence
    est = comp.diff[0]
    what = "calls" if metric.level == "conversation" else "closed deals"
    if not (math.isfinite(lo) and math.isfinite(hi) and math.isfinite(est)):
        return (
            f"Not enough data yet for {metric.label}: each variant needs {what} from at least "
            f"two {'units' if comp.control.clusters < 2 else 'clusters'} with this metric."
        )
    if metric.kind == "proportion" and comp.control.mean == comp.treatment.mean == 0.0:
        # Zero events on both sides give a zero-width interval, which says nothing yet.
        return (
            f"{metric.label[:1].upper()}{metric.label[1:]}: 0% in both variants so far "
            f"({comp.control.n:,} and {comp.treatment.n:,} {what}); nothing to compare yet."
        )
    s = metric.scale
    unit = metric.unit
    if significant:
        if est < 0:
            words = f"lowers {metric.label} by {_num(-est * s, unit)} {unit}"
            bounds = (-hi * s, -lo * s)
        else:
            words = f"raises {metric.label} by {_num(est * s, unit)} {unit}"
            bounds = (lo * s, hi * s)
        return (
            f"Variant {variant} {words}, 95% interval {_num(bounds[0], unit)} to "
            f"{_num(bounds[1], unit)} (always valid, however often the page is opened)."
        )
    interval = f"{_num(lo * s, unit)} to {_num(hi * s, unit)} {unit}"
    if corrected > 1 and (lo > 0 or hi < 0):
        return (
            f"Variant {variant} vs control on {metric.label}: the interval ({interval}) excludes "
            f"zero, but not after Holm's correction for {corrected} {family} comparisons; "
            "treat it as a lead to test again, not a result."
        )
    text = (
        f"No difference in {metric.label} detectable yet for variant {variant}: the 95% "
        f"interval runs from {interval}."
    )
    target = effect_words(metric, effect)
    if more_needed is not None and more_needed > 0:
        text += f" About {more_needed:,} more {what} per variant to detect {target}."
    elif more_needed == 0:
        text += (
            f" The test has the {what} to detect {target} (80% power); effects inside the "
            "interval remain possible."
        )
    return text


def srm_verdict(mismatch: bool, p_value: float, observed: dict[str, int]) -> str:
    """What the sample-ratio check means."""
    if sum(observed.values()) == 0:
        return "No units assigned yet."
    if mismatch:
        return (
            f"Sample ratio mismatch (p = {p_value:.2g}): the variants did not get the units the "
            "weights promise. Assignment or logging is broken; do not trust these results "
            "until it is fixed."
        )
    return f"The split of units matches the configured weights (p = {p_value:.2f})."
