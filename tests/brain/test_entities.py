"""One definition of each entity: phones, e-mails, number words — tables of cases, no server."""

import pytest

from activities.brain.reader.entities import find_phones, number_value, numbers_in, phone_e164, valid_email
from neuroseller.pii import extract_contacts, mask_pii


@pytest.mark.parametrize(("raw", "region", "e164"), [
    ("+7 (916) 123-45-67", "RU", "+79161234567"),
    ("8 916 123 45 67", "RU", "+79161234567"),
    ("8 916 123 45 67", "GB", "+79161234567"),  # an 8-number is Russian whatever the region
    ("9161234567", "RU", "+79161234567"),
    ("07911 123456", "GB", "+447911123456"),
    ("(512) 555-0199", "US", "+15125550199"),
    ("0151 23456789", "DE", "+4915123456789"),
    ("0049 151 23456789", "RU", "+4915123456789"),
    ("12345", "RU", None),
    ("", "RU", None),
])
def test_phone_e164_table(raw: str, region: str, e164: str | None) -> None:
    assert phone_e164(raw, region) == e164


@pytest.mark.parametrize(("text", "region", "phones"), [
    ("мой номер 8 916 123-45-67, жду", "RU", ["+79161234567"]),
    ("ring me on 07911 123456 please", "GB", ["+447911123456"]),
    ("Russian mobile 8 916 123-45-67 in a British shop", "GB", ["+79161234567"]),
    ("заказ номер 1234 5678 9012 3456 пришёл", "RU", []),
])
def test_find_phones_table(text: str, region: str, phones: list[str]) -> None:
    assert [p for _, _, p in find_phones(text, region)] == phones


@pytest.mark.parametrize(("text", "masked"), [
    ("call 07911 123456", "call +44***56"),
    ("call (512) 555-0199", "call +1***99"),
    ("ruf 0151 23456789 an", "ruf +49***89 an"),
])
def test_foreign_local_numbers_are_masked(text: str, masked: str) -> None:
    assert mask_pii(text) == masked


@pytest.mark.parametrize(("address", "normal"), [
    ("Anna@Example.COM", "Anna@example.com"),
    ("a@b", None),
    ("x@gmail.com.", "x@gmail.com"),
    ("not an address", None),
])
def test_valid_email_table(address: str, normal: str | None) -> None:
    assert valid_email(address) == normal


def test_a_malformed_email_is_no_contact() -> None:
    assert extract_contacts("пишите на ivan@@mail").email is None
    assert extract_contacts("пишите на ivan@mail.ru").email == "ivan@mail.ru"


@pytest.mark.parametrize(("word", "value"), [
    ("пять", 5), ("двадцать пять", 25), ("двоих", 2), ("двухместная", 2), ("seven", 7), ("twenty five", 25),
    ("12", 12), ("палатка", None), ("dozen", 12),
])
def test_number_value_table(word: str, value: int | None) -> None:
    assert number_value(word) == value


def test_numbers_in_finds_runs_of_number_words() -> None:
    assert [v for _, _, v in numbers_in("двадцать пять мешков и two tents")] == [25, 2]
