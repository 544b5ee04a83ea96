"""The n-gram reader: TF-IDF over character n-grams within words plus word n-grams, one logistic
regression per intent (one-vs-rest), scored as one sparse-matrix product so a message costs well
under a millisecond.

Character n-grams carry typos, missing spaces, transliteration and Russian endings («оформите»,
«оформляйте») without a word list; word bigrams carry the short set phrases («не надо»).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from activities.brain.reader.features import normalise
from activities.brain.reader.ovr import fit_one_vs_rest

VERSION = "ngram-3"  # bump with any change to features, training or calibration


class NgramClassifier:
    """Multi-label scores in [0, 1] for the closed list of intents."""

    def __init__(self, intents: tuple[str, ...], c: float = 8.0) -> None:
        self.intents = intents
        self.c = c
        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=1, sublinear_tf=True,
                                     preprocessor=normalise, max_features=200_000, dtype=np.float32)
        self.words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=1, sublinear_tf=True,
                                     preprocessor=normalise, token_pattern=r"(?u)\b\w+\b", dtype=np.float32)
        self.weights: np.ndarray | None = None
        self.bias: np.ndarray | None = None

    def _matrix(self, texts: list[str]) -> sparse.csr_matrix:
        return sparse.hstack([self.chars.transform(texts), self.words.transform(texts)], format="csr")

    def fit(self, texts: list[str], labels: np.ndarray) -> NgramClassifier:
        self.chars.fit(texts)
        self.words.fit(texts)
        x = self._matrix(texts)
        self.weights, self.bias = fit_one_vs_rest(x, labels, C=self.c, solver="liblinear", max_iter=200)
        return self

    def _prepare(self) -> None:
        """Plain dicts and arrays for one-message scoring: sklearn's per-call validation costs ~1 ms."""
        self._fast = []
        offset = 0
        for vec in (self.chars, self.words):
            vocab = vec.vocabulary_
            self._fast.append((vec.build_analyzer(), vocab, vec.idf_.astype(np.float32), offset))
            offset += len(vocab)

    def score_one(self, text: str) -> np.ndarray:
        """The same scores as `scores([text])[0]`, without sklearn's per-call overhead."""
        if self.weights is None or self.bias is None:
            raise RuntimeError("NgramClassifier used before fit()")
        if getattr(self, "_fast", None) is None:
            self._prepare()
        logits = self.bias.astype(np.float64)
        for analyze, vocab, idf, offset in self._fast:
            counts: dict[int, int] = {}
            for gram in analyze(text):
                j = vocab.get(gram)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            if not counts:
                continue
            cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
            values = tf * idf[cols]
            values /= np.linalg.norm(values)
            logits = logits + values @ self.weights[cols + offset]
        return 1.0 / (1.0 + np.exp(-logits))

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_fast", None)  # analyzers are closures: rebuilt after unpickling
        return state

    def scores(self, texts: list[str]) -> np.ndarray:
        if self.weights is None or self.bias is None:
            raise RuntimeError("NgramClassifier used before fit()")
        logits = self._matrix(texts) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.asarray(logits)))
