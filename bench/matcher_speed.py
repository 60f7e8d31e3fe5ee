"""Competitor matcher speed alone, against another revision's matcher in the same run.

    .venv/bin/python bench/matcher_speed.py [--against REV] [--rounds 3]

Every labelled sentence (all sentences*.jsonl files) goes through CompetitorMatcher.find with
the data set's catalogue. With --against, the matcher of git revision REV is exported to a
temporary folder and both are timed in turn, each in its own fresh process, and the script
prints the ratio and whether the two found exactly the same mentions.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data" / "insights"

# Runs inside a fresh interpreter with the tree under test first on sys.path.
_CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from nlp.components.competitors import CatalogueEntry, CompetitorMatcher
catalogue = json.loads(open(sys.argv[2]).read())
texts = json.loads(open(sys.argv[3]).read())
matcher = CompetitorMatcher([CatalogueEntry(c["name"], tuple(c["aliases"])) for c in catalogue])
found = [[(m.competitor, m.begin, m.end, m.exact) for m in matcher.find(t)] for t in texts]
start = time.perf_counter()
for t in texts:
    matcher.find(t)
print(json.dumps({"per_second": len(texts) / (time.perf_counter() - start), "found": found}))
"""


def run(tree: Path, texts_file: Path) -> dict[str, object]:
    """One timed pass of tree's matcher over the sentences, in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tree), str(DATA / "competitors.json"), str(texts_file)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, object] = json.loads(out)
    return result


def export_tree(rev: str, into: Path) -> None:
    """The nlp package as it was at rev, unpacked into a folder."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "nlp"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="git revision whose matcher is the baseline")
    parser.add_argument("--rounds", type=int, default=3, help="timed passes per matcher")
    args = parser.parse_args()
    texts = [
        json.loads(line)["text"]
        for path in sorted(DATA.glob("sentences*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    with tempfile.TemporaryDirectory() as tmp:
        texts_file = Path(tmp) / "texts.json"
        texts_file.write_text(json.dumps(texts))
        trees = {"this tree": ROOT}
        if args.against:
            baseline = Path(tmp) / "baseline"
            baseline.mkdir()
            export_tree(args.against, baseline)
            trees = {args.against: baseline, "this tree": ROOT}
        rates: dict[str, list[float]] = {name: [] for name in trees}
        found: dict[str, object] = {}
        for k in range(args.rounds):
            for name, tree in trees.items():
                t0 = time.perf_counter()
                result = run(tree, texts_file)
                rates[name].append(float(result["per_second"]))  # type: ignore[arg-type]
                found[name] = result["found"]
                print(
                    f"round {k + 1}/{args.rounds} {name}: {rates[name][-1]:,.0f} sentences/s "
                    f"({time.perf_counter() - t0:.1f} s with start-up)",
                    file=sys.stderr,
                )
    print(f"{len(texts):,} sentences, {args.rounds} rounds")
    for name, values in rates.items():
        print(f"{name}: median {sorted(values)[len(values) // 2]:,.0f} sentences/s")
    if args.against:
        pairs = zip(rates["this tree"], rates[args.against], strict=True)
        ratios = [new / old for new, old in pairs]
        print(f"ratio this tree / {args.against}: " + " ".join(f"{r:.2f}" for r in ratios))
        same = found["this tree"] == found[args.against]
        print("same mentions: " + ("yes" if same else "NO"))


if __name__ == "__main__":
    main()
