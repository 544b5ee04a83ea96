"""RU/EN catalog search that decides "we sell this" vs "not in the catalog".

The score is *coverage*: the share of the question's product words that an item accounts for,
each weighted by how well it matched (exact stem 1.0, diminutive 0.9, typo 0.7–0.85, prefix 0.7–0.75)
and where (name/aliases 1.0, category 0.8, description 0.5). Numbers (на двоих, 30 л, -10) refine
the ranking but only cost up to `NUMBER_PENALTY`, because a customer's number may be a quantity.
Asking words (сколько стоит, do you have, ...) are removed first, so a question about something the
shop does not sell has an unmatched product word and stays below `FOUND_THRESHOLD`.
"""

from __future__ import annotations

import bisect
import re
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict
from rapidfuzz import process
from rapidfuzz.distance import OSA, Levenshtein

from catalog.schema import Catalog, Item
from catalog.text import (
    CONTACT_WORDS,
    PACKAGING_STEMS,
    STOP_TYPOS,
    Term,
    diminutive_base,
    marked_terms,
    model_numbers,
    phrase_stems,
    product_phrase,
    strip_contacts,
    word_stem,
)

__all__ = ["FOUND_THRESHOLD", "SearchHit", "best_match", "found", "product_phrase", "search"]

FOUND_THRESHOLD = 0.75
"""Hits scoring at or above this are "found": every product word of the question is accounted for
(typos and diminutives allowed) or, in a longer question, nearly all of them."""

MIN_SCORE = 0.35
"""Weaker hits are not returned at all: they would only be noise for "did you mean"."""

NUMBER_PENALTY = 0.2
MODEL_PENALTY = 0.3
"""Cost of a model number the item does not carry ("iphone 14" vs an iPhone 13 screen, "s24", «Луч 300»):
enough to push a full word match (1.0) below FOUND_THRESHOLD, so a different model is never "found"."""
PHRASE_NUMBER = 0.5
"""Weight of a number inside a matched phrase, so «51 роза» beats «розы» for «51 роза есть?»."""
PHRASE_SHARE = 0.25
"""An exact name/alias phrase inside the question scores 1.0 when it covers at least this share of the
question's product words (a lone alias word inside a long story does not)."""
FIELD_WEIGHTS: dict[str, float] = {"name": 1.0, "aliases": 1.0, "category": 0.8, "description": 0.5}
DIMINUTIVE = 0.9
MODIFIER = 0.7
"""Weight of words after для/for in an item's text: «фонарь для палатки» is not a tent."""
QUERY_MODIFIER = 0.5
"""Weight of such words in the question: «коврик под спальник» is mostly about a mat."""
_CYRILLIC = re.compile(r"[а-я]")
_SKU_TOKEN = re.compile(r"[\w\-./]+")
_PARTS = re.compile(r"\s+(?:и|или|а также|плюс|and|or|plus)\s+|,(?!\d)|[;+&/?!]|\.(?!\d)", re.IGNORECASE)


class SearchHit(BaseModel):
    """An item with a 0..1 confidence that it is what the customer asked about."""

    model_config = ConfigDict(frozen=True)

    item: Item
    score: float

    @property
    def found(self) -> bool:
        return self.score >= FOUND_THRESHOLD


@dataclass
class _Index:
    items: tuple[Item, ...]
    words: dict[str, dict[int, float]] = field(default_factory=dict)
    numbers: dict[str, dict[int, float]] = field(default_factory=dict)
    by_length: dict[int, list[str]] = field(default_factory=dict)
    sorted_vocab: list[str] = field(default_factory=list)
    sku_positions: dict[str, int] = field(default_factory=dict)
    matches: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    phrases: dict[str, list[tuple[tuple[str, ...], int]]] = field(default_factory=dict)
    """First stem → (stem sequence, item position) of every name and alias that has a product word."""
    purposes: dict[str, dict[int, float]] = field(default_factory=dict)
    """Words after для/for in an item's text at full weight: what a «что есть для котов» question asks."""
    name_words: set[str] = field(default_factory=set)
    """Stems of names and aliases: a packaging word (мешок, box) names a product only when one has it."""

    @classmethod
    def build(cls, catalog: Catalog) -> _Index:
        index = cls(items=catalog.items)
        for position, item in enumerate(catalog.items):
            index.sku_positions.setdefault(item.sku.upper(), position)
            texts = {"name": [item.name], "aliases": list(item.aliases),
                     "category": [item.category], "description": [item.description]}
            for value in (item.name, *item.aliases):
                sequence = phrase_stems(value)
                if any(flag for _, flag, _ in sequence):
                    index.phrases.setdefault(sequence[0][0], []).append(
                        (tuple(s for s, _, _ in sequence), position))
            for field_name, values in texts.items():
                weight = FIELD_WEIGHTS[field_name]
                for value in values:
                    for term, modifier in marked_terms(value):
                        modified = modifier and not term.is_number
                        index._add(term, position, weight * (MODIFIER if modified else 1.0))
                        if modified:
                            index._add(term, position, weight, index.purposes)
                        if field_name in ("name", "aliases") and not term.is_number and not term.quantity:
                            index.name_words.add(term.value)
        vocab = set(index.words)
        for word in vocab:
            index.by_length.setdefault(len(word), []).append(word)
        index.sorted_vocab = sorted(vocab)
        return index

    def _add(self, term: Term, position: int, weight: float,
             postings: dict[str, dict[int, float]] | None = None) -> None:
        if postings is None:
            postings = self.numbers if term.is_number else self.words
        keys = [(term.value, weight)]
        base = None if term.is_number else diminutive_base(term.value)
        if base:
            keys.append((base, weight * DIMINUTIVE))
        for key, w in keys:
            slot = postings.setdefault(key, {})
            if slot.get(position, 0.0) < w:
                slot[position] = w

    def candidates(self, word: str) -> list[tuple[str, float]]:
        """Vocabulary stems that may stand for `word`, with a similarity in 0..1 (memoised)."""
        cached = self.matches.get(word)
        if cached is not None:
            return cached
        found: dict[str, float] = {}

        def offer(stem: str, similarity: float) -> None:
            if stem in self.words and found.get(stem, 0.0) < similarity:
                found[stem] = similarity

        offer(word, 1.0)
        base = diminutive_base(word)
        if base:
            offer(base, DIMINUTIVE)
        if len(word) >= 4:
            max_edits = 2 if len(word) >= 8 else 1
            pool = [w for n in range(len(word) - max_edits, len(word) + max_edits + 1)
                    for w in self.by_length.get(n, ())]
            for other, distance, _ in process.extract(word, pool, scorer=OSA.distance,
                                                      score_cutoff=max_edits, limit=None):
                offer(other, _typo_similarity(word, other, int(distance)))
        # Prefix: noun ↔ adjective (газ/газов), clipped words (термо/термос).
        start = bisect.bisect_left(self.sorted_vocab, word)
        for other in self.sorted_vocab[start:start + 20]:
            if not other.startswith(word):
                break
            offer(other, _prefix_similarity(word, other))
        for k in range(3, len(word)):
            offer(word[:k], _prefix_similarity(word[:k], word))
        result = [(s, v) for s, v in found.items() if v > 0]
        if len(self.matches) < 50_000:
            self.matches[word] = result
        return result


_FLEETING = "еоё"
"""Russian fleeting vowels: «косточек»/«косточки», «ложек»/«ложка» differ only by one before the last letter."""
_VOWEL_SLIPS = (frozenset("ао"), frozenset("еи"))
"""Unstressed vowels customers confuse (сабака → собака, милиция → мелиция)."""


def _fleeting_vowel(a: str, b: str) -> bool:
    long, short = (a, b) if len(a) > len(b) else (b, a)
    return (len(long) == len(short) + 1 and len(short) >= 3 and long[-2] in _FLEETING
            and long[:-2] == short[:-1] and long[-1] == short[-1])


def _vowel_slip(a: str, b: str) -> bool:
    if len(a) != len(b):
        return False
    diff = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    return len(diff) == 1 and frozenset(diff[0]) in _VOWEL_SLIPS


def _typo_similarity(a: str, b: str, distance: int) -> float:
    if distance == 0:
        return 1.0
    shorter = min(len(a), len(b))
    if distance == 2:
        return 0.72 if shorter >= 8 else 0.0
    if _CYRILLIC.search(a) and _fleeting_vowel(a, b):
        return 0.95  # another word form, not a typo
    if shorter >= 6 or (shorter >= 5 and _vowel_slip(a, b)):
        return 0.85
    if shorter >= 5 and len(a) != len(b):
        return 0.8  # one letter missed or doubled in a longer word (machne → machine)
    # Short words: a swapped pair (tnet → tent) is a typo; other edits often make another word.
    return 0.8 if Levenshtein.distance(a, b) == 2 else 0.7


def _prefix_similarity(short: str, long: str) -> float:
    extra = len(long) - len(short)
    if len(short) >= 4 and extra <= 3:
        return 0.75
    if len(short) == 3 and extra <= 2:
        return 0.7
    return 0.0


_lock = threading.Lock()
_by_version: OrderedDict[str, _Index] = OrderedDict()
_by_identity: dict[int, tuple[weakref.ref[Catalog], _Index]] = {}


def _index(catalog: Catalog) -> _Index:
    """The catalog's index, built once per version (or per object for unversioned catalogs)."""
    with _lock:
        if catalog.version:
            index = _by_version.get(catalog.version)
            if index is not None and len(index.items) == len(catalog.items):
                _by_version.move_to_end(catalog.version)
                return index
        else:
            entry = _by_identity.get(id(catalog))
            if entry is not None and entry[0]() is catalog:
                return entry[1]
    index = _Index.build(catalog)
    with _lock:
        if catalog.version:
            _by_version[catalog.version] = index
            while len(_by_version) > 8:
                _by_version.popitem(last=False)
        else:
            key = id(catalog)
            _by_identity[key] = (weakref.ref(catalog, lambda _ref: _by_identity.pop(key, None)), index)
    return index


_CONTACT_STEMS = frozenset(word_stem(w) for w in CONTACT_WORDS)
_TYPO_STEMS = frozenset(word_stem(w) for w in STOP_TYPOS)


@dataclass(frozen=True)
class _Query:
    """A question prepared for scoring: contact data removed, noise words decided against the catalog."""

    text: str
    words: dict[str, float]
    optional: dict[str, float]
    """Packaging words after a quantity («3 мешка») the catalog also names: they count for an item that has
    them, but an item without them loses nothing."""
    purpose_only: bool
    """Every product word came after для/for («что есть для котов»): items *for* that thing answer it."""
    numbers: list[str]
    models: frozenset[str]
    sequence: tuple[str, ...]
    weights: tuple[float, ...]
    """Per `sequence` token: its weight as a product word (0 for noise, less after для/for)."""
    numeric: tuple[bool, ...]


def _prepare(index: _Index, text: str, had_contact: bool) -> _Query:
    words: dict[str, float] = {}  # stem → its weight in the question (modifiers count less)
    optional: dict[str, float] = {}
    numbers: list[str] = []
    contact: dict[str, float] = {}
    for term, modifier in marked_terms(text):
        if term.is_number:
            numbers.append(term.value)
            continue
        weight = QUERY_MODIFIER if modifier else 1.0
        if term.packaging and term.value not in index.name_words:
            continue  # «2 пачки», "a bag of" in a shop that sells no bags: only how the product comes
        if term.packaging and term.quantity:
            optional[term.value] = max(optional.get(term.value, 0.0), weight)
        elif term.value in _CONTACT_STEMS:
            contact[term.value] = max(contact.get(term.value, 0.0), weight)
        elif term.value in _TYPO_STEMS and not any(v >= 0.7 for _, v in index.candidates(term.value)):
            continue  # "mch", "teh": a misspelt asking word the catalog knows nothing like
        else:
            words[term.value] = max(words.get(term.value, 0.0), weight)
    if not words and not had_contact:
        words = contact  # «телефоны есть?» in a phone shop: the contact word is the product
    if not words:
        words, optional = optional, {}  # «2 мешка?» in a shop selling bags: the bag is the product
    purpose_only = bool(words) and all(w < 1.0 for w in words.values())
    tokens = [t for t in phrase_stems(text) if not (had_contact and t[0] in _CONTACT_STEMS)]
    weights = tuple((QUERY_MODIFIER if modifier else 1.0)
                    if content and (s not in PACKAGING_STEMS or s in index.name_words) else 0.0
                    for s, content, modifier in tokens)
    numeric = tuple(s[0].isdigit() for s, _, _ in tokens)
    return _Query(text, words, optional, purpose_only, list(dict.fromkeys(numbers)), model_numbers(text),
                  tuple(s for s, _, _ in tokens), weights, numeric)


def _phrase_cover(index: _Index, query: _Query) -> dict[int, float]:
    """Per item: the most product-word weight one of its names/aliases covers, appearing verbatim (by stem).

    A phrase found only after для/for («коврик под спальник») names the purpose, not the item: no cover.
    """
    cover: dict[int, float] = {}
    sequence = query.sequence
    for start, first in enumerate(sequence):
        for phrase, position in index.phrases.get(first, ()):
            if sequence[start:start + len(phrase)] != phrase:
                continue
            weights = query.weights[start:start + len(phrase)]
            if 1.0 not in weights:
                continue
            # A number inside the phrase («51 роза» vs «розы») makes it the more specific match.
            value = sum(weights) + PHRASE_NUMBER * sum(query.numeric[start:start + len(phrase)])
            if cover.get(position, 0.0) < value:
                cover[position] = value
    return cover


def _coverage(index: _Index, query: _Query) -> dict[int, float]:
    """Per item position: the weighted share of the question's product words the item accounts for.

    An item whose name/alias appears verbatim and covers the most product words scores 1.0. Numbers
    then cost: a model number the item lacks `MODEL_PENALTY`, any other number `NUMBER_PENALTY`
    (shared between the numbers; not for an exact phrase, where the number is usually a quantity).
    """
    words, numbers = query.words, query.numbers
    if not words:  # a bare number or pure noise names no product
        return {}

    def matched(word: str, word_weight: float) -> dict[int, float]:
        best: dict[int, float] = {}
        for stem_, similarity in index.candidates(word):
            postings = index.words[stem_]
            purposes = index.purposes.get(stem_, {}) if query.purpose_only else {}
            for position in postings.keys() | purposes.keys():
                weight = max(postings.get(position, 0.0), purposes.get(position, 0.0))
                value = similarity * weight * word_weight
                if best.get(position, 0.0) < value:
                    best[position] = value
        return best

    word_total: dict[int, float] = {}
    for word, word_weight in words.items():
        for position, value in matched(word, word_weight).items():
            word_total[position] = word_total.get(position, 0.0) + value
    total_weight = sum(words.values())
    extra_weight: dict[int, float] = {}  # optional words an item has count in its share, both sides
    for word, word_weight in query.optional.items():
        for position, value in matched(word, word_weight).items():
            word_total[position] = word_total.get(position, 0.0) + value
            extra_weight[position] = extra_weight.get(position, 0.0) + word_weight
    number_weight: dict[str, dict[int, float]] = {n: index.numbers.get(n, {}) for n in numbers}
    scores = {position: total / (total_weight + extra_weight.get(position, 0.0))
              for position, total in word_total.items()}

    cover = _phrase_cover(index, query)
    exact: set[int] = set()
    if cover:
        best_cover = max(cover.values())
        if best_cover >= PHRASE_SHARE * sum(words.values()):
            exact = {p for p, c in cover.items() if c >= best_cover - 1e-9}
            # The exact phrase forgives the question's other words («утопил телефон» + «в ванной»), but
            # an item matching more of the question's words keeps its lead («худи черное M»).
            best_plain = max(scores.values(), default=0.0)
            for position in exact:
                scores[position] = 1.0 - max(0.0, best_plain - scores.get(position, 0.0))

    soft = [n for n in numbers if n not in query.models]
    models = [n for n in numbers if n in query.models]
    for position in scores:
        factor = 1.0
        if soft and position not in exact:
            missing = sum(1 - min(number_weight[n].get(position, 0.0), 1.0) for n in soft)
            factor *= 1 - NUMBER_PENALTY * missing / len(soft)
        if models:
            missing = sum(1 - min(number_weight[n].get(position, 0.0), 1.0) for n in models)
            factor *= 1 - MODEL_PENALTY * missing / len(models)
        scores[position] *= factor
    return scores


def search(catalog: Catalog, query: str, limit: int = 5) -> list[SearchHit]:
    """Items for `query`, best first: score desc, then in stock, then the shorter (more specific) name.

    Contact data (phones, e-mails, @handles) and the words introducing it are ignored. A question
    naming several products («горелка и газ», "tent, mat") is also scored part by part, so every
    product asked about can be found — but a part that only repeats what the best whole-question
    item already covers («батарея iphone 11…, замена почём?») does not lift other items.
    """
    index = _index(catalog)
    text, had_contact = strip_contacts(query)
    scores = _coverage(index, _prepare(index, text, had_contact))
    whole = dict(scores)  # breaks ties between parts: «beans 1 kg from Brazil and the dripper» leads with beans
    parts = [p for p in _PARTS.split(text) if p and p.strip()]
    if len(parts) > 1:
        top = max(scores.values(), default=0.0)
        leaders = [p for p, s in scores.items() if s >= top - 1e-6] if top > 0 else []
        for part in parts:
            part_scores = _coverage(index, _prepare(index, part, had_contact))
            bar = max((part_scores.get(p, 0.0) for p in leaders), default=0.0)
            for position, score in part_scores.items():
                if (score > bar + 1e-6 or position in leaders) and scores.get(position, 0.0) < score:
                    scores[position] = score

    for token in _SKU_TOKEN.findall(text):
        position = index.sku_positions.get(token.strip("-./").upper())
        if position is not None:
            scores[position] = 1.0

    def rank(position: int) -> tuple[float, float, bool, int, int]:
        item = index.items[position]
        return (-round(scores[position], 6), -round(whole.get(position, 0.0), 6), not item.in_stock,
                len(item.name), position)

    ranked = sorted((p for p, s in scores.items() if s >= MIN_SCORE), key=rank)[:limit]
    return [SearchHit(item=index.items[p], score=round(min(scores[p], 1.0), 4)) for p in ranked]


def found(catalog: Catalog, query: str, limit: int = 5) -> list[SearchHit]:
    """Only the confident hits (≥ FOUND_THRESHOLD): what the bot may present as "we have this"."""
    return [hit for hit in search(catalog, query, limit) if hit.found]


def best_match(catalog: Catalog, query: str) -> SearchHit | None:
    """The top hit when it is confident, else None (the caller says «уточняю» and escalates).

    Several items may be equally confident (a category question); use `found()` to list them.
    """
    hits = search(catalog, query, limit=1)
    return hits[0] if hits and hits[0].found else None
