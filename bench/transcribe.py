"""Transcription speed: the bare faster-whisper call vs the full service path on the same file.

(a) bare: nlp.transcribe.Transcriber with the AsrConfig the service builds from its settings
    (service.jobs.runtime.asr_config), decode + every channel, in this process;
(b) service: POST /v1/calls (multipart) to a `dealsight serve` child, then poll
    GET /v1/conversations/{id} until done; timed from the start of the POST to done.

Runs are interleaved (bare, service, service, bare, ...) so both share the machine's noise.
With --batched, also compares faster_whisper.BatchedInferencePipeline with the sequential path
(speed and word error rate against the reference turns).

Example:
    .venv/bin/python bench/transcribe.py --runs 3 --batched
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    AUDIO_DIR,
    Creds,
    Reference,
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
    print_figures,
    print_result,
    r3,
    service_from_args,
    transcript_wer,
    unique_id,
    wait_for_conversation,
    yes_no,
)

DEFAULT_SOURCE = AUDIO_DIR / "dialogue_stereo.wav"
TARGET_RATIO = 1.10
TARGET_WER_DELTA = 0.02


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--file", type=Path,
        help="audio file to transcribe (default: tests/data/audio/dialogue_stereo.wav looped "
             "--loops times into a temporary wav, about 2 minutes)",
    )
    p.add_argument("--loops", type=int, default=3,
                   help="times the default dialogue (42 s) is repeated (3: ~126 s)")
    p.add_argument("--reference", type=Path,
                   help="reference JSON with 'turns' (default: the file's sibling .json if any)")
    p.add_argument("--runs", type=int, default=3, help="measured runs of each path (3)")
    p.add_argument("--warmup", type=int, default=1,
                   help="unmeasured runs of each path first (model load, caches) (1)")
    p.add_argument("--poll", type=float, default=0.1,
                   help="seconds between status polls of the service path (0.1)")
    p.add_argument("--call-timeout", type=float, default=600.0,
                   help="give up on one service call after this many seconds (600)")
    p.add_argument("--max-minutes", type=float, default=30.0,
                   help="start no new run after this many minutes (30)")
    p.add_argument("--no-service", action="store_true",
                   help="skip the service path (bare and --batched only; no server started)")
    p.add_argument("--batched", action="store_true",
                   help="also compare BatchedInferencePipeline with the sequential path")
    p.add_argument("--batch-size", type=int, default=8, help="batch size for --batched (8)")
    g = p.add_argument_group("ASR settings (applied to both paths, as DEALSIGHT_* variables)")
    g.add_argument("--beam-size", type=int, help="DEALSIGHT_ASR__BEAM_SIZE (service default 1)")
    g.add_argument("--cpu-threads", type=int,
                   help="DEALSIGHT_ASR__CPU_THREADS (service default 1)")
    g.add_argument("--workers", type=int,
                   help="DEALSIGHT_JOBS__WORKERS; also the model's parallel streams "
                        "(service default 0 = one per core)")
    add_service_args(p)
    args = p.parse_args()
    check_service_args(p, args)
    if args.runs < 1 or args.loops < 1 or args.warmup < 0:
        p.error("--runs and --loops must be >= 1, --warmup >= 0")
    return args


def env_overrides(args: argparse.Namespace) -> dict[str, str]:
    """The DEALSIGHT_* variables that the options set."""
    env: dict[str, str] = {}
    if args.beam_size is not None:
        env["DEALSIGHT_ASR__BEAM_SIZE"] = str(args.beam_size)
    if args.cpu_threads is not None:
        env["DEALSIGHT_ASR__CPU_THREADS"] = str(args.cpu_threads)
    if args.workers is not None:
        env["DEALSIGHT_JOBS__WORKERS"] = str(args.workers)
    return env


def make_looped_wav(source: Path, loops: int, dest: Path) -> Path:
    """`source` repeated `loops` times as 16-bit PCM wav (sox; else PyAV decode + stdlib wave).

    The test clip is IMA ADPCM, which the stdlib wave module cannot read.
    """
    sox = shutil.which("sox")
    if sox:
        cmd = [sox, *[str(source)] * loops, "-e", "signed-integer", "-b", "16", str(dest)]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        return dest
    import numpy as np

    from nlp.audio import decode_audio

    audio = decode_audio(source, max_duration_s=24 * 3600, require_speech=False)
    pcm = (np.clip(audio.samples, -1.0, 1.0) * 32767).astype("<i2")
    frames = np.ascontiguousarray(np.tile(pcm, loops).T).tobytes()  # interleave channels
    with wave.open(str(dest), "wb") as out:
        out.setnchannels(audio.channels)
        out.setsampwidth(2)
        out.setframerate(audio.sample_rate)
        out.writeframes(frames)
    return dest


class BarePath:
    """The service's transcription call, made directly in this process."""

    def __init__(self) -> None:
        from nlp.transcribe import Transcriber
        from service.jobs.runtime import asr_config
        from service.settings import Settings

        self.settings = Settings()  # reads the same DEALSIGHT_* variables the child gets
        self.transcriber = Transcriber(asr_config(self.settings))  # type: ignore[arg-type]
        self._diarizer: Any = None
        self._diarizer_loaded = False

    def diarizer(self) -> Any:
        """The same mono diarizer the service would use (only loaded for mono files)."""
        if not self._diarizer_loaded:
            self._diarizer_loaded = True
            if self.settings.asr.diarize:
                from nlp.diarize import load_default_diarizer

                self._diarizer = load_default_diarizer()
        return self._diarizer

    def run(self, path: Path, ref: Reference | None) -> dict[str, Any]:
        """Decode and transcribe like service.jobs.tasks.do_transcribe does."""
        from nlp.audio import decode_audio

        t0 = time.perf_counter()
        audio = decode_audio(path, max_duration_s=self.settings.asr.max_duration_s)
        t1 = time.perf_counter()
        stereo = audio.channels >= 2
        transcript = self.transcriber.transcribe(
            audio,
            channels={0: "rep", 1: "customer"} if stereo else None,
            rep_name="Dana Smith",
            customer_names=["Laura"],
            direction="outbound",
            diarizer=None if stereo else self.diarizer(),
        )
        t2 = time.perf_counter()
        by: dict[str, list[str]] = {}
        flat: list[tuple[float, str]] = []
        for seg in transcript.segments:
            for w in seg.words:
                by.setdefault(seg.speaker, []).append(w.word)
                flat.append((w.start, w.word))
        flat.sort(key=lambda x: x[0])
        wer = (
            transcript_wer(by, [w for _, w in flat], ref, per_speaker=stereo)
            if ref else float("nan")
        )
        diarize_s = float("nan")
        if not stereo and self.diarizer() is not None:
            # Timed apart, after the measured run, to show the diarizer's share of a mono call.
            t3 = time.perf_counter()
            self.diarizer().diarize(audio.mono(), audio.sample_rate)
            diarize_s = time.perf_counter() - t3
        return {"wall_s": t2 - t0, "decode_s": t1 - t0, "asr_s": t2 - t1, "wer": wer,
                "audio_s": audio.duration, "channels": audio.channels, "diarize_s": diarize_s}


def _iso(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def service_run(client: httpx.Client, creds: Creds, path: Path, data: bytes, *, stereo: bool,
                ref: Reference | None, poll_s: float, timeout_s: float) -> dict[str, Any]:
    """POST the file to /v1/calls and wait for done; wall time from the POST to done."""
    meta = call_metadata(unique_id("bench-asr"), stereo=stereo)
    body, ctype = multipart_body(meta, data, filename=path.name,
                                 content_type=content_type_for(path))
    headers = {**creds.auth(), "Content-Type": ctype}
    t0 = time.monotonic()
    r = client.post("/v1/calls", content=body, headers=headers)
    accepted = time.monotonic()
    if r.status_code != 202:
        raise RuntimeError(f"POST /v1/calls answered {r.status_code}: {r.text[:300]}")
    tracked = Tracked(str(r.json()["conversation_id"]), t0, accepted)
    wait_for_conversation(client, creds, tracked, poll_s=poll_s, timeout_s=timeout_s)
    conv = tracked.final or {}
    if conv.get("status") != "done":
        raise RuntimeError(f"service call failed: {conv.get('error')}")
    done = tracked.done_at() or time.monotonic()
    by, flat = api_words(conv)
    wer = transcript_wer(by, flat, ref, per_speaker=stereo) if ref else float("nan")
    server_s = (_iso(conv["updated_at"]) - _iso(conv["created_at"])).total_seconds()
    phases = tracked.phase_seconds(done)
    return {"wall_s": done - t0, "upload_s": accepted - t0, "server_s": server_s,
            "wer": wer, "phases": phases}


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


def main() -> int:
    args = parse_args()
    overrides = env_overrides(args)
    os.environ.update(overrides)  # the bare path reads them through Settings() too
    info = machine_info()
    started = time.monotonic()
    deadline = started + args.max_minutes * 60

    with tempfile.TemporaryDirectory(prefix="dealsight-bench-asr-") as tmp:
        if args.file:
            path = args.file.resolve()
            ref_path = args.reference or path.with_suffix(".json")
            ref = load_reference(ref_path) if ref_path.is_file() else None
        else:
            path = make_looped_wav(DEFAULT_SOURCE, args.loops, Path(tmp) / "dialogue_loop.wav")
            ref_path = args.reference or DEFAULT_SOURCE.with_suffix(".json")
            ref = load_reference(ref_path, loops=args.loops)
        data = path.read_bytes()

        print("[bench] loading the model for the bare path...", file=sys.stderr)
        bare = BarePath()
        cfg = bare.transcriber.config
        probe = bare.run(path, ref)  # also the first warm-up run of the bare path
        audio_s, stereo = probe["audio_s"], probe["channels"] >= 2
        print(f"[bench] {path.name}: {audio_s:.1f} s, {probe['channels']} channel(s); "
              f"beam {cfg.beam_size}, cpu_threads {cfg.cpu_threads}, "
              f"num_workers {cfg.num_workers}", file=sys.stderr)

        bare_runs: list[dict[str, Any]] = []
        svc_runs: list[dict[str, Any]] = []
        batched_rows: list[tuple[str, Any]] = []
        batched_json: dict[str, Any] = {}
        service_ctx = (
            _null_service() if args.no_service
            else service_from_args(args, env_overrides=overrides, label="dealsight-bench-asr")
        )
        with service_ctx as (creds, _svc), httpx.Client(
            base_url=creds.url if creds else "http://127.0.0.1", timeout=60.0, trust_env=False
        ) as client:
            def svc() -> dict[str, Any]:
                assert creds is not None
                return service_run(client, creds, path, data, stereo=stereo, ref=ref,
                                   poll_s=args.poll, timeout_s=args.call_timeout)

            for _ in tqdm(range(args.warmup), desc="warm-up", unit="run", disable=not args.warmup):
                if args.warmup > 1:
                    bare.run(path, ref)
                if creds:
                    svc()
            bar = tqdm(range(args.runs), desc="bare/service runs", unit="pair")
            for i in bar:
                if time.monotonic() > deadline:
                    print("[bench] --max-minutes reached; stopping early", file=sys.stderr)
                    break
                # Alternate the order so neither path always runs on a cooler machine.
                order = ("bare", "svc") if i % 2 == 0 else ("svc", "bare")
                for which in order:
                    if which == "bare":
                        bare_runs.append(bare.run(path, ref))
                    elif creds:
                        svc_runs.append(svc())
                post = {"bare_rtf": f"{audio_s / bare_runs[-1]['wall_s']:.1f}"}
                if svc_runs:
                    post["svc_rtf"] = f"{audio_s / svc_runs[-1]['wall_s']:.1f}"
                bar.set_postfix(post)

            if args.batched:
                batched_rows, batched_json = compare_batched(
                    args, bare, path, ref, deadline=deadline
                )

    rows, result = summarise(args, info, path, audio_s, cfg, bare_runs, svc_runs, ref)
    print_figures(f"transcription: bare faster-whisper vs service ({path.name})", rows)
    if batched_rows:
        print_figures("batched pipeline vs sequential", batched_rows)
        result["batched"] = batched_json
    print_result("transcribe", result)
    return 0


class _null_service:
    """Context manager standing in for service_from_args when --no-service is given."""

    def __enter__(self) -> tuple[None, None]:
        return None, None

    def __exit__(self, *exc: object) -> None:
        return None


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


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\n[bench] interrupted", file=sys.stderr)
        sys.exit(130)
