"""Scoring multi-label predictions: per-label F1, macro-F1 and tuned cut-offs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from nlp.objections import CATEGORIES
from nlp.objections.data import Example


def f1(y: npt.NDArray[np.bool_], p: npt.NDArray[np.bool_]) -> float:
    """F1 of one binary label (0 when there are no positives at all)."""
    tp = float(np.sum(y & p))
    denom = float(np.sum(y) + np.sum(p))
    return 2 * tp / denom if denom else 0.0


def label_matrix(examples: Sequence[Example]) -> npt.NDArray[np.bool_]:
    """Examples x categories, True where labelled."""
    return np.array([[c in e.labels for c in CATEGORIES] for e in examples], dtype=bool)


def tune_thresholds(y: npt.NDArray[np.bool_], probs: npt.NDArray[np.float32]) -> list[float]:
    """Per category, the probability cut-off with the best F1 on held-back data."""
    grid = np.linspace(0.1, 0.9, 33)
    out = []
    for k in range(y.shape[1]):
        scores = [f1(y[:, k], probs[:, k] >= t) for t in grid]
        out.append(float(grid[int(np.argmax(scores))]))
    return out


def macro_f1(
    y: npt.NDArray[np.bool_], probs: npt.NDArray[np.float32], thresholds: Sequence[float]
) -> float:
    """Mean F1 over labels at the given cut-offs."""
    return float(np.mean([f1(y[:, k], probs[:, k] >= thresholds[k]) for k in range(y.shape[1])]))
