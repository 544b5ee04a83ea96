"""`read(text, lang, profile) -> Reading`: the one call the policy makes to understand a message.

The learned model reads meaning; three phrase lists stay because exactness is the rule there: the
opt-out words (an ignored opt-out is a spam complaint), the profile's stop words and its escalation
phrases (the shop owner's own words must always work).
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

from pydantic import BaseModel, Field

from activities.brain.reader import model as intent_model
from catalog.text import phrase_in
from workflows.profile import Profile

_OPT_OUT = re.compile(
    r"\bотпиш|\bне\s+пиш(ите|и)\s+(мне\s+)?больше|\bбольше\s+не\s+пиш|\bотстань|^\s*стоп\s*$|^\s*stop\s*$"
    r"|\bunsubscribe\b|\bstop\s+(messaging|writing|texting|spamming)|\bdon'?t\s+(message|write|text|contact)\s+me"
    r"|\bleave\s+me\s+alone|\bхватит\s+(мне\s+)?(слать|писать|присылать|спамить)|\bне\s+присылайте", re.I)


class Reading(BaseModel):
    """What a message means: intents of the closed list (plus `stop_word`), with the model's scores."""

    intents: list[str] = Field(default_factory=list)
    scores: dict[str, float] = Field(default_factory=dict)


_configured: dict[str, str] = {}


def configure(features: str, cache_dir: str | None = None) -> None:
    """The worker's settings (READER_FEATURES, READER_CACHE_DIR), applied before the first read."""
    _configured["features"] = features
    if cache_dir:
        os.environ["READER_CACHE_DIR"] = cache_dir


def features() -> str:
    return _configured.get("features") or os.environ.get("READER_FEATURES", "ngram")


@lru_cache(maxsize=4)
def _model(features: str) -> intent_model.IntentModel:
    """Loaded once per process: the corpus is part of the release, it changes with a restart."""
    return intent_model.load(features)


# sentence ends: each sentence of a message is also read on its own
_SENTENCES = re.compile(r"(?<=[?!.;])\s+|\n+")


def clauses(text: str) -> list[str]:
    """The message and, when it has several sentences, each of them («…есть в наличии? и как оплатить?»).

    A bag-of-n-grams model scores a message as a whole, so a short second question drowns in a long
    first one; reading each sentence too lets every question in a message count.
    """
    parts = [p.strip() for p in _SENTENCES.split(text.strip()) if len(p.split()) >= 2]
    return [text, *parts] if len(parts) > 1 else [text]


def read(text: str, lang: str = "ru", profile: Profile | None = None) -> Reading:
    """Intents of one message (the union over its sentences). `lang` is kept for the interface: the
    model is bilingual."""
    del lang
    model = _model(features())
    rows = model.scores(clauses(text))
    best = [max(float(r[i]) for r in rows) for i in range(len(model.intents))]
    intents = [name for name, s in zip(model.intents, best, strict=True) if s >= model.thresholds[name]]
    scores = {name: round(s, 3) for name, s in zip(model.intents, best, strict=True)
              if s >= 0.2 or name in intents}
    if "opt_out" not in intents and _OPT_OUT.search(text):  # exact phrases are certain
        intents.append("opt_out")
        scores["opt_out"] = 1.0
    if profile is not None:
        if "human_request" not in intents and any(phrase_in(p, text) for p in profile.escalation_phrases):
            intents.append("human_request")
            scores["human_request"] = 1.0
        if any(phrase_in(w, text) for w in profile.stop_words):
            intents.append("stop_word")
            scores["stop_word"] = 1.0
    return Reading(intents=intents, scores=scores)
