"""One definition of each entity a customer types: phones, e-mail addresses, cardinal numbers.

Phones come from `phonenumbers` (Google's libphonenumber) read in the shop's region, with our one
rule on top: an 11-digit number starting with 8 is Russian whatever the region. E-mail addresses
are validated by `email-validator` (syntax only: no DNS, no network). Number words come from
`number-parser`, plus the Russian forms it misses («двоих», «двухместная», «пару»).
Pure functions, no project imports: `neuroseller.pii` builds on them.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email

# Regions whose local formats masking tries when the shop's region is unknown (logs must not leak).
MASK_REGIONS = ("RU", "US", "GB", "DE")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def phone_e164(raw: str, region: str = "RU") -> str | None:
    """E.164 of `raw` read in `region`, or None when it is no valid phone number there."""
    if not raw or not raw.strip():
        return None
    s = raw.strip()
    digits = _digits(s)
    if s.startswith("00"):
        s = "+" + s[2:].lstrip()
    if not s.startswith("+") and len(digits) == 11 and digits[0] in "78":
        region = "RU"  # 8 916 …: Russian whatever the shop's country
    if region.upper() == "UK":
        region = "GB"
    try:
        number = phonenumbers.parse(s, region.upper())
    except phonenumbers.NumberParseException:
        return None
    # a number written with its country code may be a reserved (drama, test) range: still a phone
    ok = phonenumbers.is_valid_number(number) or (
        s.startswith("+") and phonenumbers.is_possible_number(number) and number.country_code != 7)
    if not ok:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def find_phones(text: str, region: str = "RU") -> list[tuple[int, int, str]]:
    """(start, end, E.164) of every phone number in `text`, read in `region` (8-numbers as Russian)."""
    out: list[tuple[int, int, str]] = []
    for match in phonenumbers.PhoneNumberMatcher(text, region.upper() if region.upper() != "UK" else "GB",
                                                 leniency=phonenumbers.Leniency.POSSIBLE):
        e164 = phone_e164(match.raw_string, region)
        inside_longer = re.search(r"\d[\s-]?$", text[:match.start]) or re.match(r"[\s-]?\d", text[match.end:])
        if e164 and not inside_longer:  # a slice of an order or card number is no phone
            out.append((match.start, match.end, e164))
    if region.upper() != "RU":  # «8 916 123-45-67» in a British shop: still a Russian mobile
        for m in re.finditer(r"(?<![\d+])8[\s\-(]*9\d{2}[\s\-)]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?!\d)", text):
            if not any(s <= m.start() < e for s, e, _ in out):
                out.append((m.start(), m.end(), phone_e164(m.group(), "RU") or ""))
    return sorted(x for x in out if x[2])


def valid_email(address: str) -> str | None:
    """The normalised address (domain lowercased) when its syntax is valid; no deliverability check."""
    try:
        info = validate_email(address.strip().strip(".,;:!?()<>\"'"), check_deliverability=False)
    except EmailNotValidError:
        return None
    return info.normalized


_OWN_NUMBERS = {  # forms number-parser does not read: collective numerals and compounds
    "двоих": 2, "двое": 2, "троих": 3, "трое": 3, "четверых": 4, "четверо": 4, "пятерых": 5, "пятеро": 5,
    "шестерых": 6, "шестеро": 6, "пару": 2, "пара": 2, "пары": 2, "парочку": 2, "couple": 2, "dozen": 12,
    "дюжину": 12, "одну": 1, "одна": 1, "одно": 1, "две": 2,
}
_COMPOUND = re.compile(r"^(одно|двух|трех|трёх|четырех|четырёх|пяти|шести)(местн|спальн|комнатн|ярусн)", re.I)
_COMPOUND_VALUE = {"одно": 1, "двух": 2, "трех": 3, "трёх": 3, "четырех": 4, "четырёх": 4, "пяти": 5, "шести": 6}


@lru_cache(maxsize=4096)
def number_value(word: str) -> int | None:
    """The cardinal a single word means («пять» 5, «двоих» 2, «двухместная» 2, "seven" 7), else None."""
    low = word.lower().strip()
    if low.isdigit():
        return int(low)
    if low in _OWN_NUMBERS:
        return _OWN_NUMBERS[low]
    if m := _COMPOUND.match(low):
        return _COMPOUND_VALUE[m.group(1).lower()]
    return _parse_number(low)


def _parse_number(text: str) -> int | None:
    from number_parser import parse_number

    for lang in ("ru", "en"):
        try:
            value = parse_number(text, language=lang)
        except Exception:  # noqa: BLE001 - the parser raises on words of another language
            value = None
        if isinstance(value, int):
            return value
    return None


_NUMBER_RUN = re.compile(r"[A-Za-zА-Яа-яЁё]+(?:[\s-]+[A-Za-zА-Яа-яЁё]+){0,3}")


def numbers_in(text: str) -> list[tuple[int, int, int]]:
    """(start, end, value) of every cardinal written in words («двадцать пять мешков» → 25)."""
    out: list[tuple[int, int, int]] = []
    words = list(re.finditer(r"[A-Za-zА-Яа-яЁё]+", text))
    i = 0
    while i < len(words):
        best = None
        for j in range(min(len(words), i + 4), i, -1):  # the longest run of number words wins
            chunk = text[words[i].start():words[j - 1].end()]
            if all(number_value(w.group()) is not None for w in words[i:j]):
                value = number_value(chunk)
                if value is not None:
                    best = (words[i].start(), words[j - 1].end(), value, j)
                    break
        if best:
            out.append(best[:3])
            i = best[3]
        else:
            i += 1
    return out


def spoken_digits(text: str) -> str:
    """Numbers said in words as digits, the way speech-to-text hands over a phone number
    ("five one two, five five five, oh one nine nine" → "5 1 2 5 5 5 0 1 9 9")."""
    from number_parser import parse

    out = text
    for lang in ("ru", "en"):
        try:
            out = parse(out, language=lang)
        except Exception:  # noqa: BLE001 - the parser raises on odd input: keep what we have
            continue
    out = re.sub(r"\bdouble\s+(\d)\b", r"\1 \1", out, flags=re.I)
    out = re.sub(r"(?<=\d)([\s,.-]+)(?:oh|o)\b(?=[\s,.-]*\d)", r"\1 0", out, flags=re.I)
    return re.sub(r"(?<=\d)[,.;]\s+(?=\d)", " ", out)


def find_phones_anywhere(text: str, region: str = "RU") -> list[tuple[int, int, str]]:
    """Phones in the shop's region first; else said in words; else written in a neighbouring country's
    local format (a German number in a shop whose prices are in euros). Spans of the last two are
    approximate: use this to read a contact, not to mask."""
    found = find_phones(text, region)
    if found:
        return found
    spoken = spoken_digits(text)
    if spoken != text and (found := find_phones(spoken, region)):
        return found
    for other in MASK_REGIONS:
        if other != region.upper() and (found := find_phones(text, other)):
            return found
    return []
