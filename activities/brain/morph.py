"""Russian morphology (pymorphy3, dictionary shipped as a package) for the two things regexes get wrong:
telling a first name from a verb («Иван» vs «Берём») and a product noun from a verb or a pronoun
(«пачки», «косточек» vs «использовать», «если»).
"""

from __future__ import annotations

import re
from functools import lru_cache

_CYR = re.compile(r"[а-яё]", re.I)
# parts of speech that can name a product; everything else (verbs, pronouns, conjunctions...) cannot
_PRODUCT_POS = {"NOUN", "ADJF", "ADJS", "PRTF", "PRTS", "NUMR", "COMP"}
EN_NOT_PRODUCT = frozenset("""
use used using pair pairs paired well good best better first setup set go goes work works fit fits total recommend
instead alternative alternatives option options something anything everything it them this that these those one ones
today tomorrow tonight now later please thanks okay yes no what which who how why when where there here would could
should will can may might need want like love get got give take make made do does did done be is are was were been
have has had buy order add also too either other another same similar cheaper better bigger smaller kind type sort
""".split())


@lru_cache(maxsize=1)
def _analyzer():  # loaded once per process (≈0.15 s), only when Russian text needs it
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=20_000)
def _parses(word: str) -> tuple[tuple[str | None, bool, float], ...]:
    return tuple((p.tag.POS, "Name" in p.tag, p.score) for p in _analyzer().parse(word.lower())[:3])


def is_first_name(word: str) -> bool:
    """A Russian first name in any case form («Иван», «Марии»); Latin words are never judged here."""
    if not _CYR.search(word) or len(word) < 2:
        return False
    parses = _parses(word)
    return bool(parses) and (parses[0][1] or (len(parses) > 1 and parses[1][1] and parses[1][2] >= 0.2))


_RU_NOT_PRODUCT = frozenset("""год года году лет месяц месяца неделя неделю недели день дня дней сегодня завтра
время раз склад складе складу наличие наличии магазин магазине сайт сайте канал канале цена цену цены стоимость
""".split())


def could_be_product(word: str) -> bool:
    """False for words that cannot name an item: verbs, pronouns, conjunctions, adverbs, generic English."""
    low = word.lower()
    if low in _RU_NOT_PRODUCT:
        return False
    if not _CYR.search(word):
        return low not in EN_NOT_PRODUCT and not low.isdigit()
    parses = _parses(low)
    return not parses or parses[0][0] in _PRODUCT_POS or parses[0][0] is None


def product_words(phrase: str) -> str | None:
    """The phrase without words that cannot be a product; None when nothing product-like is left."""
    words = [w for w in phrase.split() if could_be_product(w)]
    return " ".join(words) if words else None


def warm_up() -> None:
    """Load the dictionary now (≈0.15 s) rather than during a customer's first turn."""
    _analyzer()
