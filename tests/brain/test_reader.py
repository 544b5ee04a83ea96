"""The learned reader: trained deterministically from the committed corpus, cached by its hash."""

import json
from pathlib import Path

import pytest

from activities.brain.reader import Reading, read
from activities.brain.reader import model as intent_model
from activities.brain.reader.corpus import INTENTS, CorpusError, Example, corpus_hash, read_examples
from activities.brain.reader.evaluate import exact_match, score, table
from activities.brain.reader.train import calibrate, label_matrix
from workflows.profile import Profile

TINY = [
    Example(text=t, lang="ru", intents=i) for t, i in [
        ("сколько стоит палатка", ["price"]), ("почем коврик", ["price"]), ("какая цена у горелки", ["price"]),
        ("what's the price", ["price"]), ("how much is it", ["price"]), ("цена на спальник?", ["price"]),
        ("позовите менеджера", ["human_request"]), ("дайте живого человека", ["human_request"]),
        ("talk to a human please", ["human_request"]), ("соедините с оператором", ["human_request"]),
        ("can i speak to a manager", ["human_request"]), ("нужен живой консультант", ["human_request"]),
        ("привет", ["greeting"]), ("hello there", ["greeting"]), ("добрый день", ["greeting"]),
        ("hi", ["greeting"]), ("здравствуйте", ["greeting"]), ("good morning", ["greeting"]),
    ]
]


def test_the_committed_reader_reads_meaning() -> None:
    assert "price" in read("скока стоит палатка на двоих").intents
    assert "human_request" in read("позовите живого человека пожалуйста").intents
    assert isinstance(read("привет"), Reading)


def test_exact_phrases_stay_rules() -> None:
    profile = Profile(name="t", escalation_phrases=["хочу директора"], stop_words=["мошенники"])
    got = read("хочу директора, вы мошенники", "ru", profile).intents
    assert "human_request" in got and "stop_word" in got
    assert "opt_out" in read("хватит слать мне акции").intents


def test_training_is_deterministic_and_calibrated() -> None:
    a = intent_model.fit(TINY, calibrate_folds=3)
    b = intent_model.fit(TINY, calibrate_folds=3)
    assert a.thresholds == b.thresholds
    assert a.predict(["сколько стоит коврик"]) == b.predict(["сколько стоит коврик"])
    assert "price" in a.predict(["сколько стоит коврик"])[0]
    single = a.ngram.score_one("позовите менеджера")
    assert single == pytest.approx(a.ngram.scores(["позовите менеджера"])[0], abs=1e-5)


def test_cache_is_keyed_by_corpus_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text("\n".join(e.model_dump_json() for e in TINY), encoding="utf-8")
    monkeypatch.setenv("READER_CACHE_DIR", str(tmp_path / "cache"))
    model = intent_model.load("ngram", corpus)
    files = list((tmp_path / "cache").glob("intents-ngram-*.pkl"))
    assert len(files) == 1 and corpus_hash(TINY, "ngram-3") in files[0].name
    intent_model._loaded.clear()
    again = intent_model.load("ngram", corpus)  # from the file this time
    assert again.thresholds == model.thresholds


def test_an_intent_outside_the_closed_list_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "x", "intents": ["weather"]}), encoding="utf-8")
    with pytest.raises(CorpusError):
        read_examples([bad])


def test_calibration_and_scores_tables() -> None:
    y = label_matrix(TINY)
    assert y.shape == (len(TINY), len(INTENTS))
    thresholds = calibrate(y.astype(float), y)
    assert all(0 < t < 1 for t in thresholds.values())
    s = score(TINY, [e.intents for e in TINY])
    assert all(x.precision == 1.0 and x.recall == 1.0 for x in s)
    assert exact_match(TINY, [e.intents for e in TINY]) == 1.0
    assert "micro" in table(s)


def test_the_embedding_classifier_learns_from_vectors() -> None:
    import numpy as np

    from activities.brain.reader import embeddings

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 8)).astype(np.float32)
    y = np.zeros((40, len(INTENTS)), dtype=np.int8)
    y[:, 0] = (x[:, 0] > 0).astype(np.int8)
    clf = embeddings.EmbeddingClassifier(INTENTS).fit_vectors(x, y)
    scores = clf.scores_vectors(x)
    assert ((scores[:, 0] >= 0.5) == (y[:, 0] == 1)).mean() > 0.9
    assert (scores[:, 1] < 0.01).all()  # an intent without examples is never read
    if embeddings.available():  # the bundled model, when the extra is installed
        assert embeddings.embed(["привет"]).shape == (1, 384)


def test_an_unknown_feature_set_is_refused() -> None:
    with pytest.raises(ValueError):
        intent_model.fit(TINY, "words")
