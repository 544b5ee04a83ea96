"""The sales script as pure, deterministic functions: intents, language, stages, CTA and escalation rules.

Workflows and tests import these directly; nothing here does I/O or reads a clock, so the
same message always leads to the same decision on replay.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from workflows.types import CartLine, LeadState, LeadStatus, Stage, TurnAnalysis

# ---- language -----------------------------------------------------------------------------------

_CYR_WORD = re.compile(r"\b[а-яё][а-яё-]*\b", re.I)
_LAT_WORD = re.compile(r"\b[a-z][a-z'-]*\b", re.I)
_NOT_LANGUAGE = re.compile(r"\S+@\S+|https?://\S+|@\w+|\{[^}]*\}|\b\w*\d\w*\b", re.I)


_EN_WORDS = frozenset("""hi hello hey thanks thank you yes yeah no ok okay please how much what where when which who why
is are do does can could would will i i'm i'll my me we the a an and or for to of in on it this that price cost buy
want need have get take order cart stock available sorry sure great good bye""".split())


def detect_language(text: str, previous: str = "ru", *, sticky: bool = True) -> str:
    """RU or EN by words, not counting e-mails, links, @handles and model numbers.

    A short Latin-only message inside a Russian dialogue («iphone 13», "ok") keeps Russian, and a
    message without words (a phone number, an emoji) keeps the previous language.
    """
    clean = _NOT_LANGUAGE.sub(" ", text)
    cyr, lat = len(_CYR_WORD.findall(clean)), len(_LAT_WORD.findall(clean))
    if cyr == 0 and lat == 0:
        return previous
    latin = [w.lower() for w in _LAT_WORD.findall(clean)]
    if sticky and cyr == 0 and previous == "ru" and lat <= 2 and not any(w in _EN_WORDS for w in latin):
        return "ru"  # «iphone 13» inside a Russian dialogue is a model name, not a switch to English
    if lat == 0 and previous == "en" and cyr <= 1 and len(clean.strip()) <= 3:  # pragma: no cover - rare
        return "en"
    raw_latin = _LAT_WORD.findall(clean)
    if cyr and all(w[:1].isupper() and w.lower() not in _EN_WORDS for w in raw_latin):
        return "ru"  # «есть кроссовки Nike Air Max?»: capitalised brand names inside Russian
    if sticky and cyr and lat and max(cyr, lat) < 2 * min(cyr, lat):
        return previous  # «есть кроссовки Nike Air Max?»: brand names do not switch the language
    return "ru" if cyr >= lat else "en"


# ---- intents ------------------------------------------------------------------------------------


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.I)


GRAMMAR_PATTERNS: dict[str, re.Pattern[str]] = {
    "advice": _rx(r"\bподар(ок|ка|ки|ить)\b", r"\bgift\b", r"\bpresent\s+for\b", r"\bпосовету\w*",
                  r"\bчто\s+(выбрать|взять|лучше)\b", r"\brecommend\w*", r"\bsuggest\w*",
                  r"\bwhat\s+should\s+i\s+(get|buy)",
                  r"\bподскажите,?\s+что\b", r"\bне\s+знаю,?\s+что\b"),
    "budget": _rx(r"\bбюджет\w*", r"\bне\s+дороже\b", r"\bв\s+пределах\b", r"\bдо\s+\d[\d\s]*(₽|р|руб|тыс|к\b|\$|€)?",
                  r"\bunder\s+[$€£]?\d", r"\bwithin\s+[$€£]?\d", r"\bbudget\b", r"\bup\s+to\s+[$€£]?\d"),
    "browse": _rx(r"\bчто\s+(есть|у\s+вас|предлож|можете\s+предлож)",
                  r"\bкакие\b.*\b(есть|бывают|у\s+вас)",
                  r"посовет(уй|уйте)", r"\bассортимент", r"\bкаталог", r"\bвыбор\b",
                  r"what\s+do\s+you\s+(have|sell|offer)", r"\brecommend", r"\bsuggest", r"\bcatalog",
                  r"\bwhat\s+\w+\s+do\s+you\s+have", r"\bwhat\s+(kinds?|types?|options)\b", r"\bвариант(ы|ов)\b"),
    "cart": _rx(r"\bчто\s+(у\s+меня\s+)?в\s+корзин", r"\bмоя\s+корзин", r"\bсколько\s+(всего|итого|в\s+сумме)",
                r"\bитого\b", r"\bmy\s+(cart|basket|order)\b", r"\b(what'?s|what\s+is)\s+(my|the)\s+total\b",
                r"\bin\s+my\s+cart\b"),
    "photo_ref": _rx(r"\b(как|такой|такую|такое|такие)\s+(же\s+)?(как\s+)?на\s+(фото|картинке|фотке|скрине)",
                     r"\bс\s+(фото|картинки|скрина)\b", r"\bна\s+(фото|фотке|скрине)\b",
                     r"\b(in|on|from)\s+the\s+(photo|picture|"
                     r"pic|screenshot|post)\b", r"\blike\s+in\s+the\s+(photo|picture)"),
    "lang_ru": _rx(r"\bпо-?\s?русски\b", r"\bна\s+русском\b", r"\bin\s+russian\b", r"\bspeak\s+russian\b"),
    "lang_en": _rx(r"\bпо-?\s?английски\b", r"\bна\s+английском\b", r"\bin\s+english\b", r"\bspeak\s+english\b",
                   r"\benglish\s+please\b"),
    "swap": _rx(r"\binstead\b", r"\bswap\b", r"\bchange\s+(it\s+)?to\b", r"\bвместо\b", r"\bзамени(те)?\s+на\b",
                r"\bпоменяй(те)?\s+на\b", r"\bлучше\s+(возьму|давайте|дайте)\b"),
    "set_qty": _rx(r"\bmake\s+it\s+(\d{1,3})\b", r"\bсделай(те)?\s+(\d{1,3})\b", r"\bпусть\s+будет\s+(\d{1,3})\b",
                   r"\bchange\s+(the\s+)?(qty|quantity)\s+to\s+(\d{1,3})", r"\bне\s+\d+,?\s+а\s+(\d{1,3})\b"),
    "remove": _rx(r"\bremove\b", r"\btake\s+out\b", r"\bdelete\b", r"\bубер(и|ите)\b", r"\bудали(те)?\b",
                  r"\bуберите\s+из\s+корзины", r"\bне\s+нужн[ыао]\s+больше\b"),
    "injection": _rx(r"ignore\s+(all\s+)?(previous|prior|above|your)", r"игнорир",
                     r"забудь\s+(все|всё|предыдущ|инструкц)",
                     r"system\s*prompt", r"системн\w*\s+промпт", r"<\s*/?\s*(system|assistant|user)",
                     r"\[\s*system\s*\]",
                     r"\bDAN\b", r"jailbreak", r"api[\s_-]*key", r"\bключ\w*\s+api", r"\btoken\b", r"from\s+now\s+on",
                     r"с\s+этого\s+момента", r"теперь\s+(ты|всё|все)", r"you\s+are\s+now", r"developer\s+mode",
                     r"режим\s+разработчика", r"pretend\s+to\s+be", r"притвор", r"role\s*-?\s*play", r"ролев",
                     r"price\s+update", r"new\s+prices?\b", r"новые\s+цены", r"твои\s+инструкции",
                     r"your\s+instructions",
                     r"\bпароль\b", r"\bpassword\b", r"what\s+were\s+you\s+told", r"before\s+this\s+conversation",
                     r"(repeat|print|show|reveal)\s+(the\s+|your\s+)?(instructions|prompt|rules|text\s+above)",
                     r"(повтори|покажи|выведи)\s+(свои\s+|твои\s+)?(инструкции|промпт|правила)",
                     r"\bstep\s+\d+\s*:", r"\bsecret\b", r"\bсекрет"),
}
"""Intents that are grammar, not meaning: cart edits (set_qty, swap, remove), a language switch, a
reference to a photo, browsing words, prompt-injection markers. What a message MEANS (the closed
list in INTENTS.md) is read by the learned reader (`activities.brain.reader`)."""

BUYING_INTENTS = frozenset({"price", "availability", "buy", "checkout", "discount", "need"})
_CONDITIONAL = re.compile(r"\b(если|if)\b", re.I)


def detect_intents(text: str, meaning: Iterable[str]) -> list[str]:
    """The reader's intents plus the grammar ones, reconciled in a stable order."""
    found = list(dict.fromkeys(meaning))
    found += [name for name, rx in GRAMMAR_PATTERNS.items() if rx.search(text) and name not in found]
    if _CONDITIONAL.search(text) and "?" in text and {"buy", "confirm", "checkout"} & set(found):
        # grammar: «а если возьму два?» is a hypothetical question about the price, not an order
        found = [f for f in found if f not in ("buy", "confirm", "checkout")]
        found += [] if "price" in found else ["price"]
    if "browse" in found and "availability" in found:
        found.remove("availability")  # «что есть из букетов?» browses; it does not ask for one item
    if "swap" in found and "cancel" in found:
        found.remove("cancel")  # «changed my mind, get the 42 instead»: a swap, not a cancellation
        if "refuse" in found:
            found.remove("refuse")
    if "cancel" in found and "refuse" not in found:
        found.append("refuse")
    if "complaint" in found and "returns" in found:
        found.remove("returns")
    for shadowed in ("checkout", "cart"):
        if "order_status" in found and shadowed in found:
            found.remove(shadowed)
    return found


# ---- quantities ---------------------------------------------------------------------------------

_NUM_WORDS = {
    "один": 1, "одну": 1, "одна": 1, "два": 2, "две": 2, "пару": 2, "три": 3, "четыре": 4, "пять": 5,
    "шесть": 6, "семь": 7, "восемь": 8, "девять": 9, "десять": 10,
    "one": 1, "two": 2, "couple": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10,
}
_QTY = re.compile(
    r"(?:(\d{1,3})\s*(?:шт|штук|штуки|pcs|pieces|x\b|х\b|×|меш\w*|пач\w*|упаков\w*|набор\w*|рулон\w*|"
    r"лист\w*|буханк\w*|коробк\w*|банок|банки|флакон\w*|бутыл\w*|комплект\w*|порци\w*|bags?\b|packs?\b|boxes\b|"
    r"sets?\b|rolls?\b|sheets?\b|units?\b))|(?:(?:^|\s)[x×х]\s*(\d{1,3})\b)"
    r"|(?:\b(?:нужно|нужен|нужна|нужны|надо|беру|возьму|хочу|закажу|дайте|давайте|давай|купить|взять|заказать|"
    r"положите|добавьте|buy|get|order|book|i\s+need|i'?ll\s+take|"
    r"i\s+want|give\s+me|add|take)\s+(\d{1,3})\b)"
    r"|(?:^\W*(?:а|и|ну|ок|ok|and|so)?\s*(\d{1,3})\s*(?:шт|штук|pcs|pieces)?\W*$)", re.I)
_QTY_WORD = re.compile(r"\b(" + "|".join(_NUM_WORDS) + r")\b(?!\s+(человек|person|people|мест))", re.I)


def extract_quantity(text: str) -> int | None:
    """A quantity the customer asks for («2 шт», «беру 3», «две штуки», "I'll take 2"), else None.

    Numbers that describe the item («палатка на 2 человек», "2 person tent") are not quantities.
    """
    m = _QTY.search(text)
    if m:
        value = next(g for g in m.groups() if g)
        n = int(value)
        return n if 0 < n <= 999 else None
    m = _QTY_WORD.search(text)
    if m and re.search(r"шт|штук|pcs|pieces|беру|возьму|нужн|хочу|закаж|take|need|want|buy", text, re.I):
        return _NUM_WORDS[m.group(1).lower()]
    return None


# ---- stages and status --------------------------------------------------------------------------


def next_stage(current: Stage, intents: Iterable[str], *, has_matches: bool, cart_nonempty: bool,
               has_contact: bool) -> Stage:
    """Move the sales script forward; it never goes back past an order."""
    it = set(intents)
    if current == Stage.ORDER:
        return Stage.ORDER
    if cart_nonempty and has_contact:
        return Stage.ORDER
    if "checkout" in it or (cart_nonempty and ("buy" in it or "confirm" in it)):
        return Stage.CLOSING
    if cart_nonempty and current == Stage.CLOSING:
        return Stage.CLOSING
    if "objection" in it or "discount" in it:
        return Stage.OBJECTIONS
    if has_matches or "buy" in it:
        return Stage.OFFER
    if it & {"browse", "price", "availability"}:
        return Stage.DISCOVERY
    if current == Stage.GREETING and "greeting" in it:
        return Stage.GREETING
    return current if current != Stage.GREETING else Stage.DISCOVERY


_STATUS_RANK = {LeadStatus.NEW: 0, LeadStatus.QUALIFIED: 1, LeadStatus.CART: 2, LeadStatus.CHECKOUT: 3,
                LeadStatus.WON: 4}
_TERMINAL = {LeadStatus.WON, LeadStatus.LOST, LeadStatus.OPTED_OUT, LeadStatus.UNREACHABLE}


def next_status(state: LeadState) -> LeadStatus:
    """Lead status from the state: qualified on buying intent, cart, checkout once a contact is left.

    Escalation is a flag (`Escalated` search attribute), not a status, except for a lead that had
    not got further than `qualified`: then `escalated` is the most useful thing to show a manager.
    """
    current = state.lead.status
    if current in _TERMINAL:
        return current
    target = LeadStatus.NEW
    if state.lead.captured:
        target = LeadStatus.QUALIFIED
    if state.cart:
        target = LeadStatus.CART
    if state.cart and state.lead.contact:
        target = LeadStatus.CHECKOUT
    if state.escalated and _STATUS_RANK.get(target, 0) <= 1 and state.mode == "bot":
        return LeadStatus.ESCALATED
    if current == LeadStatus.ESCALATED and not state.escalated:
        return target
    if current in _STATUS_RANK and _STATUS_RANK[current] > _STATUS_RANK[target] and state.cart:
        return current
    return target


# ---- CTA / upsell / escalation ------------------------------------------------------------------


def should_push(aggressiveness: float, turn: int, salt: int = 0) -> bool:
    """Deterministic "push with probability = aggressiveness": spread over turns, no randomness."""
    if aggressiveness >= 1.0:
        return True
    if aggressiveness <= 0.0:
        return False
    bucket = ((turn + 1) * 7919 + salt * 104729) % 100
    return bucket < int(aggressiveness * 100)


ESCALATING_INTENTS = {"human_request": "human_request", "stop_word": "stop_word"}


def escalation_reason(intents: Iterable[str], *, unknown_item: str | None) -> str | None:
    """Why this message needs a human, if it does. Order = priority."""
    it = set(intents)
    if "legal_threat" in it:  # the most specific reason wins: a stop word only says "a human, now"
        return "legal_threat"
    if "complaint" in it:
        return "complaint"
    if "stop_word" in it:
        return "stop_word"
    if "human_request" in it:
        return "human_request"
    if "order_status" in it:
        return "order_status"
    if unknown_item:
        return "unknown_item"
    return None


def add_to_cart(cart: list[CartLine], sku: str, qty: int) -> list[CartLine]:
    """A new cart with `qty` of `sku` (set, not added: «беру 2» after «беру» means two, not three)."""
    out = [c.model_copy() for c in cart]
    for line in out:
        if line.sku.upper() == sku.upper():
            line.qty = qty
            return out
    out.append(CartLine(sku=sku, qty=qty))
    return out


def clip(text: str, limit: int = 80) -> str:
    """A one-line preview for activity summaries in the Temporal UI."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_SET_QTY = re.compile(r"(?:make\s+it|сделай(?:те)?|пусть\s+будет|to|а)\s+(\d{1,3})\b", re.I)


def set_qty_value(text: str) -> int | None:
    """«make it 3», «пусть будет 2», «не 2, а 3» → the new quantity."""
    m = _SET_QTY.search(text)
    return int(m.group(1)) if m and 0 < int(m.group(1)) <= 999 else None


_ORDINALS = {
    "перв": 0, "втор": 1, "трет": 2, "четвёрт": 3, "четверт": 3, "first": 0, "second": 1, "third": 2, "fourth": 3,
}


def ordinal_choice(text: str) -> int | None:
    """«вторую», "the second one", «последний» → index into the items just listed (-1 = last)."""
    low = text.lower()
    if re.search(r"\b(последн\w*|the\s+last(\s+one)?)\b", low):
        return -1
    for stem, index in _ORDINALS.items():
        if re.search(rf"\b{stem}\w*\b", low) and len(low.split()) <= 5:
            return index
    return None


def asked_skus(a: TurnAnalysis) -> list[str]:
    """What the customer asked about this turn: the items they named, else the best match only (the
    other search hits are the bot's suggestions, not the customer's interest)."""
    return [line.sku for line in a.requested] or [m.sku for m in a.matches[:1]]

