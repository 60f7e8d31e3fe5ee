"""Figures for bench/throughput.py: rows, JSON and merged sweep rounds."""


from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    median,
    r3,
)


def describe(res: Mapping[str, Any]) -> list[tuple[str, Any]]:
    p = res["label"]
    rows = [
        (f"[{p}] calls", f"{res['done']} done, {res['failed']} failed, {res['timed_out']} "
                         f"timed out of {res['calls']}"),
        (f"[{p}] audio", f"{res['audio_s']:.1f} s in {res['wall_s']:.1f} s wall "
                         f"(posting took {res['post_s']:.2f} s)"),
        (f"[{p}] aggregate RTF", f"{res['rtf']:.1f}x audio h per wall h"
                                 + (f"  (batches: {', '.join(f'{x:.1f}' for x in res['rtf_all'])})"
                                    if len(res["rtf_all"]) > 1 else "")),
        (f"[{p}] latency post->done", f"p50 {res['latency_p50']:.1f} s  "
                                      f"p95 {res['latency_p95']:.1f} s"),
        (f"[{p}] post->transcribed", f"p50 {res['transcribed_p50']:.1f} s  "
                                     f"p95 {res['transcribed_p95']:.1f} s  (analysis not counted)"),
        (f"[{p}] transcribe job time", f"p50 {res['processing_p50']:.1f} s; by file: "
         + ", ".join(f"{k} {v:.1f} s" for k, v in res["processing_by_file"].items())),
        (f"[{p}] WER by file", ", ".join(f"{k} {v:.3f}" for k, v in res["wer_by_file"].items())
         or "-"),
        (f"[{p}] first call (cold)", ", ".join(f"{x:.1f} s" for x in res["warmup_s"]) or "-"),
    ]
    if res["errors"]:
        rows.append((f"[{p}] errors", "; ".join(res["errors"])))
    return rows


def as_json(res: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "settings": res["settings"], "calls": res["calls"], "done": res["done"],
        "failed": res["failed"], "timed_out": res["timed_out"],
        "audio_s": r3(res["audio_s"]), "wall_s": r3(res["wall_s"]), "rtf": r3(res["rtf"]),
        "rtf_all": [r3(x) for x in res["rtf_all"]],
        "latency_p50_s": r3(res["latency_p50"]), "latency_p95_s": r3(res["latency_p95"]),
        "transcribed_p50_s": r3(res["transcribed_p50"]),
        "transcribed_p95_s": r3(res["transcribed_p95"]),
        "processing_p50_s": r3(res["processing_p50"]),
        "processing_by_file_s": {k: r3(v) for k, v in res["processing_by_file"].items()},
        "wer_by_file": {k: r3(v) for k, v in res["wer_by_file"].items()},
        "warmup_s": [r3(x) for x in res["warmup_s"]],
    }


def _merge(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One configuration over its rounds: the run with the median RTF, plus every round's RTF."""
    rtfs = [r["rtf"] for r in runs]
    mid = min(runs, key=lambda r: abs(r["rtf"] - median(rtfs)))
    return {**mid, "label": name, "rtf": median(rtfs), "rtf_all": rtfs,
            "warmup_s": [w for r in runs for w in r["warmup_s"]]}


def _label(args: argparse.Namespace) -> str:
    parts = []
    if args.workers is not None:
        parts.append(f"w{args.workers}")
    if args.cpu_threads is not None:
        parts.append(f"t{args.cpu_threads}")
    if args.beam_size is not None:
        parts.append(f"b{args.beam_size}")
    return "-".join(parts) or "defaults"


