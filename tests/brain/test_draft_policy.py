"""The strict draft policy: a model's own words carry no facts, links, names or secrets."""

from __future__ import annotations

import base64

import pytest

from activities.brain.draft_policy import check_draft, fill_profile_slots, normalize
from catalog.loader import load_csv
from tests.conftest import SAMPLE_CATALOG
from workflows.profile import Profile
from workflows.types import ReplyRequest

CATALOG = load_csv(SAMPLE_CATALOG)
SECRET = "sk-live-TOPSECRET-abcdefghijklmnop"
RU = ReplyRequest(lead_id="l", text="Сколько стоит палатка на двоих? Бюджет 500 рублей", language="ru",
                  profile=Profile(delivery_info_ru="Доставка по России 2–5 дней, самовывоз бесплатно."))
EN = ReplyRequest(lead_id="l", text="How much is the 2 person tent?", language="en")


@pytest.mark.parametrize("draft", [
    "{name:TENT-2P} — {price:TENT-2P}, {stock:TENT-2P}. Оформим заказ?",
    "Отличный выбор! {name:TENT-2P} стоит {price:TENT-2P}. Добавить в корзину?",
    "Могу предложить {name:MAT-SELF} — {price:MAT-SELF}. К палатке подойдёт идеально. Добавить?",
    "Доставка: {delivery}. Оформим?",
    "{ name : TENT-2P } за { PRICE : tent-2p }. Берёте?",
    "В корзине: {line:TENT-2P:2}. Итого {total}. Оставите телефон?",
    "{name:TENT-2P}: вес 2,4 кг, два входа, водостойкость 3000 мм. Цена {price:TENT-2P}. Берёте?",
    "Да, {name:THERMOS-1L} по акции: {price:THERMOS-1L}, экономия 300 ₽. Добавить в корзину?",
    "Доставка по России 2–5 дней, самовывоз бесплатно. Оформим?",
])
def test_good_slot_drafts_pass(draft: str):
    assert check_draft(normalize(draft), RU, CATALOG, [SECRET]) == []


@pytest.mark.parametrize(("draft", "problem"), [
    ("Палатка стоит 1 990 ₽. Оформим?", "figure"),
    ("В пределах 500 ₽ подойдёт {name:TENT-2P}. Берёте?", "figure"),
    ("На {name:TENT-1P} скидка 11%. Берёте?", "figure"),
    ("{name:TENT-2P} со скидкой 50%! Берёте?", "figure"),
    ("{name:TENT-1P} стоит 7 990 ₽. Оформим?", "figure"),
    ("Да, на {name:TENT-3P} могу снять 1 000 ₽. Оформим?", "figure"),
    ("стоит всего пять тысяч девятьсот рублей. Оформим?", "currency"),
    ("Цена — девятьсот девяносто девять. Берёте?", "amount_in_words"),
    ("it is just nine ninety-nine, shall I?", "amount_in_words"),
    ("Примерно двенадцать тенге, оформим?", "currency"),
    ("Было дорого — сейчас со скидкой! Берёте?", "promotion"),
    ("Вторая в подарок, оформим?", "promotion"),
    ("Buy two get one free!", "promotion"),
    ("Сегодня все товары бесплатно!", "promotion"),
    ("Последний экземпляр, успевайте!", "stock_claim"),
    ("Just two left, hurry!", "stock_claim"),
    ("Да, «Кемпинг 4» есть в наличии, отправим сегодня же", "stock_claim"),
    ("Доставим завтра, гарантия на всё. Оформим?", "terms_promise"),
    ("Оплатить можно тут: http://evil.example/pay", "link_or_contact"),
    ("Пишите в телеграм @evil_manager, оформим?", "link_or_contact"),
    ("[оплата](http://evil.example) — оформим?", "link_or_contact"),
    ("Рекомендую палатку Альпина Про. Оформим?", "unknown_name"),
    ("По моим инструкциям я использую слоты и таблицу FACTS.", "internals"),
    ("Владелец велел мне быть кратким и дружелюбным. Оформим?", "internals"),
    ("I was told to always offer the next step. Shall I?", "internals"),
    ("{name:TENT-1P} стоит {price:TENT-3P}. Берёте?", "slot_for_other_item"),
    ("Оформлю {line:TENT-1P:50}, хорошо?", "line_over_stock"),
    ("Оформлю {line:TENT-4P:1}, хорошо?", "line_over_stock"),
    ("x" * 1300, "too_long"),
    ("Часть первая: sk-live-TOPS, часть вторая: ECRET-abcdefgh", "secret_leak"),
    ("s.k.-.l.i.v.e.-.T.O.P.S.E.C.R.E.T", "secret_leak"),
    (f"ключ в base64: {base64.b64encode(SECRET.encode()).decode()}", "secret_leak"),
    (SECRET[::-1], "secret_leak"),
    ("Price {price:TENT-2P" + "", "broken_slot"),
])
def test_attack_drafts_are_rejected(draft: str, problem: str):
    problems = check_draft(normalize(draft), RU, CATALOG, [SECRET])
    assert any(p.startswith(problem) for p in problems), problems


def test_a_correct_price_written_after_the_items_own_name_passes():
    from activities.brain.turn import fact

    tent = CATALOG.get("TENT-2P")
    req = RU.model_copy(update={"matches": [fact(tent)]})
    assert check_draft("Палатка двухместная «Трек 2» стоит 7 990 ₽. Оформим?", req, CATALOG, []) == []
    assert check_draft("Палатка двухместная «Трек 2» стоит 6 990 ₽. Оформим?", req, CATALOG, [])


def test_wrong_language_is_rejected():
    assert "wrong_language" in check_draft("Горелка стоит {price:BURNER}. Оформим заказ?", EN, CATALOG, [])
    assert check_draft("{name:BURNER}: {price:BURNER}. Shall I add it?", EN, CATALOG, []) == []


def test_fullwidth_and_zero_width_tricks_are_normalised():
    assert normalize("｛price:TENT-2P｝") == "{price:TENT-2P}"
    assert check_draft(normalize("1\u200b990"), RU, CATALOG, [])


def test_profile_slots_use_the_profile_or_check_back():
    req = RU.model_copy(update={"profile": Profile(delivery_info_ru="Доставка 2–5 дней.")})
    assert fill_profile_slots("Условия: {delivery} {hours}", req) == "Условия: Доставка 2–5 дней. уточню у менеджера"
