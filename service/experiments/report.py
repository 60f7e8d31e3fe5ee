"""Experiment results: grouped rows from SQL in, statistics and verdicts out (numpy, no I/O)."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import numpy as np

from service.experiments.cluster_sql import DailyMoments
from service.experiments.metrics import METRICS, Metric, objection_breakdown
from service.experiments.queries import Groups
from service.experiments.schemas import (
    ArmOut,
    ComparisonOut,
    DailyPoint,
    ExperimentOut,
    IntervalOut,
    LineOut,
    MetricResultOut,
    ResultsOut,
    SrmOut,
    UnknownVariantsOut,
    VariantAdherenceOut,
)
from service.experiments.service import Loaded
from service.experiments.stats.compare import Comparison, compare
from service.experiments.stats.moments import IntArray, Moments, cluster_moments, iid_moments
from service.experiments.stats.sequential import boundary_factor, mixture_rho2
from service.experiments.stats.tests_and_plans import holm, sample_ratio_mismatch
from service.experiments.usage import LineUsage
from service.experiments.verdicts import srm_verdict, verdict

ALPHA = 0.05
MAX_DAYS = 3 * 366
Z_POWER = 0.8416  # 80% power


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


class GroupArrays:
    """The grouped rows as arrays, sorted by cluster and day once for every metric."""

    def __init__(
        self, groups: Groups, *, variants: list[str], scripted: set[int], start: date
    ) -> None:
        self.scripted = scripted
        self.metrics = sorted(groups.stats)
        index = {k: i for i, k in enumerate(variants)}
        clusters: dict[str, int] = {}
        cl = np.empty(len(groups), dtype=np.int64)
        for i, c in enumerate(groups.cluster):
            # A call without a rep/deal id is a cluster of its own rather than pooled.
            cl[i] = clusters.setdefault(c if c is not None else f"\x00{i}", len(clusters))
        self.clustered = any(c is not None for c in groups.cluster)
        offsets = {d: (d - start).days for d in set(groups.day)}
        day = np.array([offsets[d] for d in groups.day], dtype=np.int64)
        day = np.clip(day, 0, MAX_DAYS - 1)
        variant = np.array([index[v] for v in groups.variant], dtype=np.int64)
        # Sorted by cluster and day once, so no metric or variant sorts its rows again; the
        # per-metric blocks stay as they came and are read through the order.
        order = np.lexsort((day, cl)) if self.clustered else np.arange(len(groups))
        self.order = order
        self.day = day[order]
        self.variant = variant[order]
        self.adherent = groups.adherent[order]
        self.cluster = cl[order]
        self.stats = dict(groups.stats)
        self._subsets: dict[tuple[int, bool], tuple[IntArray, IntArray, IntArray]] = {}

    def _subset(self, variant: int, per_protocol: bool) -> tuple[IntArray, IntArray, IntArray]:
        """(rows in the blocks, cluster, day) of one variant's calls, shared by all metrics."""
        # A variant without key lines (often the control) has nothing to adhere to: per protocol
        # keeps all its calls.
        key = (variant, per_protocol and variant in self.scripted)
        if key not in self._subsets:
            mask = self.variant == variant
            if key[1]:
                mask &= self.adherent
            pos = np.flatnonzero(mask)
            self._subsets[key] = (self.order[pos], self.cluster[pos], self.day[pos])
        return self._subsets[key]

    def moments(self, metric: str, variant: int, *, per_protocol: bool, n_days: int) -> Moments:
        """Cumulative daily moments of one metric for one variant."""
        rows, cluster, day = self._subset(variant, per_protocol)
        s = self.stats[metric][rows]
        if not self.clustered:
            return iid_moments(day, s[:, 0], s[:, 1], s[:, 2], n_days)
        return cluster_moments(cluster, day, s[:, 0], s[:, 1], n_days, presorted=True)


def sequential_n_per_arm(
    sd: float, effect: float, *, rho2: float, per_unit: float, power_z: float = Z_POWER
) -> float:
    """Calls per variant for the always-valid interval to exclude zero with 80% power."""
    if not (math.isfinite(sd) and sd > 0 and effect > 0):
        return math.inf
    n = np.geomspace(10, 1e9, 800)
    se = sd * np.sqrt(2.0 / n)
    factor = boundary_factor(2.0 * n / max(per_unit, 1.0), rho2, alpha=ALPHA)
    ok = se * (factor + power_z) <= effect
    return float(n[np.argmax(ok)]) if ok.any() else math.inf


def _effect(metric: Metric, loaded: Loaded) -> float:
    exp = loaded.experiment
    if exp.minimum_effect is not None and metric.name == exp.primary_metric:
        # Given in the metric's display unit (points for shares).
        return exp.minimum_effect / metric.scale
    return metric.effect


def _needed(
    metric: Metric, comp: Comparison, control: Moments, *, rho2: float, effect: float
) -> tuple[int | None, int | None]:
    last = control.at(control.n.shape[-1] - 1)
    n = float(last.n[-1])
    var = float(last.variance()[-1])
    if not (n > 1 and math.isfinite(var)):
        return None, None
    per_unit = n / max(float(last.k[-1]), 1.0)
    sd = math.sqrt(var * n)
    if metric.kind == "proportion":
        p = comp.control.mean
        # Before the first event the observed variance is zero: plan with the binomial one.
        sd = max(sd, math.sqrt(max(p * (1 - p), 0.05 * 0.95)))
    need = sequential_n_per_arm(sd, effect, rho2=rho2, per_unit=per_unit)
    if not math.isfinite(need):
        return None, None
    have = min(comp.control.n, comp.treatment.n)
    return int(math.ceil(need)), max(0, int(math.ceil(need)) - have)


def _arm(c: Comparison, which: str, key: str) -> ArmOut:
    a = c.control if which == "control" else c.treatment
    return ArmOut(
        variant=key,
        n=a.n,
        clusters=a.clusters,
        mean=_num(a.mean),
        lower=_num(a.lower),
        upper=_num(a.upper),
    )


def _iv(t: tuple[float, ...]) -> IntervalOut:
    if len(t) == 3:
        return IntervalOut(estimate=_num(t[0]), lower=_num(t[1]), upper=_num(t[2]))
    return IntervalOut(estimate=None, lower=_num(t[0]), upper=_num(t[1]))


def _daily(c: Comparison, start: date) -> list[DailyPoint]:
    return [
        DailyPoint(
            day=(start + timedelta(days=i)).isoformat(),
            estimate=_num(float(c.daily_diff[i])),
            lower=_num(float(c.daily_lower[i])),
            upper=_num(float(c.daily_upper[i])),
        )
        for i in range(c.daily_diff.shape[-1])
    ]


def build_results(
    loaded: Loaded,
    *,
    experiment: ExperimentOut,
    conversation_rows: Groups | DailyMoments,
    deal_rows: Groups,
    units: dict[str, int],
    usage: dict[str, LineUsage],
    unknown: UnknownVariantsOut,
    now: datetime,
) -> ResultsOut:
    """Statistics for every chosen metric and treatment variant, Holm within each family."""
    exp = loaded.experiment
    keys = [v.key for v in loaded.variants]
    control = keys.index(loaded.control.key)
    start = exp.started_at.date()
    # A stopped experiment's history ends at the stop: no flat days after it.
    end = min(now, exp.stopped_at) if exp.stopped_at is not None else now
    today = max(start, end.date())
    n_days = min((today - start).days + 1, MAX_DAYS)
    scripted = {i for i, v in enumerate(loaded.variants) if v.script}
    conv: GroupArrays | DailyMoments = (
        GroupArrays(conversation_rows, variants=keys, scripted=scripted, start=start)
        if isinstance(conversation_rows, Groups)
        else conversation_rows
    )
    deals = GroupArrays(deal_rows, variants=keys, scripted=scripted, start=start)
    rho2 = mixture_rho2(2.0 * exp.planned_units_per_variant, alpha=ALPHA)
    roles: list[tuple[str, str]] = [(exp.primary_metric, "primary")]
    roles += [(m, "secondary") for m in exp.secondary_metrics]
    roles += [(m, "breakdown") for m in objection_breakdown([m for m, _ in roles])]
    if "adherence" not in [m for m, _ in roles]:
        roles.append(("adherence", "descriptive"))

    results: list[MetricResultOut] = []
    pending: dict[str, list[tuple[MetricResultOut, int, Comparison, Metric, float]]] = {
        "primary": [],
        "secondary": [],
        "breakdown": [],
        "descriptive": [],
    }
    for name, role in roles:
        metric = METRICS[name]
        arrays = deals if metric.level == "deal" else conv
        analyses = (
            ["itt"] if metric.level == "deal" or name == "adherence" else ["itt", "per_protocol"]
        )
        for analysis in analyses:
            out = MetricResultOut(
                metric=name,
                label=metric.label,
                kind=metric.kind,
                role=role,  # type: ignore[arg-type]
                analysis=analysis,  # type: ignore[arg-type]
                unit=metric.unit,
                comparisons=[],
            )
            results.append(out)
            if isinstance(arrays, GroupArrays) and name not in arrays.stats:
                arrays.stats[name] = np.zeros((len(arrays.variant), 3))
            pp = analysis == "per_protocol"
            mc = arrays.moments(name, control, per_protocol=pp, n_days=n_days)
            for vi in range(len(keys)):
                if vi == control:
                    continue
                mt = arrays.moments(name, vi, per_protocol=pp, n_days=n_days)
                effect = _effect(metric, loaded)
                comp = compare(
                    mc,
                    mt,
                    kind=metric.kind,
                    clustered=arrays.clustered,
                    rho2=rho2,
                    effect=effect,
                    alpha=ALPHA,
                )
                # Only the intention-to-treat analysis is tested; per protocol is shown beside it.
                family = role if analysis == "itt" else "descriptive"
                pending[family].append((out, vi, comp, metric, effect))

    for family, items in pending.items():
        if family == "descriptive":
            adjusted: list[float | None] = [None] * len(items)
            rejected = [False] * len(items)
        else:
            adj, rejected = holm([c.p_always_valid for _, _, c, _, _ in items], alpha=ALPHA)
            adjusted = list(adj)
        for (out, vi, comp, metric, effect), p_holm, sig in zip(
            items, adjusted, rejected, strict=True
        ):
            mc_key = keys[control]
            needed, more = _needed(
                metric,
                comp,
                conv.moments(metric.name, control, per_protocol=False, n_days=n_days)
                if metric.level == "conversation"
                else deals.moments(metric.name, control, per_protocol=False, n_days=n_days),
                rho2=rho2,
                effect=effect,
            )
            text = verdict(
                metric=metric,
                variant=keys[vi],
                comp=comp,
                significant=sig,
                corrected=len(items) if family in ("secondary", "breakdown") else 1,
                family="category" if family == "breakdown" else "secondary",
                more_needed=more,
                effect=effect,
            )
            if out.analysis == "per_protocol":
                if comp.control.n == 0 and comp.treatment.n == 0:
                    text = "no adherent calls yet (adherence is scored against the key lines)."
                text = "Per protocol (adherent calls only, not randomised; for context): " + text
            elif family == "descriptive":
                text = "Descriptive (not tested): " + text
            out.comparisons.append(
                ComparisonOut(
                    variant=keys[vi],
                    control=_arm(comp, "control", mc_key),
                    treatment=_arm(comp, "treatment", keys[vi]),
                    difference=_iv(comp.diff),
                    ratio=_iv(comp.ratio),
                    sequential=IntervalOut(
                        estimate=_num(comp.diff[0]),
                        lower=_num(comp.sequence[0]),
                        upper=_num(comp.sequence[1]),
                    ),
                    sequential_ratio=IntervalOut(
                        estimate=_num(comp.ratio[0]),
                        lower=_num(comp.sequence_ratio[0]),
                        upper=_num(comp.sequence_ratio[1]),
                    ),
                    p_always_valid=comp.p_always_valid,
                    p_fixed=comp.p_fixed,
                    p_holm=p_holm,
                    significant=sig,
                    needed_per_variant=needed,
                    more_needed_per_variant=more,
                    verdict=text,
                    daily=_daily(comp, start),
                )
            )

    srm = sample_ratio_mismatch(
        [units.get(k, 0) for k in keys], [v.weight for v in loaded.variants]
    )
    observed = {k: units.get(k, 0) for k in keys}
    notes = [
        "Verdicts use always-valid 95% intervals (confidence sequences): opening this page every "
        "day does not raise the false-positive rate.",
        "Intention to treat: every call of a variant counts, whatever the rep said. Per protocol "
        "(adherent calls only) is shown for context; it is not randomised and can be biased.",
    ]
    if unknown.calls or unknown.deals:
        notes.append(
            f"{_count(unknown.calls, 'call')} and {_count(unknown.deals, 'deal')} name this "
            f"experiment with a variant it does not have ({_count(unknown.distinct, 'key')}); "
            "they are left out of every metric. Check the CRM's playbook field."
        )
    if conv.clustered:
        notes.append(
            f"Randomised by {exp.unit}: intervals treat calls of one {exp.unit} as correlated "
            "(cluster-robust variance)."
        )
    return ResultsOut(
        experiment=experiment,
        generated_at=now,
        days=n_days,
        srm=SrmOut(
            observed=observed,
            expected=dict(zip(keys, srm.expected, strict=True)),
            chi2=srm.chi2,
            p_value=srm.p_value,
            mismatch=srm.mismatch,
            verdict=srm_verdict(srm.mismatch, srm.p_value, observed),
        ),
        metrics=results,
        adherence=_adherence(loaded, usage),
        unknown_variants=unknown,
        notes=notes,
    )


def _adherence(loaded: Loaded, usage: dict[str, LineUsage]) -> list[VariantAdherenceOut]:
    out = []
    for v in loaded.variants:
        u = usage.get(v.key)
        lines = [
            LineOut(
                line=line,
                said_calls=u.said[i] if u else 0,
                share=(u.said[i] / u.calls) if u and u.calls else None,
                quote=u.quotes[i] if u else None,
            )
            for i, line in enumerate(v.script)
        ]
        out.append(
            VariantAdherenceOut(
                variant=v.key,
                calls_scored=u.calls if u else 0,
                mean_share=u.mean_share if u else None,
                lines=lines,
            )
        )
    return out
