"""Results of an experiment: SQL aggregation, then statistics; and the CSV rendering."""

from __future__ import annotations

import csv
import io

from sqlalchemy.orm import Session

from models.base import utcnow
from service.experiments.calls import conversation_calls
from service.experiments.metrics import METRICS, objection_breakdown
from service.experiments.queries import Groups, conversation_groups, deal_groups, no_groups
from service.experiments.report import build_results
from service.experiments.schemas import ResultsOut
from service.experiments.service import Loaded, experiment_out
from service.experiments.unknown import unknown_variants
from service.experiments.usage import line_usage, units_per_variant


def experiment_results(session: Session, *, loaded: Loaded) -> ResultsOut:
    """Every metric of the experiment compared with the control, as of now."""
    exp = loaded.experiment
    wanted = [exp.primary_metric, *exp.secondary_metrics]
    named = [*wanted, *objection_breakdown(wanted), "adherence"]
    per_call = [m for m in dict.fromkeys(named) if METRICS[m].level == "conversation"]
    deals = deal_groups(session, loaded=loaded) if "won_rate" in wanted else no_groups(["won_rate"])
    return build_results(
        loaded,
        experiment=experiment_out(loaded),
        conversation_rows=_conversation_rows(session, loaded=loaded, metrics=per_call),
        deal_rows=deals,
        units=units_per_variant(session, loaded=loaded),
        usage=line_usage(session, loaded=loaded),
        unknown=unknown_variants(session, loaded=loaded),
        now=utcnow(),
    )


def _conversation_rows(session: Session, *, loaded: Loaded, metrics: list[str]) -> Groups:
    """The per-call metrics in the shape measured cheapest for the unit.

    By conversation: grouped per (variant, day, adherent, objection mask) in SQL, a few hundred
    rows. By rep or deal: grouping per (cluster, day) saves few rows (by deal none), so the
    calls come back as they are and numpy keeps the running cluster sums. With the objection
    breakdown this beat both the (cluster, day) groups and the window-function path
    (cluster_sql) on SQLite and PostgreSQL (docs/benchmarks.md section 8); all paths give the
    same numbers (tests/service/test_experiment_cluster_sql.py).
    """
    if loaded.experiment.unit == "conversation":
        return conversation_groups(session, loaded=loaded, metrics=metrics)
    return conversation_calls(session, loaded=loaded, metrics=metrics)


CSV_COLUMNS = [
    "metric",
    "role",
    "analysis",
    "variant",
    "control_n",
    "control_mean",
    "variant_n",
    "variant_mean",
    "difference",
    "difference_lower",
    "difference_upper",
    "ratio",
    "ratio_lower",
    "ratio_upper",
    "sequential_lower",
    "sequential_upper",
    "p_always_valid",
    "p_holm",
    "p_fixed",
    "significant",
    "more_needed_per_variant",
    "verdict",
]


def _cell(value: object) -> object:
    # Spreadsheets run cells starting with = + - @ as formulas: quote any such text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def results_csv(results: ResultsOut) -> str:
    """One row per metric, analysis and treatment variant."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for m in results.metrics:
        for c in m.comparisons:
            row = [
                m.metric,
                m.role,
                m.analysis,
                c.variant,
                c.control.n,
                c.control.mean,
                c.treatment.n,
                c.treatment.mean,
                c.difference.estimate,
                c.difference.lower,
                c.difference.upper,
                c.ratio.estimate,
                c.ratio.lower,
                c.ratio.upper,
                c.sequential.lower,
                c.sequential.upper,
                c.p_always_valid,
                c.p_holm,
                c.p_fixed,
                c.significant,
                c.more_needed_per_variant,
                c.verdict,
            ]
            writer.writerow([_cell(v) for v in row])
    return buf.getvalue()
