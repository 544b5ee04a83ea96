"""The renderer's `voice` mode: a reply the guard passed, rewritten for the ear.

A phone caller cannot see «7 990 ₽ (вместо 8 990 ₽)», a bullet list or «× 2 =». This module turns
the rendered text into what a person would say — every amount in words with its currency word
declined («семь тысяч девятьсот девяносто рублей», "seventy-nine dollars and ninety-nine cents"),
lists into sentences, symbols into words or nothing. The figures are still the catalog's: this is a
deterministic rewrite of the rendered text, never a model's paraphrase.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from num2words import num2words

# (one, few, many) for Russian; (singular, plural) for English; minor unit after the slash
_CURRENCY_RU = {"RUB": (("рубль", "рубля", "рублей"), ("копейка", "копейки", "копеек")),
                "USD": (("доллар", "доллара", "долларов"), ("цент", "цента", "центов")),
                "EUR": (("евро", "евро", "евро"), ("цент", "цента", "центов"))}
_CURRENCY_EN = {"RUB": (("rouble", "roubles"), ("kopeck", "kopecks")),
                "USD": (("dollar", "dollars"), ("cent", "cents")),
                "EUR": (("euro", "euros"), ("cent", "cents"))}
_SYMBOL_CODE = {"₽": "RUB", "руб": "RUB", "руб.": "RUB", "$": "USD", "€": "EUR", "RUB": "RUB", "USD": "USD",
                "EUR": "EUR"}
_FEMININE_MINOR = {"RUB"}  # копейка is feminine: «одна копейка», «две копейки»

_NUM = r"\d{1,3}(?:[ \u00a0\u202f,]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_MONEY_AFTER = re.compile(rf"(?P<num>{_NUM})\s?(?P<cur>₽|руб\.?|RUB|USD|EUR|\$|€)")
_MONEY_BEFORE = re.compile(rf"(?P<cur>\$|€)(?P<num>{_NUM})")
_TIMES = re.compile(r"\s*×\s*(\d+)\s*=\s*")
_PIECES = re.compile(r"(\d+)\s*шт(\.?)(?!\w)(?=(\s*\S)?)")
_BARE_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?(?![\w])")
_BULLET = re.compile(r"^\s*(?:[-•*·–—]|\d+[.)])\s+", re.M)
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f]")
_DROP = re.compile(r"[«»\"“”„*_#<>|\[\]{}]")


def ru_plural(n: int, forms: tuple[str, str, str]) -> str:
    """1 рубль, 2 рубля, 5 рублей, 11 рублей, 21 рубль."""
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return forms[0]
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return forms[1]
    return forms[2]


def _parse_amount(raw: str, lang: str) -> Decimal | None:
    text = raw.replace("\u00a0", " ").replace("\u202f", " ")
    if lang == "en":
        text = text.replace(",", "")
    else:  # RU renders «7 990,50»; a stray English "7,990" in a Russian reply is still thousands
        if re.fullmatch(r"\d{1,3}(,\d{3})+", text):
            text = text.replace(",", "")
        text = text.replace(" ", "").replace(",", ".")
    try:
        return Decimal(text.replace(" ", ""))
    except InvalidOperation:
        return None


def number_words(n: int, lang: str, *, feminine: bool = False) -> str:
    """Cardinal in words, without the commas num2words puts in ("seven thousand, nine hundred")."""
    if lang == "en":
        return num2words(n, lang="en").replace(",", "")
    return num2words(n, lang="ru", gender="f") if feminine else num2words(n, lang="ru")


def _pieces(m: re.Match) -> str:
    n = int(m.group(1))
    word = ru_plural(n, ("штука", "штуки", "штук"))
    after = m.group(3) or ""
    ends = bool(m.group(2)) and (not after.strip() or after.strip()[0].isupper())
    return f"{number_words(n, 'ru', feminine=True)} {word}{'.' if ends else ''}"


def money_words(amount: Decimal, currency: str, lang: str) -> str:
    """`7990 RUB` → «семь тысяч девятьсот девяносто рублей»; kopecks/cents only when non-zero."""
    code = currency.upper()
    whole = int(amount)
    minor = int((amount - whole) * 100)
    if lang == "en":
        major_forms, minor_forms = _CURRENCY_EN.get(code, ((code, code), ("cent", "cents")))
        out = f"{number_words(whole, 'en')} {major_forms[0] if whole == 1 else major_forms[1]}"
        if minor:
            out += f" and {number_words(minor, 'en')} {minor_forms[0] if minor == 1 else minor_forms[1]}"
        return out
    major_ru, minor_ru = _CURRENCY_RU.get(code, ((code, code, code), ("цент", "цента", "центов")))
    out = f"{number_words(whole, 'ru')} {ru_plural(whole, major_ru)}"
    if minor:
        out += f" {number_words(minor, 'ru', feminine=code in _FEMININE_MINOR)} {ru_plural(minor, minor_ru)}"
    return out


def _money(match: re.Match, lang: str) -> str:
    amount = _parse_amount(match.group("num"), lang)
    if amount is None:
        return match.group(0)
    return money_words(amount, _SYMBOL_CODE.get(match.group("cur"), match.group("cur")), lang)


def _bare_number(match: re.Match, lang: str) -> str:
    amount = _parse_amount(match.group(0), lang)
    if amount is None or amount != amount.to_integral_value():
        return match.group(0).replace(".", " point " if lang == "en" else " целых ").replace(",", " ")
    return number_words(int(amount), lang)


def speakable(text: str, lang: str) -> str:
    """The rendered reply as a person would say it on the phone (no digits, symbols or lists)."""
    lang = "en" if lang == "en" else "ru"
    out = _EMOJI.sub("", text)
    out = _BULLET.sub("", out)
    out = re.sub(r":\s*\n+\s*", ": ", out)
    out = re.sub(r"\s*\n+\s*", ". ", out)
    out = _MONEY_BEFORE.sub(lambda m: _money(m, lang), out)
    out = _MONEY_AFTER.sub(lambda m: _money(m, lang), out)
    out = _TIMES.sub(lambda m: f", {number_words(int(m.group(1)), 'ru', feminine=True)} "
                     f"{ru_plural(int(m.group(1)), ('штука', 'штуки', 'штук'))}, итого "
                     if lang != "en" else f", {m.group(1)} pieces, total ", out)
    out = _PIECES.sub(_pieces, out)
    out = out.replace("(вместо ", ", вместо ").replace("(was ", ", was ")
    ru = lang != "en"
    out = out.replace("%", " процентов" if ru else " percent").replace("&", " и " if ru else " and ")
    out = out.replace("№", "номер " if ru else "number ").replace("+", " плюс " if ru else " plus ")
    out = _BARE_NUMBER.sub(lambda m: _bare_number(m, lang), out)
    out = _DROP.sub("", out).replace("(", ", ").replace(")", "").replace("—", ",").replace("–", ",")
    out = re.sub(r"\s+([,.!?])", r"\1", out)
    out = re.sub(r"([,.!?])(?:\s*[,.])+", r"\1", out)
    out = re.sub(r"\.{2,}", ".", out)
    out = re.sub(r"([:;,])\s*\.", r"\1", out)
    return re.sub(r"\s{2,}", " ", out).strip(" ,")


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=\S)")


def sentences(text: str) -> list[str]:
    """Sentence pieces for streaming TTS: the first one starts speaking while the rest synthesise."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
