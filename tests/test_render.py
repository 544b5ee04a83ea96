"""Fact slots: every figure a customer sees is written by the catalog, and bad slots never crash."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.render import cart_lines, cart_total, find_slots, format_money, item_line, render_slots
from catalog.schema import Catalog, Item
from workflows.types import CartLine

CATALOG = Catalog(items=(
    Item(sku="TENT-2", name="Палатка Trek 2", price=Decimal(8990), promo_price=Decimal(7990), stock=5),
    Item(sku="MAT-1", name="Коврик Comfort", price=Decimal(1290), stock=0),
    Item(sku="LAMP-7", name="Headlamp H7", price=Decimal("24.99"), currency="USD", stock=3),
    Item(sku="ODD-1", name="Odd promo", price=Decimal(100), promo_price=Decimal(120), stock=1),
))


@pytest.mark.parametrize(("amount", "currency", "lang", "expected"), [
    ("7990", "RUB", "ru", "7 990 ₽"),
    ("7990", "RUB", "en", "7,990 ₽"),
    ("1234567.5", "RUB", "ru", "1 234 567,50 ₽"),
    ("24.99", "USD", "en", "$24.99"),
    ("24.99", "USD", "ru", "24,99 $"),
    ("12", "eur", "en", "€12"),
    ("-5", "USD", "en", "-$5"),
    ("990", "KZT", "ru", "990 KZT"),
    ("990.00", "RUB", "ru", "990 ₽"),
])
def test_format_money(amount: str, currency: str, lang: str, expected: str) -> None:
    assert format_money(Decimal(amount), currency, lang) == expected


def test_price_slot_shows_promo_with_old_price() -> None:
    ru = render_slots("{price:TENT-2}", CATALOG, [], "ru")
    assert ru.text == "7 990 ₽ (вместо 8 990 ₽)" and not ru.problems
    assert render_slots("{price:tent-2}", CATALOG, [], "en").text == "7,990 ₽ (was 8,990 ₽)"
    assert render_slots("{price:ODD-1}", CATALOG, [], "ru").text == "120 ₽"  # a "promo" dearer than the price


def test_name_stock_line_total_slots() -> None:
    cart = [CartLine(sku="TENT-2", qty=2), CartLine(sku="MAT-1")]
    out = render_slots("{name:TENT-2}: {stock:TENT-2}; {stock:MAT-1}. {line:TENT-2:2}, итого {total}",
                       CATALOG, cart, "ru")
    assert out.text == ("Палатка Trek 2: в наличии 5 шт.; нет в наличии. Палатка Trek 2 × 2 = 15 980 ₽, "
                        "итого 17 270 ₽")
    assert out.problems == [] and out.skus == ["TENT-2", "MAT-1"]
    assert Decimal(15980) in out.amounts and Decimal(17270) in out.amounts
    en = render_slots("{stock:LAMP-7}, {stock:MAT-1}", CATALOG, [], "en")
    assert en.text == "3 in stock, out of stock"


def test_slot_followed_by_a_full_stop_does_not_double_it() -> None:
    out = render_slots("Есть: {stock:TENT-2}. Берёте?", CATALOG, [], "ru")
    assert out.text == "Есть: в наличии 5 шт. Берёте?"


def test_slot_syntax_is_forgiving_about_case_and_spaces() -> None:
    assert render_slots("{ PRICE : MAT-1 }", CATALOG, [], "ru").text == "1 290 ₽"


@pytest.mark.parametrize(("text", "problem"), [
    ("{price:NOPE-1}", "unknown_sku:NOPE-1"),
    ("{cost:TENT-2}", "bad_slot:cost:TENT-2"),
    ("{price}", "bad_slot:price"),
    ("{line:TENT-2:0}", "bad_slot:line:TENT-2:0"),
    ("{line:TENT-2:x}", "bad_slot:line:TENT-2:x"),
    ("{line:TENT-2}", "bad_slot:line:TENT-2"),
    ("{price:TENT 2}", "bad_slot:price:TENT 2"),
    ("Цена {price:TENT-2", "bad_slot:unbalanced_brace"),
    ("Цена } тут", "bad_slot:unbalanced_brace"),
    ("{total}", "no_cart_total"),
])
def test_bad_slots_are_problems_not_crashes(text: str, problem: str) -> None:
    out = render_slots(text, CATALOG, [], "ru")
    assert problem in out.problems


def test_total_with_unknown_or_mixed_currency_lines_is_a_problem() -> None:
    assert render_slots("{total}", CATALOG, [CartLine(sku="GONE")], "ru").problems == ["no_cart_total"]
    mixed = [CartLine(sku="TENT-2"), CartLine(sku="LAMP-7")]
    assert render_slots("{total}", CATALOG, mixed, "ru").problems == ["no_cart_total"]
    assert cart_total([], CATALOG) == (Decimal(0), "RUB")


def test_template_helpers() -> None:
    tent = CATALOG.get("TENT-2")
    assert tent is not None
    assert item_line(tent, "ru") == "Палатка Trek 2 — 7 990 ₽ (вместо 8 990 ₽), в наличии 5 шт."
    cart = [CartLine(sku="LAMP-7", qty=2), CartLine(sku="GONE")]
    assert cart_lines(cart, CATALOG, "en") == ["Headlamp H7 × 2 = $49.98"]


def test_find_slots_lists_well_formed_slots_only() -> None:
    slots = find_slots("{name:A} {bad} {line:B:3} {total}")
    assert [(s.kind, s.sku, s.qty) for s in slots] == [("name", "A", 0), ("line", "B", 3), ("total", "", 0)]
