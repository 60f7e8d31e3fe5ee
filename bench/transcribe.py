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
    multipart_body,
    print_figures,
    print_result,
    service_from_args,
    transcript_wer,
    unique_id,
    wait_for_conversation,
)
from bench.transcribe_report import (  # noqa: E402
    compare_batched,
    summarise,
)

DEFAULT_SOURCE = AUDIO_DIR / "dialogue_stereo.wav"


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

if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\n[bench] interrupted", file=sys.stderr)
        sys.exit(130)
