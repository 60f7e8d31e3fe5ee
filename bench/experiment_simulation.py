"""Known-truth simulations of the experiment statistics: false positives under daily peeking,
coverage of a real effect, with and without rep clustering, against naive baselines.

    .venv/bin/python bench/experiment_simulation.py [--sims 2000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from service.experiments.stats.compare import fixed_horizon  # noqa: E402
from service.experiments.stats.sequential import confidence_sequence, mixture_rho2  # noqa: E402
from tests.experiments.simulate import Design, mean_arm, proportion_arm  # noqa: E402


def rates(design: Design, kind: str, effect: float, seed: int) -> dict[str, float]:
    """Share of experiments whose interval ever missed the truth, and final coverage."""
    rng = np.random.default_rng(seed)
    if kind == "proportion":
        c, t = proportion_arm(rng, design, 0.30), proportion_arm(rng, design, 0.30 + effect)
    else:
        c, t = mean_arm(rng, design, 0.50, 0.25), mean_arm(rng, design, 0.50 + effect, 0.25)
    units = c.k + t.k
    rho2 = mixture_rho2(float(np.median(units[:, -1])))
    cs = confidence_sequence(t.mean() - c.mean(), t.variance() + c.variance(), units, rho2=rho2)
    ever = np.nan_to_num((cs.lower > effect) | (cs.upper < effect), nan=0.0).astype(bool)
    clustered = design.reps_per_arm > 0
    out = {"sequence_ever_missed": float(ever.any(axis=1).mean())}
    for label, cl in (("fixed", clustered), ("fixed_ignoring_clusters", False)):
        # Only shares have an independence-assuming variant to compare (binomial counts).
        if label == "fixed_ignoring_clusters" and not (clustered and kind == "proportion"):
            continue
        d, _, _ = fixed_horizon(c, t, kind=kind, clustered=cl)  # type: ignore[arg-type]
        daily = np.nan_to_num((d.lower > effect) | (d.upper < effect), nan=0.0).astype(bool)
        out[f"{label}_final_coverage"] = float(1 - daily[:, -1].mean())
        out[f"{label}_peeking_ever_missed"] = float(daily[:, 3:].any(axis=1).mean())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sims", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    cases = [
        ("share, by call, no effect", Design(args.sims, 30, 20.0), "proportion", 0.0),
        ("share, by call, -6 pts", Design(args.sims, 30, 20.0), "proportion", -0.06),
        (
            "share, by rep (ICC .09), no effect",
            Design(args.sims, 30, 2.0, 20, 0.3),
            "proportion",
            0.0,
        ),
        (
            "share, by rep (ICC .09), -6 pts",
            Design(args.sims, 30, 2.0, 20, 0.3),
            "proportion",
            -0.06,
        ),
        ("mean, by call, no effect", Design(args.sims, 30, 20.0), "mean", 0.0),
        ("mean, by rep, +0.05", Design(args.sims, 30, 2.0, 20, 0.1), "mean", 0.05),
    ]
    t0 = time.perf_counter()
    results = {
        name: rates(d, kind, eff, args.seed + i) for i, (name, d, kind, eff) in enumerate(cases)
    }
    elapsed = time.perf_counter() - t0
    se = (0.05 * 0.95 / args.sims) ** 0.5
    print(
        f"{args.sims} simulated experiments per case, 30 daily looks; binomial se at 5%: {se:.4f}"
    )
    header = ("case", "CS ever missed", "fixed cover", "naive peek miss", "no-cluster cover")
    print(f"{header[0]:<38}{header[1]:>15}{header[2]:>13}{header[3]:>17}{header[4]:>18}")
    for name, r in results.items():
        nc = r.get("fixed_ignoring_clusters_final_coverage")
        print(
            f"{name:<38}{r['sequence_ever_missed']:>15.3f}{r['fixed_final_coverage']:>13.3f}"
            f"{r['fixed_peeking_ever_missed']:>17.3f}{'' if nc is None else f'{nc:.3f}':>18}"
        )
    print(f"({elapsed:.1f} s)")
    print("RESULT " + json.dumps({"bench": "experiment_simulation", "sims": args.sims, **results}))


if __name__ == "__main__":
    main()
