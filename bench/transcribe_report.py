"""Figures and the batched-inference comparison for bench/transcribe.py."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    Reference,
    machine_rows,
    median,
    r3,
    transcript_wer,
    yes_no,
)

if TYPE_CHECKING:
    from bench.transcribe import BarePath

TARGET_RATIO = 1.10
TARGET_WER_DELTA = 0.02


def batched_runner(bare: BarePath, batch_size: int) -> Callable[[Path], dict[str, Any]]:
    """A function transcribing a file with BatchedInferencePipeline, channels as the service."""
    from faster_whisper import BatchedInferencePipeline

    from nlp.audio import decode_audio

    cfg = bare.transcriber.config
    pipe = BatchedInferencePipeline(model=bare.transcriber.model)

    def one_channel(samples: Any) -> list[tuple[float, str]]:
        segments, _ = pipe.transcribe(
            samples, language=cfg.language, beam_size=cfg.beam_size,
            vad_filter=cfg.vad_filter, word_timestamps=True, batch_size=batch_size,
        )
        return [(float(w.start), w.word.strip()) for s in segments for w in (s.words or ())
                if w.word.strip()]

    def run(path: Path) -> dict[str, Any]:
        t0 = time.perf_counter()
        audio = decode_audio(path, max_duration_s=cfg.max_duration_s)
        chans = list(range(min(audio.channels, 2))) if audio.channels >= 2 else [0]
        samples = [audio.channel(c) if audio.channels >= 2 else audio.mono() for c in chans]
        # Same parallelism as Transcriber._transcribe_channels: one thread per channel.
        with ThreadPoolExecutor(max_workers=max(1, min(cfg.num_workers, len(samples)))) as ex:
            results = list(ex.map(one_channel, samples))
        wall = time.perf_counter() - t0
        names = {0: "rep", 1: "customer"} if len(chans) == 2 else {0: "unknown"}
        by = {names[c]: [w for _, w in res] for c, res in zip(chans, results, strict=True)}
        flat = sorted((x for res in results for x in res), key=lambda x: x[0])
        return {"wall_s": wall, "by": by, "flat": [w for _, w in flat],
                "stereo": len(chans) == 2, "audio_s": audio.duration}

    return run


def summarise(args: argparse.Namespace, info: Mapping[str, Any], path: Path, audio_s: float,
              cfg: Any, bare_runs: list[dict[str, Any]], svc_runs: list[dict[str, Any]],
              ref: Reference | None) -> tuple[list[tuple[str, Any]], dict[str, Any]]:
    """Figures and the RESULT object."""
    bare_wall = [r["wall_s"] for r in bare_runs]
    svc_wall = [r["wall_s"] for r in svc_runs]
    bare_rtf = [audio_s / w for w in bare_wall]
    svc_rtf = [audio_s / w for w in svc_wall]
    pair_ratios = [s / b for s, b in zip(svc_wall, bare_wall, strict=False)]
    ratio = median(svc_wall) / median(bare_wall) if svc_wall else float("nan")
    rows: list[tuple[str, Any]] = [
        *machine_rows(info),
        ("file", f"{path.name}, {audio_s:.1f} s audio"),
        ("asr settings", f"beam {cfg.beam_size}, cpu_threads {cfg.cpu_threads}, "
                         f"num_workers {cfg.num_workers}, compute {cfg.compute_type}, "
                         f"vad {cfg.vad_filter}"),
        ("runs", f"{len(bare_runs)} bare, {len(svc_runs)} service (after {args.warmup} warm-up)"),
        ("bare wall s", _series(bare_wall)),
        ("bare decode s (median)", f"{median(r['decode_s'] for r in bare_runs):.2f}"),
        *([("bare diarize s (median)", f"{median(r['diarize_s'] for r in bare_runs):.2f}"
            "  (timed apart; part of the wall time above)")]
          if bare_runs and bare_runs[0]["channels"] < 2 else []),
        ("bare RTF", _series(bare_rtf, fmt="{:.1f}x")),
        ("bare RTF median", f"{median(bare_rtf):.1f}x"),
    ]
    if ref:
        rows.append(("bare WER (median)", f"{median(r['wer'] for r in bare_runs):.3f}"))
    if svc_runs:
        rows += [
            ("service wall s", _series(svc_wall)),
            ("service RTF", _series(svc_rtf, fmt="{:.1f}x")),
            ("service RTF median", f"{median(svc_rtf):.1f}x"),
            ("service upload s (median)", f"{median(r['upload_s'] for r in svc_runs):.3f}"),
            ("service server-side s", _series([r["server_s"] for r in svc_runs])
             + "  (created_at -> updated_at)"),
            ("service phases (median s)", _phases(svc_runs)),
        ]
        if ref:
            rows.append(("service WER (median)", f"{median(r['wer'] for r in svc_runs):.3f}"))
        rows += [
            ("ratio service/bare", f"{ratio:.3f} (median/median); per pair "
                                   + ", ".join(f"{x:.3f}" for x in pair_ratios)),
            ("target ratio <= 1.10", f"{yes_no(ratio <= TARGET_RATIO)} ({ratio:.3f})"),
        ]
    result: dict[str, Any] = {
        "machine": dict(info),
        "file": path.name,
        "audio_s": r3(audio_s),
        "settings": {"beam_size": cfg.beam_size, "cpu_threads": cfg.cpu_threads,
                     "num_workers": cfg.num_workers},
        "bare_wall_s": [r3(x) for x in bare_wall],
        "bare_rtf_median": r3(median(bare_rtf)),
        "bare_wer_median": r3(median(r["wer"] for r in bare_runs)) if ref else None,
        "bare_decode_s_median": r3(median(r["decode_s"] for r in bare_runs)),
        "bare_diarize_s_median": r3(median(r["diarize_s"] for r in bare_runs)),
        "service_wall_s": [r3(x) for x in svc_wall],
        "service_rtf_median": r3(median(svc_rtf)) if svc_runs else None,
        "service_wer_median": r3(median(r["wer"] for r in svc_runs)) if svc_runs and ref else None,
        "service_phases_median_s": _phase_medians(svc_runs),
        "ratio_service_over_bare": r3(ratio),
        "pair_ratios": [r3(x) for x in pair_ratios],
        "target_ratio_met": bool(svc_runs) and ratio <= TARGET_RATIO,
    }
    return rows, result


def compare_batched(args: argparse.Namespace, bare: BarePath, path: Path, ref: Reference | None,
                    *, deadline: float) -> tuple[list[tuple[str, Any]], dict[str, Any]]:
    """Interleaved sequential (the service's call) vs BatchedInferencePipeline runs."""
    run_batched = batched_runner(bare, args.batch_size)
    run_batched(path)  # warm-up: the pipeline's first call sets up its own state
    seq: list[dict[str, Any]] = []
    bat: list[dict[str, Any]] = []
    bar = tqdm(range(args.runs), desc="sequential/batched runs", unit="pair")
    for i in bar:
        if time.monotonic() > deadline:
            break
        for which in (("seq", "bat") if i % 2 == 0 else ("bat", "seq")):
            if which == "seq":
                seq.append(bare.run(path, ref))
            else:
                r = run_batched(path)
                r["wer"] = (
                    transcript_wer(r["by"], r["flat"], ref, per_speaker=r["stereo"])
                    if ref else float("nan")
                )
                bat.append(r)
        bar.set_postfix(seq=f"{seq[-1]['wall_s']:.1f}s", bat=f"{bat[-1]['wall_s']:.1f}s")
    audio_s = seq[0]["audio_s"]
    seq_wall, bat_wall = median(r["wall_s"] for r in seq), median(r["wall_s"] for r in bat)
    seq_wer, bat_wer = median(r["wer"] for r in seq), median(r["wer"] for r in bat)
    delta = bat_wer - seq_wer
    rows: list[tuple[str, Any]] = [
        ("runs", f"{len(seq)} each, interleaved, batch_size {args.batch_size}"),
        ("sequential wall s", _series([r["wall_s"] for r in seq])),
        ("batched wall s", _series([r["wall_s"] for r in bat])),
        ("sequential RTF median", f"{audio_s / seq_wall:.1f}x"),
        ("batched RTF median", f"{audio_s / bat_wall:.1f}x"),
        ("speed-up batched/sequential", f"{seq_wall / bat_wall:.3f}x"),
    ]
    if ref:
        rows += [
            ("sequential WER", f"{seq_wer:.3f}"),
            ("batched WER", f"{bat_wer:.3f}"),
            ("WER delta (batched - seq)", f"{delta:+.3f}"),
            ("target batched <= seq + 0.02", f"{yes_no(delta <= TARGET_WER_DELTA)} ({delta:+.3f})"),
        ]
    return rows, {
        "batch_size": args.batch_size,
        "sequential_wall_s": [r3(r["wall_s"]) for r in seq],
        "batched_wall_s": [r3(r["wall_s"]) for r in bat],
        "sequential_rtf_median": r3(audio_s / seq_wall),
        "batched_rtf_median": r3(audio_s / bat_wall),
        "speedup": r3(seq_wall / bat_wall),
        "sequential_wer": r3(seq_wer) if ref else None,
        "batched_wer": r3(bat_wer) if ref else None,
        "wer_delta": r3(delta) if ref else None,
        "wer_within_0_02": (delta <= TARGET_WER_DELTA) if ref else None,
    }


def _series(values: list[float], fmt: str = "{:.2f}") -> str:
    return ", ".join(fmt.format(v) for v in values) if values else "-"


PHASES = ("upload", "queued", "transcribing", "analyzing")


def _phase_medians(runs: list[dict[str, Any]]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    if runs:
        out["upload"] = r3(median(r["upload_s"] for r in runs))
    for ph in PHASES[1:]:
        vals = [r["phases"].get(ph, 0.0) for r in runs]
        if vals:
            out[ph] = r3(median(vals))
    return out


def _phases(runs: list[dict[str, Any]]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in _phase_medians(runs).items() if v is not None)
