"""Evaluate objections and competitor mentions on the held-out parts of the labelled data.

For each held-out part (the test split of sentences.jsonl, then each sentences_holdout_*.jsonl
written later), prints per-category precision/recall/F1 and macro-F1 for the trained model and
for the keyword baseline, competitor mention precision/recall (with the speech-recognition
spellings and common-word names broken out) and context-label accuracy, in one run.

    .venv/bin/python bench/eval_insights.py [--split held-out|train] [--model DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlp.components.competitor_context import FILE_NAME as CONTEXT_FILE  # noqa: E402
from nlp.components.competitor_context import ContextModel  # noqa: E402
from nlp.components.competitors import (  # noqa: E402
    COMMON_WORD_NAMES,
    CatalogueEntry,
    CompetitorMatcher,
    Mention,  # noqa: E402
    context_label,
)
from nlp.components.objections import candidate  # noqa: E402
from nlp.components.segmenter import is_question  # noqa: E402
from nlp.encoder import SentenceEncoder  # noqa: E402
from nlp.objections import CATEGORIES  # noqa: E402
from nlp.objections.data import Example, load_examples  # noqa: E402
from nlp.objections.keywords import default_keyword_trackers, keyword_labels  # noqa: E402
from nlp.objections.model import ObjectionModel  # noqa: E402
from nlp.registry import default_model_root  # noqa: E402
from nlp.types import Sentence  # noqa: E402

DATA = ROOT / "bench" / "data" / "insights"


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall, F1 (0 where undefined)."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def score(gold: list[set[str]], pred: list[set[str]]) -> dict[str, tuple[float, float, float]]:
    """Per-category P/R/F1 over sentences."""
    out = {}
    for c in CATEGORIES:
        tp = sum(c in g and c in p for g, p in zip(gold, pred, strict=True))
        fp = sum(c not in g and c in p for g, p in zip(gold, pred, strict=True))
        fn = sum(c in g and c not in p for g, p in zip(gold, pred, strict=True))
        out[c] = prf(tp, fp, fn)
    return out


def as_sentence(e: Example) -> Sentence:
    """A labelled example as a pipeline sentence."""
    return Sentence(0, 0, len(e.text), e.text, e.speaker, None, None, is_question(e.text))  # type: ignore[arg-type]


def model_labels(model: ObjectionModel, examples: list[Example]) -> list[set[str]]:
    """What the objection component would report: customer sentences only, per threshold."""
    sents = [as_sentence(e) for e in examples]
    idx = [i for i, s in enumerate(sents) if candidate(s)]
    probs = model.predict([sents[i].text for i in idx])
    out: list[set[str]] = [set() for _ in examples]
    for i, row in zip(idx, probs, strict=True):
        out[i] = {model.labels[k] for k in range(len(row)) if row[k] >= model.thresholds[k]}
    return out


def competitor_scores(examples: list[Example], model_dir: Path) -> dict[str, object]:
    """Mention precision/recall overall and on the hard subsets, and context accuracy."""
    catalogue = json.loads((DATA / "competitors.json").read_text())
    matcher = CompetitorMatcher([CatalogueEntry(c["name"], tuple(c["aliases"])) for c in catalogue])
    counts: dict[str, Counter[str]] = {
        k: Counter() for k in ("all", "asr_spelling", "common_word_names")
    }
    # The shipped context model when the model folder has one, else the cue-phrase rules.
    if (model_dir / CONTEXT_FILE).is_file():
        ctx_model = ContextModel(model_dir, SentenceEncoder())

        def label_context(text: str, m: Mention) -> str:
            return ctx_model.predict([(text, m)])[0]
    else:
        label_context = context_label
    ambiguous = {c["name"] for c in catalogue if c["name"].lower() in COMMON_WORD_NAMES}
    ctx_right = ctx_total = 0
    confusion: Counter[tuple[str, str]] = Counter()
    for e in examples:
        gold = {c["name"]: c for c in e.competitors}
        found = matcher.find(e.text)
        pred = {m.competitor: m for m in found}
        groups = ["all"] + [t for t in ("asr_spelling",) if t in e.tags]
        # Both senses of the everyday-word names: the vendor meant, or just the word.
        if "common_word_name" in e.tags or gold.keys() & ambiguous:
            groups.append("common_word_names")
        for g in groups:
            counts[g]["tp"] += len(gold.keys() & pred.keys())
            counts[g]["fp"] += len(pred.keys() - gold.keys())
            counts[g]["fn"] += len(gold.keys() - pred.keys())
        for name in gold.keys() & pred.keys():
            got = label_context(e.text, pred[name])
            want = gold[name]["context"]
            ctx_total += 1
            ctx_right += got == want
            confusion[(want, got)] += 1
    result: dict[str, object] = {}
    for g, c in counts.items():
        p, r, f = prf(c["tp"], c["fp"], c["fn"])
        result[g] = {"precision": p, "recall": r, "f1": f, "mentions": c["tp"] + c["fn"]}
    result["context_accuracy"] = ctx_right / ctx_total if ctx_total else 0.0
    result["context_confusion"] = {f"{w}->{g}": n for (w, g), n in sorted(confusion.items())}
    return result


def holdout_parts() -> dict[str, list[Example]]:
    """The held-out parts: the main file's test split, then each later-written holdout file."""
    parts = {"test": [e for e in load_examples([DATA / "sentences.jsonl"]) if e.split == "test"]}
    for path in sorted(DATA.glob("sentences_holdout_*.jsonl")):
        parts[path.stem.removeprefix("sentences_")] = load_examples([path])
    return parts


def evaluate(examples: list[Example], model: ObjectionModel, model_dir: Path) -> dict[str, object]:
    """Every figure for one part: model and keyword baseline per category, and competitors."""
    gold = [set(e.labels) for e in examples]
    ours = score(gold, model_labels(model, examples))
    base = score(
        gold, keyword_labels([as_sentence(e) for e in examples], default_keyword_trackers())
    )
    return {
        "sentences": len(examples),
        "objections": {c: dict(zip(("p", "r", "f1"), v, strict=True)) for c, v in ours.items()},
        "keyword_baseline": {
            c: dict(zip(("p", "r", "f1"), v, strict=True)) for c, v in base.items()
        },
        "macro_f1": float(np.mean([f for _, _, f in ours.values()])),
        "keyword_macro_f1": float(np.mean([f for _, _, f in base.values()])),
        "competitors": competitor_scores(examples, model_dir),
    }


def print_part(name: str, result: dict[str, Any]) -> None:
    """The human-readable table for one part."""
    ours, base = result["objections"], result["keyword_baseline"]
    print(f"\nObjections on the {name} part ({result['sentences']} sentences)")
    print(f"{'category':<13}{'P':>7}{'R':>7}{'F1':>7}   {'kw P':>7}{'kw R':>7}{'kw F1':>7}")
    for c in CATEGORIES:
        o, b = ours[c], base[c]
        print(
            f"{c:<13}{o['p']:7.3f}{o['r']:7.3f}{o['f1']:7.3f}   "
            f"{b['p']:7.3f}{b['r']:7.3f}{b['f1']:7.3f}"
        )
    macro, kw = result["macro_f1"], result["keyword_macro_f1"]
    print(f"{'macro-F1':<13}{'':14}{macro:7.3f}   {'':14}{kw:7.3f}")
    print(f"model - keyword baseline: {macro - kw:+.3f} macro-F1")
    comp = result["competitors"]
    print("Competitor mentions")
    for g in ("all", "asr_spelling", "common_word_names"):
        m = comp[g]
        print(
            f"  {g:<17} precision {m['precision']:.3f}  recall {m['recall']:.3f}  "
            f"({m['mentions']} mentions)"
        )
    print(f"  context label accuracy {comp['context_accuracy']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--split",
        default="held-out",
        help="'held-out' (default: the test split and every holdout file, each on its own),"
        " or a split of sentences.jsonl such as 'train'",
    )
    parser.add_argument("--model", type=Path, default=default_model_root() / "objections-latest")
    parser.add_argument("--json", action="store_true", help="print only the JSON result line")
    args = parser.parse_args()

    if args.split == "held-out":
        parts = holdout_parts()
    else:
        parts = {
            args.split: [
                e for e in load_examples([DATA / "sentences.jsonl"]) if e.split == args.split
            ]
        }
    model = ObjectionModel(args.model)
    results = {name: evaluate(examples, model, args.model) for name, examples in parts.items()}
    if not args.json:
        print(f"model {args.model.resolve().name}")
        for name, result in results.items():
            print_part(name, result)
    print("RESULT " + json.dumps({"model": str(args.model.resolve()), "parts": results}))


if __name__ == "__main__":
    main()
