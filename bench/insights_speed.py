"""Throughput of the full insights pipeline, and peak memory of a worker with every model loaded.

    .venv/bin/python bench/insights_speed.py [--utterances 3000] [--threads 1] [--workers 1]

Utterances are the labelled sentences (customer and rep) grouped into calls of 40 turns with the
data set's competitor catalogue. The segmenter alone runs first as the in-run baseline. Peak
memory is measured in a fresh process that loads Whisper, the diarizer and the pipeline, then
transcribes a clip and analyses a call (the memory a worker needs).

--workers N runs the calls on N threads sharing one pipeline, as the service's in-process
executor does (one worker thread per core by default, DEALSIGHT_JOBS__WORKERS), so
`--workers 2` is the service's own set-up on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlp.components.segmenter import Segmenter  # noqa: E402
from nlp.encoder import EncoderConfig  # noqa: E402
from nlp.objections.data import load_examples  # noqa: E402
from nlp.registry import NlpConfig, build_pipeline, default_model_root  # noqa: E402
from nlp.types import AnalysisDoc, CompetitorSpec, TenantNlpConfig, Utterance  # noqa: E402

DATA = ROOT / "bench" / "data" / "insights"


def make_docs(n: int) -> tuple[list[list[Utterance]], TenantNlpConfig]:
    """n utterances from the data set as calls of 40 turns, and the data set's catalogue."""
    examples = load_examples([DATA / "sentences.jsonl"])
    catalogue = json.loads((DATA / "competitors.json").read_text())
    tenant = TenantNlpConfig(
        competitors=tuple(CompetitorSpec(c["name"], tuple(c["aliases"])) for c in catalogue)
    )
    utts = [
        Utterance(e.speaker, e.text, float(i), float(i) + 2.5)  # type: ignore[arg-type]
        for i, e in enumerate(examples[i % len(examples)] for i in range(n))
    ]
    return [utts[i : i + 40] for i in range(0, n, 40)], tenant


def timed(fn: object, docs: list[AnalysisDoc], workers: int = 1) -> float:
    """Seconds for fn over docs, one call per doc spread over workers threads when above 1."""
    start = time.perf_counter()
    if workers == 1:
        fn(docs)  # type: ignore[operator]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda d: fn([d]), docs))  # type: ignore[operator]
    return time.perf_counter() - start


def peak_memory() -> dict[str, float]:
    """Run a worker-like process and report its peak resident memory."""
    code = f"""
import resource, sys
sys.path.insert(0, {str(ROOT)!r})
from nlp.audio import decode_audio
from nlp.diarize import load_default_diarizer
from nlp.registry import NlpConfig, build_pipeline, default_model_root, analyze
from nlp.transcribe import AsrConfig, Transcriber
from nlp.types import Utterance
t = Transcriber(AsrConfig())
audio = decode_audio({str(ROOT / "tests/data/audio/dialogue_stereo.wav")!r}, max_duration_s=600)
t.transcribe(audio)
d = load_default_diarizer()
mono = decode_audio({str(ROOT / "tests/data/audio/dialogue_mono.wav")!r}, max_duration_s=600)
t.transcribe(mono, diarizer=d)
p = build_pipeline(NlpConfig(default_model_root() / "objections-latest"))
p.initialize()
analyze(p, [Utterance("customer", "Honestly the price is too high and we use HubSpot.")])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {"worker_peak_rss_mb": float(out.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--utterances", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=1, help="ONNX threads per model")
    parser.add_argument(
        "--workers", type=int, default=1, help="threads sharing the pipeline, one call each"
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory process")
    args = parser.parse_args()

    calls, tenant = make_docs(args.utterances)
    pipeline = build_pipeline(
        NlpConfig(
            default_model_root() / "objections-latest",
            encoder=EncoderConfig(threads=args.threads),
            threads=args.threads,
        )
    )
    pipeline.initialize()
    # Warm-up (first calls allocate buffers), not timed.
    pipeline([AnalysisDoc(list(calls[0]), tenant=tenant)])
    seg_s = timed(Segmenter(), [AnalysisDoc(list(c), tenant=tenant) for c in calls])
    docs = [AnalysisDoc(list(c), tenant=tenant) for c in calls]
    full_s = timed(pipeline, docs, args.workers)
    n = sum(len(c) for c in calls)
    insights = sum(len(d.insights) for d in docs)
    result: dict[str, float | int | str] = {
        "utterances": n,
        "calls": len(calls),
        "segmenter_only_utt_per_s": round(n / seg_s, 1),
        "pipeline_utt_per_s": round(n / full_s, 1),
        "pipeline_vs_segmenter": round(seg_s / full_s, 4),
        "insights": insights,
        "threads": args.threads,
        "workers": args.workers,
        "this_process_peak_rss_mb": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        ),
    }
    if not args.no_memory:
        result.update(peak_memory())
    print(f"utterances               {n} in {len(calls)} calls")
    print(f"segmenter only           {result['segmenter_only_utt_per_s']:>8} utt/s (baseline)")
    print(f"full pipeline            {result['pipeline_utt_per_s']:>8} utt/s  (target >= 300)")
    if "worker_peak_rss_mb" in result:
        print(f"worker peak memory       {result['worker_peak_rss_mb']:>8.0f} MB  (target <= 1536)")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
