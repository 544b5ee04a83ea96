"""PII masking and contact extraction on RU/EN samples customers actually type."""

from __future__ import annotations

import io
import logging

import pytest

from neuroseller.pii import (
    Contacts,
    PIIMaskingFilter,
    contains_card,
    extract_contacts,
    install_log_masking,
    luhn_ok,
    mask_pii,
    normalize_phone,
)

VISA = "4111 1111 1111 1111"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("звоните +7 (912) 345-67-89", "звоните +7***89"),
        ("мой номер 8 912 345 67 89, жду", "мой номер +7***89, жду"),
        ("89123456789", "+7***89"),
        ("call me on +44 20 7946 0958 please", "call me on +44***58 please"),
        ("пишите на ivan.petrov@mail.ru", "пишите на i***@mail.ru"),
        (f"карта {VISA} срок 12/27", "карта [card] срок [card]"),
        ("оплачу картой 4276 1234 5678 9012 12/27 123, оформляйте", "оплачу картой [card] [card] [card], оформляйте"),
        ("заказ номер 1234 5678 9012 3456 пришёл", "заказ номер 1234 5678 9012 3456 пришёл"),
        ("card 4111-1111-1111-1111", "card [card]"),
        ("номер заказа 1234567890123", "номер заказа 1234567890123"),
        ("паспорт 4510 123456", "паспорт [passport]"),
        ("серия 4510 номер 123456", "серия [passport]"),
        ("доставка на ул. Ленина, д. 5, кв. 12 вечером", "доставка на [address] вечером"),
        ("улица Маршала Жукова 14", "[address]"),
        ("проспект Мира, дом 3", "[address]"),
        ("пр-т Победы 10", "[address]"),
        ("deliver to 12 Baker Street tomorrow", "deliver to [address] tomorrow"),
        ("221B Baker St., apt 3", "[address]"),
        ("палатка за 5990 рублей, 2 штуки", "палатка за 5990 рублей, 2 штуки"),
        ("", ""),
    ],
)
def test_masking_table(text: str, masked: str) -> None:
    assert mask_pii(text) == masked


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+7 (912) 345-67-89", "+79123456789"),
        ("8 912 345 67 89", "+79123456789"),
        ("89123456789", "+79123456789"),
        ("9123456789", "+79123456789"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("+7 912 345", None),
        ("12345", None),
        ("", None),
        ("1234567890123", None),
    ],
)
def test_normalize_phone(raw: str, e164: str | None) -> None:
    assert normalize_phone(raw) == e164


def test_luhn_tells_cards_from_order_numbers() -> None:
    assert luhn_ok(VISA)
    assert not luhn_ok("4111 1111 1111 1112")
    assert not luhn_ok("7")
    assert contains_card(f"вот карта {VISA}")
    assert not contains_card("заказ 4111 1111 1111 1112")
    assert not contains_card("")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Меня зовут Анна, телефон 8 912 345 67 89", Contacts(phone="+79123456789", name="Анна")),
        ("меня зовут анна", Contacts(name="Анна")),
        ("Я Иван, пишите в телегу @ivan_petrov", Contacts(username="@ivan_petrov", name="Иван")),
        ("я хочу купить палатку", Contacts()),
        ("Я Хочу палатку", Contacts()),
        (
            "my name is John, mail me at John.Doe@Example.com",
            Contacts(email="John.Doe@example.com", name="John"),
        ),
        ("Hi, I'm John", Contacts(name="John")),
        ("I'm interested in the tent", Contacts()),
        ("this is Kate from Acme, +44 20 7946 0958", Contacts(phone="+442079460958", name="Kate")),
        (f"карта {VISA}", Contacts()),
        ("", Contacts()),
    ],
)
def test_extract_contacts(text: str, expected: Contacts) -> None:
    assert extract_contacts(text) == expected


def test_email_is_not_a_username() -> None:
    assert extract_contacts("anna@mail.ru").username is None


def test_log_filter_masks_message_and_args() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("test_pii_filter")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        first = install_log_masking(logger)
        assert install_log_masking(logger) is first  # idempotent
        assert sum(isinstance(f, PIIMaskingFilter) for f in handler.filters) == 1
        logger.warning("customer %s paid with %s", "+7 912 345 67 89", VISA)
        logger.warning("broken %s %s", "only-one")  # a malformed record is still logged
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert "customer +7***89 paid with [card]" in out
    assert "4111" not in out
    assert "broken" in out


def test_install_on_root_by_default() -> None:
    root = logging.getLogger()
    handler = logging.NullHandler()
    root.addHandler(handler)
    try:
        install_log_masking()
        assert any(isinstance(f, PIIMaskingFilter) for f in handler.filters)
    finally:
        root.removeHandler(handler)
