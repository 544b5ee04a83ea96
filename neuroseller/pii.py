"""PII: find, normalise and mask personal data in customer text (RU + EN).

Pure functions with no I/O, so workflows, activities and the log filter can all call them. Masking
keeps a short hint (`+7***89`, `i***@mail.ru`) so an operator reading a log can still tell two
customers apart, while the full value lives only in the lead record the business needs.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from activities.brain.reader.entities import (
    MASK_REGIONS,
    find_phones,
    find_phones_anywhere,
    phone_e164,
    valid_email,
)

__all__ = [
    "Contacts",
    "PIIMaskingFilter",
    "contains_card",
    "extract_contacts",
    "install_log_masking",
    "luhn_ok",
    "mask_pii",
    "normalize_phone",
]

# A run of digits with the separators people type between groups. Cards: 13-19 digits.
_CARD_RE = re.compile(r"(?<![\d+])\d(?:[ -]?\d){12,18}(?!\d)")
# Phones: optional +, then 10-15 digits with spaces, dashes, dots and brackets between them.
_PHONE_RE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d(?:[\s\-.()]{0,2}\d){7,14}(?![\w])")
_EMAIL_RE = re.compile(r"(?<![\w.+-])([\w.+-]+)@([\w-]+(?:\.[\w-]+)+)")
_USERNAME_RE = re.compile(r"(?<![\w@.])@([A-Za-z][A-Za-z0-9_]{3,31})\b")
_PASSPORT_RE = re.compile(
    r"(?i)\b(паспорт\w*|серия|passport)(\s*(?:рф|серия)?\s*[:№#]?\s*)"
    r"(\d{2}\s?\d{2}\s*(?:(?:номер|№|no\.?|#)\s*)?\d{6}|[A-Z]{0,2}\d{6,9})(?!\d)"
)
_RU_STREET = (
    r"ул\.|улиц[аеуы]|пр-т|просп\.|проспект[аеу]?|пер\.|переул(?:ок|ке)|бульвар[аеу]?|б-р|"
    r"шоссе|наб\.|набережн(?:ая|ой)|пл\.|площад[ьи]|мкр\.?|микрорайон[аеу]?"
)
_RU_PARTS = r"д\.?|дом|корп\.?|к\.|стр\.?|строение|кв\.?|квартира|оф\.?|офис|под\.|подъезд|эт\.?|этаж"
_RU_ADDRESS_RE = re.compile(
    rf"(?i)(?<!\w)(?:{_RU_STREET})\s*[^\s,\d.][^\s,]*(?:\s+[^\s,\d][^\s,]*)?"
    rf"(?:,?\s*\d+[\w/-]*)?(?:,?\s*(?:{_RU_PARTS})\s*\d+[\w/-]*)*"
)
_EN_SUFFIX = r"Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Boulevard|Blvd|Drive|Dr|Square|Sq|Place|Pl|Court|Ct|Way"
_EN_ADDRESS_RE = re.compile(
    rf"\b\d+[A-Za-z]?\s+(?:[A-Za-z][\w'-]*\s+){{1,3}}(?i:{_EN_SUFFIX})\b\.?"
    r"(?:,?\s*(?i:apt|apartment|suite|unit|flat|#)\.?\s*\w+)?"
)

_RU_NAME_RE = re.compile(r"(?i:меня\s+зовут|зовут\s+меня)\s*[-—:]?\s*([А-ЯЁа-яёA-Za-z][а-яёa-z-]+)")
_RU_I_AM_RE = re.compile(r"(?:^|(?<=[\s,.!?]))(?i:я|это)\s*[-—,]?\s+([А-ЯЁ][а-яё-]+)\b")
_EN_NAME_RE = re.compile(r"(?i:my\s+name\s+is|name's)\s+([A-Za-z][a-z'-]+)")
_EN_I_AM_RE = re.compile(r"\b(?i:i'm|i\s+am|this\s+is|it's)\s+([A-Z][a-z'-]+)\b")
# Capitalised words after "я"/"I'm" that are not names ("Я Хочу...", "I'm Interested").
_NOT_NAMES = {
    "хочу",
    "бы",
    "не",
    "уже",
    "тоже",
    "просто",
    "только",
    "думаю",
    "ищу",
    "хотел",
    "хотела",
    "могу",
    "буду",
    "был",
    "была",
    "здесь",
    "тут",
    "из",
    "от",
    "по",
    "в",
    "на",
    "сам",
    "сама",
    "клиент",
    "заказывал",
    "заказывала",
    "интересуюсь",
    "спрашиваю",
    "очень",
    "вот",
    "так",
    "ваш",
    "ваша",
    "покупатель",
    "мама",
    "interested",
    "looking",
    "not",
    "just",
    "here",
    "from",
    "a",
    "an",
    "the",
    "so",
    "very",
    "sorry",
    "fine",
    "good",
    "ok",
    "okay",
    "sure",
    "back",
    "ready",
    "going",
    "trying",
    "writing",
    "calling",
    "also",
}


@dataclass(frozen=True)
class Contacts:
    """Contact details a customer typed; `phone` is E.164."""

    phone: str | None = None
    email: str | None = None
    username: str | None = None
    name: str | None = None


def luhn_ok(digits: str) -> bool:
    """Luhn checksum: tells a typed card number from an order or tracking number of the same length."""
    only = [int(c) for c in digits if c.isdigit()]
    if len(only) < 2:
        return False
    total = 0
    for i, d in enumerate(reversed(only)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_CARD_WORDS = re.compile(r"карт|card|visa|виза|master\s*card|мастеркард|\bмир\b|maestro|cvv|cvc|оплат|оплач|\bpay",
                         re.I)
_CARD_EXTRAS = re.compile(r"\b(0[1-9]|1[0-2])\s?/\s?(\d{2}|20\d{2})\b|\b(cvv|cvc|cvv2|код)\s*:?\s*\d{3,4}\b", re.I)


def _card_spans(text: str) -> list[tuple[int, int]]:
    """Card numbers in the text; a digit run longer than a card («… 9012 12/27») is tried by its prefixes."""
    spans: list[tuple[int, int]] = []
    near_words = _CARD_WORDS.search(text) is not None
    for m in _CARD_RE.finditer(text):
        positions = [m.start() + i for i, ch in enumerate(m.group()) if ch.isdigit()]
        for n in range(min(len(positions), 19), 12, -1):
            digits = "".join(text[p] for p in positions[:n])
            if luhn_ok(digits) or (n == 16 and near_words):
                spans.append((m.start(), positions[n - 1] + 1))
                break
    return spans


def _card_matches(text: str) -> list[tuple[int, int]]:
    return _card_spans(text)


def contains_card(text: str) -> bool:
    """True when the text holds a Luhn-valid card number (the bot then asks not to send cards in chat)."""
    return bool(_card_matches(text or ""))


def normalize_phone(raw: str, default_region: str = "RU") -> str | None:
    """E.164 (`+79123456789`) or None when `raw` is not a valid phone number in `default_region`.

    One definition for the whole project (`activities.brain.reader.entities`, on `phonenumbers`);
    an 8-number is Russian whatever the region.
    """
    return phone_e164(raw, default_region)


def _phone_hint(e164: str) -> str:
    cc_len = 1 if e164[1] in "17" else 2
    return f"+{e164[1 : 1 + cc_len]}***{e164[-2:]}"


def _mask_phones(text: str, region: str | None) -> str:
    """Phones masked as read in `region`, or in each of the common regions when it is unknown."""
    spans: list[tuple[int, int, str]] = []
    for reg in (region,) if region else MASK_REGIONS:
        for start, end, e164 in find_phones(text, reg):
            if not any(s < end and start < e for s, e, _ in spans):
                spans.append((start, end, e164))
    for start, end, e164 in sorted(spans, reverse=True):
        text = text[:start] + _phone_hint(e164) + text[end:]
    return text


def _mask_email(m: re.Match[str]) -> str:
    return f"{m.group(1)[0]}***@{m.group(2)}"


def mask_cards(text: str) -> str:
    """Only card data masked: what channels apply before a message enters Temporal's history."""
    text = text or ""
    out = text
    for start, end in reversed(_card_spans(text)):
        out = out[:start] + "[card]" + out[end:]
    if "[card]" in out:  # expiry dates and CVV codes typed with a card go too
        out = _CARD_EXTRAS.sub("[card]", out)
        out = re.sub(r"(\[card\][\s,;]*)\d{3,4}\b", r"\1[card]", out)
    return out


def mask_pii(text: str, region: str | None = None) -> str:
    """The text with phones, e-mails, cards, passport numbers and street addresses masked.

    Cards go first (a card is also a long digit run a phone pattern could half-match), then
    passports, e-mails, phones and addresses.
    """
    if not text:
        return text
    out = mask_cards(text)
    out = _PASSPORT_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}[passport]", out)
    out = _EMAIL_RE.sub(_mask_email, out)
    out = _mask_phones(out, region)
    out = _RU_ADDRESS_RE.sub("[address]", out)
    return _EN_ADDRESS_RE.sub("[address]", out)


def _first_name(patterns: tuple[re.Pattern[str], ...], text: str) -> str | None:
    for pattern in patterns:
        for m in pattern.finditer(text):
            word = m.group(1).strip("-'")
            if word.lower() not in _NOT_NAMES and len(word) >= 2:
                return word[0].upper() + word[1:].lower()
    return None


def extract_contacts(text: str, region: str = "RU") -> Contacts:
    """Contacts the customer typed in one message; the first of each kind wins. `region` reads local numbers."""
    if not text:
        return Contacts()
    phone = None
    without_cards = _CARD_RE.sub(lambda m: " " if luhn_ok(m.group()) else m.group(), text)
    found = find_phones_anywhere(without_cards, region)
    if found:
        phone = found[0][2]
    email = next((e for m in _EMAIL_RE.finditer(text) if (e := valid_email(m.group()))), None)
    user_m = _USERNAME_RE.search(text)
    name = _first_name((_RU_NAME_RE, _EN_NAME_RE, _RU_I_AM_RE, _EN_I_AM_RE), text)
    return Contacts(
        phone=phone,
        email=email,
        username=f"@{user_m.group(1)}" if user_m else None,
        name=name,
    )


class PIIMaskingFilter(logging.Filter):
    """Masks PII in every record a handler emits, whatever logger produced it.

    The message is formatted first and the args dropped, so a phone passed as an argument
    (`log.info("from %s", phone)`) is masked as well.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is still logged, masked
            message = str(record.msg)
        record.msg = mask_pii(message)
        record.args = None
        return True


def install_log_masking(logger: logging.Logger | None = None) -> PIIMaskingFilter:
    """Attach one `PIIMaskingFilter` to every handler of `logger` (root by default); idempotent."""
    target = logger or logging.getLogger()
    existing = next((f for h in target.handlers for f in h.filters if isinstance(f, PIIMaskingFilter)), None)
    mask = existing or PIIMaskingFilter()
    for handler in target.handlers:
        if not any(isinstance(f, PIIMaskingFilter) for f in handler.filters):
            handler.addFilter(mask)
    return mask
