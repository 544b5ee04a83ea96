"""Deterministic training with per-intent thresholds calibrated on out-of-fold scores.

Thresholds: for the intents whose miss costs a sale or a complaint (buy, human_request, complaint,
legal_threat, opt_out) the highest threshold that keeps out-of-fold recall ≥ 0.97 while precision stays
reasonable, else the F2-best; for the others the F1-best one. Folds are fixed (seeded), so the same corpus always gives
the same model.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.model_selection import KFold

from activities.brain.reader.corpus import INTENTS, Example

CRITICAL = frozenset({"buy", "human_request", "complaint", "legal_threat", "opt_out"})
RECALL_FLOOR = 0.97
MIN_PRECISION = 0.80
DEFAULT_THRESHOLD = 0.5

Scorer = Callable[[list[int], list[int]], np.ndarray]  # (train rows, test rows) -> test scores


def label_matrix(examples: list[Example], intents: tuple[str, ...] = INTENTS) -> np.ndarray:
    y = np.zeros((len(examples), len(intents)), dtype=np.int8)
    index = {name: j for j, name in enumerate(intents)}
    for i, ex in enumerate(examples):
        for name in ex.intents:
            y[i, index[name]] = 1
    return y


def out_of_fold(n: int, fit_score: Scorer, folds: int = 4) -> np.ndarray:
    """Scores of every row from a model that never saw it."""
    parts: dict[int, np.ndarray] = {}
    for train, test in KFold(n_splits=folds, shuffle=True, random_state=0).split(np.arange(n)):
        scores = fit_score(list(train), list(test))
        for row, s in zip(test, scores, strict=True):
            parts[int(row)] = s
    return np.stack([parts[i] for i in range(n)])


def _best_threshold(scores: np.ndarray, y: np.ndarray, critical: bool) -> float:
    """F1-best; for a critical intent the highest threshold keeping the recall floor at a usable precision,
    else the F2-best (a missed complaint costs more than a needless look by a manager)."""
    if y.sum() == 0:
        return DEFAULT_THRESHOLD
    beta2 = 4.0 if critical else 1.0
    best_t, best_f = DEFAULT_THRESHOLD, -1.0
    floor_t = None
    for t in np.arange(0.05, 0.91, 0.01):
        pred = scores >= t
        tp = float((pred & (y == 1)).sum())
        precision = tp / max(pred.sum(), 1)
        recall = tp / y.sum()
        f = (1 + beta2) * precision * recall / max(beta2 * precision + recall, 1e-9)
        if f > best_f:
            best_t, best_f = float(t), f
        if critical and recall >= RECALL_FLOOR and precision >= MIN_PRECISION:
            floor_t = float(t)  # the highest threshold still keeping the recall floor
    return round(min(floor_t, best_t) if floor_t is not None else best_t, 2)


def calibrate(oof: np.ndarray, y: np.ndarray, intents: tuple[str, ...] = INTENTS) -> dict[str, float]:
    return {name: _best_threshold(oof[:, j], y[:, j], name in CRITICAL) for j, name in enumerate(intents)}
