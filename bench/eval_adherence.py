"""Script adherence: calibrate the threshold on the train lines, report on the test lines.

.venv/bin/python bench/eval_adherence.py [--data bench/data/adherence/script_lines.txt]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from nlp.adherence import (  # noqa: E402
    DEFAULT_THRESHOLD,
    LabelledPair,
    calibrate_threshold,
    load_labelled,
    precision_recall,
)
from nlp.encoder import EncoderConfig, SentenceEncoder  # noqa: E402


def scores(encoder: SentenceEncoder, pairs: list[LabelledPair]) -> np.ndarray:
    """Cosine similarity of each pair's line and sentence."""
    lines = encoder.encode([p.line for p in pairs])
    sents = encoder.encode([p.sentence for p in pairs])
    return np.asarray((lines * sents).sum(axis=1), dtype=np.float64)


def word_overlap(pairs: list[LabelledPair]) -> np.ndarray:
    """Baseline: Jaccard overlap of lower-cased words (what a keyword tracker would see)."""

    def words(text: str) -> set[str]:
        return set(re.findall(r"[a-z0-9']+", text.lower()))

    out = []
    for p in pairs:
        a, b = words(p.line), words(p.sentence)
        out.append(len(a & b) / len(a | b) if a | b else 0.0)
    return np.asarray(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=REPO / "bench/data/adherence/script_lines.txt")
    args = ap.parse_args()
    pairs = load_labelled(args.data)
    encoder = SentenceEncoder(EncoderConfig(threads=1))
    t0 = time.perf_counter()
    sim = scores(encoder, pairs)
    elapsed = time.perf_counter() - t0
    said = np.array([p.said for p in pairs])
    train = np.array([p.split == "train" for p in pairs])
    threshold = calibrate_threshold(sim[train], said[train])
    overlap = word_overlap(pairs)
    overlap_threshold = calibrate_threshold(overlap[train], said[train])
    rows = {}
    for name, mask in (("train", train), ("test", ~train)):
        for label, values, t in (
            ("calibrated", sim, threshold),
            ("shipped", sim, DEFAULT_THRESHOLD),
            ("word-overlap", overlap, overlap_threshold),
        ):
            p, r, f1 = precision_recall(said[mask], values[mask] >= t)
            rows[f"{name}/{label}"] = {
                "pairs": int(mask.sum()),
                "positives": int(said[mask].sum()),
                "threshold": t,
                "precision": round(p, 3),
                "recall": round(r, 3),
                "f1": round(f1, 3),
            }
    print(f"adherence labelled set: {len(pairs)} pairs, encoded in {elapsed:.1f} s")
    print(
        f"{'split/threshold':<20}{'pairs':>7}{'pos':>6}{'thr':>7}{'prec':>7}{'recall':>8}{'f1':>7}"
    )
    for key, row in rows.items():
        print(
            f"{key:<20}{row['pairs']:>7}{row['positives']:>6}{row['threshold']:>7.2f}"
            f"{row['precision']:>7.3f}{row['recall']:>8.3f}{row['f1']:>7.3f}"
        )
    if abs(threshold - DEFAULT_THRESHOLD) > 1e-9:
        print(f"note: calibration gives {threshold}, nlp/adherence.py ships {DEFAULT_THRESHOLD}")
    print("RESULT " + json.dumps({"bench": "adherence", "calibrated": threshold, **rows}))


if __name__ == "__main__":
    main()
