"""Figures for the bench scripts: word error against references, percentiles, printing."""

from __future__ import annotations

import json
import math
import os
import platform
import re
import statistics
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Reference:
    """Reference text of a test recording: per speaker and in turn order."""

    by_speaker: dict[str, str]
    merged: str
    duration: float


def load_reference(json_path: Path, *, loops: int = 1) -> Reference:
    """The reference turns of a test clip (repeated `loops` times for a looped file)."""
    data = json.loads(json_path.read_text())
    turns = sorted(data["turns"], key=lambda t: t["start"])
    by: dict[str, list[str]] = {}
    merged: list[str] = []
    for _ in range(loops):
        for t in turns:
            by.setdefault(t["speaker"], []).append(t["text"])
            merged.append(t["text"])
    return Reference(
        {k: " ".join(v) for k, v in by.items()},
        " ".join(merged),
        float(data.get("duration", 0.0)) * loops,
    )


def word_errors(reference: str, hypothesis: str) -> tuple[float, int]:
    """(edit distance in words, reference word count) using the project's own WER."""
    from nlp.transcribe import normalize_words, word_error_rate

    n = len(normalize_words(reference))
    return word_error_rate(reference, hypothesis) * n, n


def transcript_wer(
    words_by_speaker: Mapping[str, Sequence[str]],
    all_words: Sequence[str],
    ref: Reference,
    *,
    per_speaker: bool,
) -> float:
    """WER pooled over speakers (stereo: each channel against its own turns) or over the mix."""
    if per_speaker and set(ref.by_speaker) <= set(words_by_speaker):
        errs = total = 0.0
        for speaker, text in ref.by_speaker.items():
            e, n = word_errors(text, " ".join(words_by_speaker.get(speaker, ())))
            errs += e
            total += n
        return errs / max(total, 1)
    e, n = word_errors(ref.merged, " ".join(all_words))
    return e / max(n, 1)


def api_words(conv: Mapping[str, Any]) -> tuple[dict[str, list[str]], list[str]]:
    """Words of a conversation JSON, by speaker and in time order."""
    by: dict[str, list[str]] = {}
    flat: list[tuple[float, str]] = []
    for seg in conv.get("segments") or ():
        for w in seg["words"]:
            by.setdefault(seg["speaker"], []).append(w["word"])
            flat.append((w["start"], w["word"]))
    flat.sort(key=lambda x: x[0])
    return by, [w for _, w in flat]


# --------------------------------------------------------------------------- figures


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear interpolation; nan for no values."""
    if not values:
        return math.nan
    xs = sorted(values)
    k = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def median(values: Iterable[float]) -> float:
    xs = list(values)
    return statistics.median(xs) if xs else math.nan


def print_figures(title: str, rows: Sequence[tuple[str, Any]]) -> None:
    """An aligned block of `name  value` lines on stdout."""
    width = max((len(k) for k, _ in rows), default=0)
    print(f"\n== {title} ==")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    sys.stdout.flush()


def print_result(bench: str, data: Mapping[str, Any]) -> None:
    """The figures as one JSON line prefixed `RESULT ` (grep-able, paste-able)."""
    print("RESULT " + json.dumps({"bench": bench, **data}, default=_json_default))
    sys.stdout.flush()


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return str(value)


def r3(x: float) -> float | None:
    """Round for JSON; nan becomes None."""
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(x, 3)


def yes_no(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def _package_version(name: str) -> str:
    try:
        return importlib_metadata.version(name)
    except importlib_metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = math.nan
    try:
        with open("/proc/meminfo") as f:
            m = re.search(r"MemTotal:\s+(\d+) kB", f.read())
            if m:
                mem_gib = int(m.group(1)) / 1024**2
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_gib, 1),
        "python": platform.python_version(),
        "faster_whisper": _package_version("faster-whisper"),
        "ctranslate2": _package_version("ctranslate2"),
        "loadavg_1m_at_start": round(os.getloadavg()[0], 2),
    }


def machine_rows(info: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return [
        (
            "machine",
            f"{info['nproc']} CPU ({info['cpu']}), {info['ram_gib']} GiB RAM, "
            f"load {info['loadavg_1m_at_start']} at start",
        ),
        (
            "software",
            f"Python {info['python']}, faster-whisper {info['faster_whisper']}, "
            f"ctranslate2 {info['ctranslate2']}",
        ),
    ]
