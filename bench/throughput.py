"""Batch throughput: many calls posted at once to the embedded local executor, until all done.

Posts --calls uploads (a mix of stereo wav, mono wav and mono mp3 by default, unique external
ids) concurrently to POST /v1/calls, then polls the conversation list until every call is done
or failed. Prints audio hours processed per wall-clock hour (aggregate real-time factor),
per-call latency (post -> done) p50/p95, per-call processing time, and failures.

--workers, --beam-size and --cpu-threads set DEALSIGHT_JOBS__WORKERS, DEALSIGHT_ASR__BEAM_SIZE
and DEALSIGHT_ASR__CPU_THREADS for the service. --sweep runs every combination of
--sweep-workers x --sweep-threads, each in a fresh service, in --repeat rounds that each also
measure the default configuration (the baseline); ratios against the same round's baseline
cancel slow machine drift, and the order is reversed every other round.

Example:
    .venv/bin/python bench/throughput.py                 # one batch, service defaults
    .venv/bin/python bench/throughput.py --sweep         # workers 1,2 x cpu_threads 1,2
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    AUDIO_DIR,
    Creds,
    Tracked,
    add_service_args,
    api_words,
    call_metadata,
    check_service_args,
    content_type_for,
    load_reference,
    machine_info,
    machine_rows,
    median,
    multipart_body,
    percentile,
    print_figures,
    print_result,
    r3,
    service_from_args,
    transcript_wer,
    unique_id,
    wait_for_conversation,
    yes_no,
)
from bench.throughput_report import (  # noqa: E402
    _label,
    _merge,
    as_json,
    describe,
)

DEFAULT_FILES = ("dialogue_stereo.wav", "dialogue_mono.wav", "dialogue_mono.mp3")
TARGET_RTF = 30.0


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--calls", type=int, default=12, help="calls in the batch (12)")
    p.add_argument("--files", type=Path, nargs="+",
                   default=[AUDIO_DIR / f for f in DEFAULT_FILES],
                   help="audio files used in turn (default: dialogue_stereo.wav, "
                        "dialogue_mono.wav, dialogue_mono.mp3 from tests/data/audio)")
    p.add_argument("--workers", type=int,
                   help="DEALSIGHT_JOBS__WORKERS (service default 0 = one per core)")
    p.add_argument("--beam-size", type=int, help="DEALSIGHT_ASR__BEAM_SIZE (service default 1)")
    p.add_argument("--cpu-threads", type=int,
                   help="DEALSIGHT_ASR__CPU_THREADS (service default 1)")
    p.add_argument("--warmup", type=int, default=1,
                   help="unmeasured calls first, one at a time (model and diarizer load) (1)")
    p.add_argument("--poll", type=float, default=0.25, help="seconds between status polls")
    p.add_argument("--batch-timeout", type=float, default=1800.0,
                   help="give up on a batch after this many seconds (1800)")
    p.add_argument("--sweep", action="store_true",
                   help="run --sweep-workers x --sweep-threads, a fresh service each")
    p.add_argument("--sweep-workers", default="1,2", help="worker counts for --sweep (1,2)")
    p.add_argument("--sweep-threads", default="1,2", help="cpu_threads for --sweep (1,2)")
    p.add_argument("--sweep-env", action="append", default=[], metavar="KEY=VALUE",
                   help="with --sweep, add one configuration: the baseline plus these "
                        "variables (repeatable), e.g. --sweep-env OMP_NUM_THREADS=1")
    p.add_argument("--repeat", type=int, default=1,
                   help="batches per configuration (1); with --sweep, rounds over all "
                        "configurations; the median is reported")
    p.add_argument("--timeline", action="store_true",
                   help="print every call's status changes (seconds from the first post)")
    p.add_argument("--max-minutes", type=float, default=60.0,
                   help="start no new batch after this many minutes (60)")
    add_service_args(p)
    args = p.parse_args()
    check_service_args(p, args)
    if args.sweep and args.url:
        p.error("--sweep starts its own services; it cannot use --url")
    for item in args.sweep_env:
        if "=" not in item:
            p.error(f"--sweep-env takes KEY=VALUE, got {item!r}")
    if args.calls < 1 or args.repeat < 1:
        p.error("--calls and --repeat must be >= 1")
    for f in args.files:
        if not f.is_file():
            p.error(f"no such file: {f}")
    return args


@dataclass(frozen=True)
class Clip:
    """One input file, read once."""

    path: Path
    data: bytes
    duration: float
    channels: int
    reference: Any

    @property
    def stereo(self) -> bool:
        return self.channels >= 2


def load_clips(paths: list[Path]) -> list[Clip]:
    from nlp.audio import decode_audio

    clips = []
    for path in paths:
        audio = decode_audio(path, max_duration_s=24 * 3600, require_speech=False)
        ref_path = path.with_suffix(".json")
        ref = load_reference(ref_path) if ref_path.is_file() else None
        if ref is not None and not ref.by_speaker:
            ref = None
        clips.append(Clip(path, path.read_bytes(), audio.duration, audio.channels, ref))
    return clips


def post_call(client: httpx.Client, creds: Creds, clip: Clip, prefix: str) -> Tracked:
    """Upload one call; the Tracked clock starts before the request is sent."""
    meta = call_metadata(unique_id(prefix), stereo=clip.stereo)
    body, ctype = multipart_body(meta, clip.data, filename=clip.path.name,
                                 content_type=content_type_for(clip.path))
    t0 = time.monotonic()
    r = client.post("/v1/calls", content=body, headers={**creds.auth(), "Content-Type": ctype})
    if r.status_code != 202:
        raise RuntimeError(f"POST /v1/calls answered {r.status_code}: {r.text[:300]}")
    return Tracked(str(r.json()["conversation_id"]), t0, time.monotonic())


def run_batch(client: httpx.Client, creds: Creds, clips: list[Clip], args: argparse.Namespace,
              label: str) -> dict[str, Any]:
    """Post --calls uploads at once, poll until all are finished; return the figures."""
    plan = [clips[i % len(clips)] for i in range(args.calls)]
    t_start = time.monotonic()
    post_errors: list[str] = []
    tracked: dict[str, tuple[Tracked, Clip]] = {}
    with ThreadPoolExecutor(max_workers=min(len(plan), 32)) as pool:
        futures = [(pool.submit(post_call, client, creds, c, "bench-tp"), c) for c in plan]
        for fut, clip in futures:
            try:
                t = fut.result()
                tracked[t.conversation_id] = (t, clip)
            except Exception as exc:  # counted as failures, the batch goes on
                post_errors.append(f"{type(exc).__name__}: {exc}"[:200])
    posted_s = time.monotonic() - t_start
    deadline = t_start + args.batch_timeout
    pending = set(tracked)
    with tqdm(total=len(plan), desc=label, unit="call", initial=len(post_errors)) as bar:
        while pending and time.monotonic() < deadline:
            r = client.get("/v1/conversations", params={"limit": 500}, headers=creds.auth())
            now = time.monotonic()
            r.raise_for_status()
            for item in r.json()["items"]:
                cid = item["id"]
                if cid in pending:
                    tr = tracked[cid][0]
                    tr.observe(item["status"], now)
                    if item["status"] in ("done", "failed"):
                        tr.final = item
                        pending.discard(cid)
                        bar.update(1)
            if pending:
                time.sleep(args.poll)
    t_end = max((t.done_at() or 0.0 for t, _ in tracked.values()), default=time.monotonic())
    wall = t_end - t_start
    done = [(t, c) for t, c in tracked.values() if t.status == "done"]
    failed = [(t, c) for t, c in tracked.values() if t.status == "failed"]
    audio_s = sum(c.duration for _, c in done)
    latencies = [t.done_at() - t.posted_at for t, _ in done]  # type: ignore[operator]
    # Time in the transcribing state (the job itself) and post -> end of transcription.
    phases = [(t, c, t.phase_seconds(t.done_at() or t_end)) for t, c in done]
    processing = [ph.get("transcribing", 0.0) for _, _, ph in phases]
    transcribed = [_left_transcribing(t) - t.posted_at for t, _, _ in phases]
    by_file: dict[str, list[float]] = {}
    for _, c, ph in phases:
        by_file.setdefault(c.path.name, []).append(ph.get("transcribing", 0.0))
    wer = batch_wer(client, creds, done)
    if args.timeline:
        print(f"\n-- timeline {label} (s from first post) --", file=sys.stderr)
        for t, c in sorted(tracked.values(), key=lambda x: x[0].done_at() or 1e9):
            steps = " -> ".join(f"{st} {at - t_start:.1f}" for st, at in t.timeline)
            print(f"{c.path.name:<20} posted {t.posted_at - t_start:.2f}: {steps}",
                  file=sys.stderr)
    errors = [f"{t.final.get('error')}" for t, _ in failed if t.final] + post_errors
    return {
        "calls": len(plan), "done": len(done), "failed": len(failed) + len(post_errors),
        "timed_out": len(pending), "errors": errors[:5],
        "audio_s": audio_s, "wall_s": wall, "post_s": posted_s,
        "rtf": audio_s / wall if wall > 0 else float("nan"),
        "latency_p50": percentile(latencies, 50), "latency_p95": percentile(latencies, 95),
        "processing_p50": percentile(processing, 50),
        "transcribed_p50": percentile(transcribed, 50),
        "transcribed_p95": percentile(transcribed, 95),
        "processing_by_file": {k: median(v) for k, v in sorted(by_file.items())},
        "wer_by_file": wer,
    }


def _left_transcribing(t: Tracked) -> float:
    """When the call was first seen past the transcribing state (done if never seen after)."""
    seen = False
    for status, at in t.timeline:
        if status == "transcribing":
            seen = True
        elif seen:
            return at
    return t.done_at() or t.accepted_at


def batch_wer(client: httpx.Client, creds: Creds,
              done: list[tuple[Tracked, Clip]]) -> dict[str, float]:
    """Median WER per input file over the finished calls (a check that speed did not cost text)."""
    out: dict[str, list[float]] = {}
    for t, clip in done:
        if clip.reference is None:
            continue
        r = client.get(f"/v1/conversations/{t.conversation_id}", headers=creds.auth())
        if r.status_code != 200:
            continue
        by, flat = api_words(r.json())
        out.setdefault(clip.path.name, []).append(
            transcript_wer(by, flat, clip.reference, per_speaker=clip.stereo)
        )
    return {k: median(v) for k, v in sorted(out.items())}


def run_config(args: argparse.Namespace, clips: list[Clip], overrides: Mapping[str, str],
               label: str, deadline: float) -> dict[str, Any]:
    """Start a service with these settings (unless --url), warm it up, run --repeat batches."""
    batches: list[dict[str, Any]] = []
    with service_from_args(args, env_overrides=overrides, label="dealsight-bench-tp") as (
        creds, svc
    ), httpx.Client(base_url=creds.url, timeout=120.0, trust_env=False,
                    limits=httpx.Limits(max_connections=40)) as client:
        warm_s = []
        for i in range(args.warmup):
            # Mono first: it loads both Whisper and the diarizer.
            clip = next((c for c in clips if not c.stereo), clips[0]) if i == 0 else clips[
                i % len(clips)]
            tr = post_call(client, creds, clip, "bench-warm")
            wait_for_conversation(client, creds, tr, poll_s=args.poll, timeout_s=600)
            warm_s.append((tr.done_at() or time.monotonic()) - tr.posted_at)
        for i in range(args.repeat):
            if time.monotonic() > deadline and batches:
                print("[bench] --max-minutes reached", file=sys.stderr)
                break
            batches.append(run_batch(client, creds, clips, args, f"{label} #{i + 1}"))
        server_cpu = svc.cpu_seconds() if svc else None
    med = dict(min(batches, key=lambda b: abs(b["rtf"] - median(x["rtf"] for x in batches))))
    med["rtf_all"] = [b["rtf"] for b in batches]
    med["warmup_s"] = warm_s
    med["server_cpu_s"] = server_cpu
    med["label"] = label
    med["settings"] = dict(overrides)
    return med


def overrides_for(workers: int | None, threads: int | None, beam: int | None) -> dict[str, str]:
    env = {"DEALSIGHT_JOBS__EXECUTOR": "local"}
    if workers is not None:
        env["DEALSIGHT_JOBS__WORKERS"] = str(workers)
    if threads is not None:
        env["DEALSIGHT_ASR__CPU_THREADS"] = str(threads)
    if beam is not None:
        env["DEALSIGHT_ASR__BEAM_SIZE"] = str(beam)
    return env


def main() -> int:
    args = parse_args()
    info = machine_info()
    clips = load_clips(args.files)
    deadline = time.monotonic() + args.max_minutes * 60
    header = [
        *machine_rows(info),
        ("batch", f"{args.calls} calls posted at once from "
                  + ", ".join(f"{c.path.name} ({c.duration:.1f} s, {c.channels} ch)"
                              for c in clips)),
    ]
    if not args.sweep:
        res = run_config(args, clips, overrides_for(args.workers, args.cpu_threads,
                                                    args.beam_size), _label(args), deadline)
        rows = header + describe(res)
        rows.append(("target >= 30x", f"{yes_no(res['rtf'] >= TARGET_RTF)} ({res['rtf']:.1f}x)"))
        print_figures("batch throughput", rows)
        print_result("throughput", {"machine": info, **as_json(res),
                                    "target_met": res["rtf"] >= TARGET_RTF})
        return 0

    workers = [int(x) for x in args.sweep_workers.split(",")]
    threads = [int(x) for x in args.sweep_threads.split(",")]
    base_w, base_t = args.workers, args.cpu_threads  # None: the service defaults
    extra = dict(item.split("=", 1) for item in args.sweep_env)
    Config = tuple[str, int | None, int | None, dict[str, str]]
    configs: list[Config] = [("baseline", base_w, base_t, {})]
    configs += [(f"w{w}-t{t}", w, t, {}) for w in workers for t in threads]
    if extra:
        configs.append(("baseline+" + ",".join(f"{k}={v}" for k, v in extra.items()),
                        base_w, base_t, extra))
    # Rounds: every configuration once per round, the order reversed every other round, so
    # each ratio compares with the baseline measured minutes apart, not at the other end.
    one_batch = argparse.Namespace(**{**vars(args), "repeat": 1})
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in configs}
    ratios: dict[str, list[float]] = {name: [] for name, *_ in configs}
    for rnd in range(args.repeat):
        order = configs if rnd % 2 == 0 else configs[::-1]
        this_round: dict[str, float] = {}
        for name, w, t, env in order:
            if time.monotonic() > deadline:
                print(f"[bench] --max-minutes reached; skipping {name}", file=sys.stderr)
                continue
            res = run_config(one_batch, clips, {**env, **overrides_for(w, t, args.beam_size)},
                             f"{name} r{rnd + 1}", deadline)
            runs[name].append(res)
            this_round[name] = res["rtf"]
        if this_round.get("baseline"):
            for name, rtf in this_round.items():
                ratios[name].append(rtf / this_round["baseline"])
    results = [_merge(name, rs) for name, rs in runs.items() if rs]
    base_rtf = median(r["rtf"] for r in runs["baseline"])
    rows = header + [
        ("baseline", "service defaults"
         + (f" with workers={base_w}" if base_w is not None else "")
         + (f" cpu_threads={base_t}" if base_t is not None else "")
         + f"; {args.repeat} round(s), order reversed every other round"),
        ("baseline RTF per round", ", ".join(f"{r['rtf']:.1f}x" for r in runs["baseline"])),
    ]
    for r in results:
        rows += describe(r)
        rows.append((f"[{r['label']}] vs baseline", "median "
                     f"{median(ratios[r['label']]):.3f} (per round: "
                     + ", ".join(f"{x:.3f}" for x in ratios[r["label"]]) + ")"))
    swept = [r for r in results if r["label"] != "baseline"]
    best = max(swept or results, key=lambda r: median(ratios[r["label"]]))
    best_ratio = median(ratios[best["label"]])
    rows += [
        ("fastest (by ratio)", f"{best['label']}: {best_ratio:.3f} x baseline, "
                               f"median {best['rtf']:.1f}x real time"),
        ("target >= 30x (baseline)", f"{yes_no(base_rtf >= TARGET_RTF)} ({base_rtf:.1f}x)"),
        ("target >= 30x (fastest)", f"{yes_no(best['rtf'] >= TARGET_RTF)} "
                                    f"({best['rtf']:.1f}x)"),
    ]
    print_figures("batch throughput sweep", rows)
    print_result("throughput", {
        "machine": info, "rounds": args.repeat, "baseline_rtf": r3(base_rtf),
        "fastest": best["label"],
        "configs": {r["label"]: {**as_json(r), "vs_baseline_median": r3(median(ratios[r["label"]])),
                                 "vs_baseline": [r3(x) for x in ratios[r["label"]]]}
                    for r in results},
        "target_met_baseline": base_rtf >= TARGET_RTF,
    })
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\n[bench] interrupted", file=sys.stderr)
        sys.exit(130)
