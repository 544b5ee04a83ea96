"""The renderer's voice mode: what a caller hears instead of what a chat shows (a table of cases)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.loader import load_csv
from catalog.render import price_text
from catalog.speech import money_words, ru_plural, sentences, speakable
from tests.conftest import SAMPLE_CATALOG

CASES = [
    ("Палатка двухместная «Трек 2» — 7 990 ₽ (вместо 8 990 ₽), в наличии 5 шт. Оформить заказ?", "ru",
     "Палатка двухместная Трек два, семь тысяч девятьсот девяносто рублей, вместо восемь тысяч девятьсот "
     "девяносто рублей, в наличии пять штук. Оформить заказ?"),
    ("Палатка × 2 = 15 980 ₽", "ru", "Палатка, две штуки, итого пятнадцать тысяч девятьсот восемьдесят рублей"),
    ("в наличии 3 шт., хотите?", "ru", "в наличии три штуки, хотите?"),
    ("Вот что есть:\n- Палатка — 6 990 ₽\n- Коврик — 1 490 ₽", "ru",
     "Вот что есть: Палатка, шесть тысяч девятьсот девяносто рублей. Коврик, одна тысяча четыреста девяносто рублей"),
    ("Цена 1,50 ₽", "ru", "Цена один рубль пятьдесят копеек"),
    ("Скидка 10% 👍", "ru", "Скидка десять процентов"),
    ("Tent — 7,990 ₽ (was 8,990 ₽), 5 in stock. Shall I add it?", "en",
     "Tent, seven thousand nine hundred and ninety roubles, was eight thousand nine hundred and ninety roubles, "
     "five in stock. Shall I add it?"),
    ("Lamp — $19.99", "en", "Lamp, nineteen dollars and ninety-nine cents"),
    ("1 € & #1", "en", "one euro and one"),
]


@pytest.mark.parametrize(("text", "lang", "said"), CASES)
def test_replies_are_rewritten_for_the_ear(text: str, lang: str, said: str) -> None:
    assert speakable(text, lang) == said


def test_no_digit_or_symbol_survives_a_rendered_catalog_price() -> None:
    catalog = load_csv(SAMPLE_CATALOG)
    for item in catalog.items:
        for lang in ("ru", "en"):
            out = speakable(f"{item.name} — {price_text(item, lang)}", lang)
            assert not any(ch.isdigit() or ch in "₽$€«»()" for ch in out), out


@pytest.mark.parametrize(("n", "word"), [(1, "рубль"), (2, "рубля"), (5, "рублей"), (11, "рублей"), (21, "рубль"),
                                         (112, "рублей"), (1004, "рубля")])
def test_russian_currency_word_agrees_with_the_number(n: int, word: str) -> None:
    assert ru_plural(n, ("рубль", "рубля", "рублей")) == word


def test_money_in_words_with_minor_units_and_other_currencies() -> None:
    assert money_words(Decimal("2.02"), "RUB", "ru") == "два рубля две копейки"
    assert money_words(Decimal("1"), "USD", "en") == "one dollar"
    assert money_words(Decimal("3"), "EUR", "ru") == "три евро"
    assert money_words(Decimal("7"), "GBP", "en") == "seven GBP"


def test_sentences_split_for_streaming_tts() -> None:
    assert sentences("Есть палатка. Оформить? Да!  ") == ["Есть палатка.", "Оформить?", "Да!"]
    assert sentences("") == []
