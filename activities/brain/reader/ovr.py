"""One-vs-rest logistic regression as two arrays (weights, bias), shared by every feature set.

Scoring a message is then one matrix product and a sigmoid, with no sklearn call on the hot path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression


def fit_one_vs_rest(x: Any, labels: np.ndarray, **options: Any) -> tuple[np.ndarray, np.ndarray]:
    """A logistic regression per label column of `labels`; `options` go to `LogisticRegression`."""
    columns, biases = [], []
    for j in range(labels.shape[1]):
        y = labels[:, j]
        if y.min() == y.max():  # an intent with no example (a partial corpus): never predicted
            columns.append(np.zeros(x.shape[1], dtype=np.float32))
            biases.append(-10.0)
            continue
        lr = LogisticRegression(random_state=0, **options)
        lr.fit(x, y)
        columns.append(lr.coef_[0].astype(np.float32))
        biases.append(float(lr.intercept_[0]))
    return np.stack(columns, axis=1), np.asarray(biases, dtype=np.float32)
