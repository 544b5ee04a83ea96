"""Which product the customer asks about, and whether the catalog sells that product itself.

A search hit that merely shares a word with the question is not an answer: «а сам квадрокоптер
есть, не пропеллеры?» against a catalog with «Пропеллеры для квадрокоптера» asks for a quadcopter,
which the shop lacks. The asked product is the head of the customer's phrase (the first noun in
Russian, the last word of the first product run in English), leaving out what follows a negation
(«не пропеллеры», "not the strap") or a purpose word («для», "for"); it is lacking when no catalog
item, alias or category has it as its own head while a hit carries it only as a dependent word.
"""

from __future__ import annotations

import re

from activities.brain import morph
from activities.brain.reader.entities import number_value
from catalog.schema import Catalog, Item
from catalog.text import PURPOSE_WORDS, normalize, stem

_WORD = re.compile(r"[a-zа-яё][a-zа-яё-]*", re.I)
_NEGATION = re.compile(r"\b(не|нет|а\s+не|not|no|rather\s+than|instead\s+of|but\s+not)\b", re.I)
_EN_SKIP = frozenset("""a an the any some itself yourself just only actually really you u ya your ur do does sell have
has got there is are any in stock available left still own whole actual real by for of""".split())
_RU_SKIP = frozenset("""сам сама само сами самого саму а и ну вот вы у вас есть ли продаете продаёте такой такая
такие именно""".split())


def _cyr(word: str) -> bool:
    return bool(re.search(r"[а-яё]", word, re.I))


def _is_noun(word: str) -> bool:
    if not _cyr(word):
        return False
    parses = morph._parses(word.lower())
    return bool(parses) and parses[0][0] == "NOUN"


def _key(word: str) -> str:
    return stem(normalize(word))


def head_of(phrase: str) -> str | None:
    """The head word of a product phrase or item name, as the customer or the shop wrote it."""
    words = _WORD.findall(re.split(r"[,(«\"“:;|]|\s\d", phrase, maxsplit=1)[0])
    kept: list[str] = []
    for i, word in enumerate(words):
        if i and normalize(words[i - 1]) in PURPOSE_WORDS:
            break  # «фонарь для палатки», "strap for camera": what follows is what it is for
        kept.append(word)
    if any(_cyr(w) for w in kept):
        return next((w for w in kept if _is_noun(w) and normalize(w) not in _RU_SKIP), None)
    run: list[str] = []
    for word in kept:
        ok = normalize(word) not in _EN_SKIP and morph.could_be_product(word)
        if ok:
            run.append(word)
        elif run:
            break
    return run[-1] if run else None


# The calendar is a closed class of words, never a product: «в субботу?», "book Sunday", «по времени».
_CALENDAR = frozenset("""понедельник вторник среда четверг пятница суббота воскресенье выходной время день утро вечер
неделя час минута сегодня завтра послезавтра окошко запись январь февраль март апрель май июнь июль август сентябрь
октябрь ноябрь декабрь monday tuesday wednesday thursday friday saturday sunday mon tue wed thu fri sat sun weekend
today tomorrow tonight morning afternoon evening week time hour minute slot""".split())


def _lemma(word: str) -> str:
    low = normalize(word)
    if _cyr(low):
        return morph._analyzer().parse(low)[0].normal_form.replace("ё", "е")
    return low


def could_be_item(phrase: str) -> bool:
    """A phrase whose head may name a product: not a date or time, not a number said in words."""
    head = head_of(phrase)
    if head is None or _lemma(head) in _CALENDAR:
        return False
    words = _WORD.findall(phrase)
    return not (words and all(number_value(w) is not None or normalize(w) in ("and", "и") for w in words))


def _catalog_heads(catalog: Catalog) -> frozenset[str]:
    def build() -> frozenset[str]:
        heads: set[str] = set()
        for item in catalog.items:
            for phrase in (item.name, *item.aliases, item.category or ""):
                if head := head_of(phrase):
                    heads.add(_key(head))
        return frozenset(heads)

    return catalog.memo("reader_heads", build)


def _words_of(item: Item) -> set[str]:
    return {_key(w) for phrase in (item.name, *item.aliases) for w in _WORD.findall(phrase)}


def asked_product(question: str) -> str | None:
    """The head of what the customer asks for, with negated and purpose parts left out."""
    positive = _NEGATION.split(question, maxsplit=1)[0] if _NEGATION.search(question) else question
    if not _WORD.search(positive):
        return None
    return head_of(positive)


def lacking_item(question: str, hits: list[Item], catalog: Catalog) -> str | None:
    """The asked product when the catalog does not sell it and the hits only share its word."""
    head = asked_product(question)
    if head is None or not hits:
        return None
    key = _key(head)
    if key in _catalog_heads(catalog):
        return None
    if not any(key in _words_of(item) for item in hits):
        return None  # the hits came from other words of the question: not this rule's case
    return head.lower()
