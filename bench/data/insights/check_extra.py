"""Check the added sentence files before they are committed.

Two kinds: train-only additions (sentences_extra_X.jsonl, ids starting X, split "train") and
later held-out parts (sentences_holdout_X.jsonl, ids starting hX, split "test").

Usage: python bench/data/insights/check_extra.py [FILE ...]   (default: every added file)

Checks each line's shape, labels, tags and competitor surfaces, that ids are unique across all
sentence files, and that no sentence repeats or nearly repeats one in another file. Matches
against the held-out test split are reported by the checked file's id and score only, so the
test sentences are never printed.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from nlp.objections import CATEGORIES  # noqa: E402

LABELS = set(CATEGORIES)
TAGS = {
    "negation",
    "question",
    "rep_speech",
    "indirect",
    "hypothetical",
    "competitor_question",
    "history",
    "competitor_neutral",
    "small_talk",
    "positive",
    "next_step",
    "multi_label",
    "asr_spelling",
    "common_word_name",
    "other_org",
    "email_register",
}
CONTEXTS = {"incumbent", "evaluating", "comparison", "past", "other"}
COMMON_WORDS = re.compile(
    r"\b(outreach|apollo|dynamics|gong|close|copper|chorus|clarity)\b", re.IGNORECASE
)
NEAR = 85.0  # rapidfuzz ratio (0-100) at or above which two sentences count as near-duplicates


def normalise(text: str) -> str:
    """Lower case with runs of whitespace collapsed, for comparing sentences."""
    return " ".join(text.lower().split())


def read(path: Path) -> list[dict[str, Any]]:
    """The rows of one JSON-lines file, each with its file name and line number added."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            row["_where"] = f"{path.name}:{n}"
            rows.append(row)
    return rows


def id_prefix_and_split(path: Path) -> tuple[str, str]:
    """The id prefix and split that every row of an added file must have."""
    if path.stem.startswith("sentences_holdout_"):
        return "h" + path.stem.removeprefix("sentences_holdout_"), "test"
    return path.stem.removeprefix("sentences_extra_"), "train"


def row_problems(
    row: dict[str, Any], catalogue: dict[str, set[str]], split: str = "train"
) -> list[str]:
    """What is wrong with one added row (empty when nothing is)."""
    out = []
    text, labels, tags = row.get("text"), row.get("labels"), row.get("tags")
    if not isinstance(text, str) or not text.strip():
        return ["text missing or empty"]
    if not isinstance(labels, list) or not isinstance(tags, list):
        return ["labels and tags must be lists"]
    if row.get("split") != split:
        out.append(f"split is not {split}")
    if row.get("speaker") not in ("customer", "rep"):
        out.append(f"bad speaker {row.get('speaker')!r}")
    if row.get("speaker") == "rep" and (labels or "rep_speech" not in tags):
        out.append("rep lines need labels [] and the rep_speech tag")
    if bad := set(labels) - LABELS:
        out.append(f"unknown labels {sorted(bad)}")
    if len(set(labels)) != len(labels):
        out.append("repeated label")
    if bad := set(tags) - TAGS:
        out.append(f"unknown tags {sorted(bad)}")
    if ("multi_label" in tags) != (len(labels) > 1):
        out.append("multi_label tag does not match the number of labels")
    spans = []
    asr = False
    for c in row.get("competitors", []):
        name, surface = c.get("name"), c.get("surface", "")
        if name not in catalogue:
            out.append(f"{name!r} is not in the catalogue")
            continue
        start = text.find(surface) if surface else -1
        if start < 0:
            out.append(f"surface {surface!r} is not in the text")
            continue
        spans.append((start, start + len(surface)))
        asr = asr or surface not in catalogue[name]
        if c.get("context") not in CONTEXTS:
            out.append(f"bad context {c.get('context')!r}")
    if asr != ("asr_spelling" in tags):
        out.append("asr_spelling tag does not match the surfaces")
    common = any(not any(a <= m.start() < b for a, b in spans) for m in COMMON_WORDS.finditer(text))
    if common != ("common_word_name" in tags):
        out.append("common_word_name tag does not match the text")
    return out


def main(argv: list[str]) -> int:
    """Check the named added files (or all of them); print problems and return 1 if any."""
    extras = sorted(
        [*HERE.glob("sentences_extra_*.jsonl"), *HERE.glob("sentences_holdout_*.jsonl")]
    )
    checked = [Path(a).resolve() for a in argv] or extras
    catalogue = {
        c["name"]: {c["name"], *c["aliases"]}
        for c in json.loads((HERE / "competitors.json").read_text(encoding="utf-8"))
    }
    files = {p: read(p) for p in [HERE / "sentences.jsonl", *extras, *checked]}
    problems: list[str] = []

    ids = Counter(str(r["id"]) for rows in files.values() for r in rows)
    problems += [f"id {i} used {n} times" for i, n in ids.items() if n > 1]
    for path in checked:
        prefix, split = id_prefix_and_split(path)
        for row in files[path]:
            if not str(row.get("id", "")).startswith(prefix):
                problems.append(f"{row['_where']}: id {row.get('id')} lacks prefix {prefix!r}")
            problems += [
                f"{row['_where']} {row['id']}: {p}" for p in row_problems(row, catalogue, split)
            ]

    for path in checked:
        mine = files[path]
        others = [r for p, rows in files.items() if p != path for r in rows]
        mine_text = [normalise(r["text"]) for r in mine]
        other_text = [normalise(r["text"]) for r in others]
        scores = process.cdist(mine_text, other_text, scorer=fuzz.ratio, workers=1)
        inner = process.cdist(mine_text, mine_text, scorer=fuzz.ratio, workers=1)
        for i, row in enumerate(mine):
            for j in (scores[i] >= NEAR).nonzero()[0]:
                other = others[int(j)]
                if other.get("split") == "test":  # never show held-out text
                    problems.append(f"{row['id']}: {scores[i][j]:.0f} to a test sentence")
                else:
                    problems.append(
                        f"{row['id']}: {scores[i][j]:.0f} to {other['id']} "
                        f"({row['text']!r} / {other['text']!r})"
                    )
            for j in (inner[i] >= NEAR).nonzero()[0]:
                if int(j) > i:
                    problems.append(
                        f"{row['id']}: {inner[i][j]:.0f} to {mine[int(j)]['id']} in the same file"
                    )

    for line in problems:
        print(line)
    total = sum(len(files[p]) for p in checked)
    print(f"{len(problems)} problem(s) in {total} line(s) of {len(checked)} file(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
