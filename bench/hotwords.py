"""Does offering the competitor catalogue to Whisper as hotwords get vendor names right more often?

    .venv/bin/python bench/hotwords.py

Transcribes the test dialogues (stereo wav, mono wav, mp3, opus) with and without the data set's
catalogue as hotwords, and counts the vendor names found by the competitor matcher against the
names in the reference text, plus the word error rate of each run.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlp.audio import decode_audio  # noqa: E402
from nlp.components.competitors import CatalogueEntry, CompetitorMatcher  # noqa: E402
from nlp.transcribe import AsrConfig, Transcriber, word_error_rate  # noqa: E402

AUDIO = ROOT / "tests" / "data" / "audio"
CLIPS = ("dialogue_stereo.wav", "dialogue_mono.wav", "dialogue_mono.mp3", "dialogue_mono.opus")


def main() -> None:
    catalogue = json.loads((ROOT / "bench/data/insights/competitors.json").read_text())
    matcher = CompetitorMatcher([CatalogueEntry(c["name"], tuple(c["aliases"])) for c in catalogue])
    hotwords = " ".join(c["name"] for c in catalogue)
    ref = json.loads((AUDIO / "dialogue_stereo.json").read_text())
    ref_text = " ".join(t["text"] for t in ref["turns"])
    ref_names = [m.competitor for m in matcher.find(ref_text)]
    t = Transcriber(AsrConfig())
    totals = {"off": [0, 0.0], "on": [0, 0.0]}
    print(f"reference names: {ref_names}")
    print(f"{'clip':<22}{'hotwords':>9}{'names right':>13}{'WER':>7}{'seconds':>9}")
    for clip in CLIPS:
        audio = decode_audio(AUDIO / clip, max_duration_s=600)
        for mode in ("off", "on"):
            start = time.perf_counter()
            tr = t.transcribe(audio, hotwords=hotwords if mode == "on" else None)
            secs = time.perf_counter() - start
            text = " ".join(s.text for s in tr.segments)
            found = [m.competitor for m in matcher.find(text)]
            right = sum(min(found.count(n), ref_names.count(n)) for n in set(ref_names))
            wer = word_error_rate(ref_text, text)
            totals[mode][0] += right
            totals[mode][1] += wer
            print(f"{clip:<22}{mode:>9}{right:>8}/{len(ref_names):<4}{wer:7.3f}{secs:9.2f}")
    n = len(CLIPS)
    summary = {
        mode: {
            "names_right": v[0],
            "names_total": len(ref_names) * n,
            "mean_wer": round(v[1] / n, 4),
        }
        for mode, v in totals.items()
    }
    print("RESULT " + json.dumps(summary))


if __name__ == "__main__":
    main()
