"""Text as the classifiers see it: lowercased, «ё» folded, contacts and figures reduced to placeholders.

A phone number or an e-mail address says "contact" whatever its digits; a figure says "a quantity or
a price" whatever its value. Folding them keeps the char n-grams about wording, not about numbers.
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"\S+@\S+\.\w+")
_PHONE = re.compile(r"\+?\d[\d\s()\-]{6,}\d")
_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    low = text.lower().replace("ё", "е")
    low = _EMAIL.sub(" емейл ", low)
    low = _PHONE.sub(" телномер ", low)
    low = _DIGITS.sub("0", low)
    return _SPACES.sub(" ", low).strip()
