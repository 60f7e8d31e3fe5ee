"""Reading the labelled sentence files (bench/data/insights/*.jsonl)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled sentence."""

    id: str
    text: str
    speaker: str
    labels: tuple[str, ...]
    split: str
    tags: tuple[str, ...] = ()
    competitors: tuple[dict[str, Any], ...] = field(default=())


def load_examples(paths: Iterable[Path]) -> list[Example]:
    """Examples from JSON-lines files, in file order."""
    out: list[Example] = []
    for path in paths:
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{n}: not JSON: {exc}") from exc
                out.append(
                    Example(
                        id=str(row["id"]),
                        text=str(row["text"]),
                        speaker=str(row["speaker"]),
                        labels=tuple(row.get("labels", ())),
                        split=str(row.get("split", "train")),
                        tags=tuple(row.get("tags", ())),
                        competitors=tuple(row.get("competitors", ())),
                    )
                )
    return out


def fingerprint(paths: Iterable[Path], *extra: str) -> str:
    """A short hash of the data files and settings, naming a trained model."""
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    for item in extra:
        h.update(item.encode())
    return h.hexdigest()[:16]
