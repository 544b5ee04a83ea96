"""The sales script as pure, deterministic functions: intents, language, stages, CTA and escalation rules.

Workflows and tests import these directly; nothing here does I/O or reads a clock, so the
same message always leads to the same decision on replay.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from workflows.profile import Profile
from workflows.types import CartLine, LeadState, LeadStatus, Stage

# ---- language -----------------------------------------------------------------------------------

_CYR = re.compile(r"[а-яё]", re.I)
_LAT = re.compile(r"[a-z]", re.I)


def detect_language(text: str, previous: str = "ru") -> str:
    """RU or EN by letter counts; messages without letters (a phone number) keep the previous one."""
    cyr, lat = len(_CYR.findall(text)), len(_LAT.findall(text))
    if cyr == 0 and lat == 0:
        return previous
    return "ru" if cyr >= lat else "en"


# ---- intents ------------------------------------------------------------------------------------


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.I)


INTENT_PATTERNS: dict[str, re.Pattern[str]] = {
    "greeting": _rx(r"^\W*(привет|здравств|добр(ый|ое|ого)\s+(день|утро|вечер)|доброго|салют|хай|hi|hello|hey|"
                    r"good\s+(morning|afternoon|evening))\b"),
    "price": _rx(r"сколько\s+(стоит|стоят|будет|за)", r"\bцен[аыуе]?\b", r"\bпоч[её]м\b", r"стоимост",
                 r"\bпрайс", r"how\s+much", r"\bprice", r"\bcost", r"\bquote\b"),
    "availability": _rx(r"\bесть\s+(ли|в\s+наличии)", r"в\s+наличии", r"\bналичи", r"\bесть\b.*\?",
                        r"\bостал(ось|ись)", r"\bavailab", r"in\s+stock", r"do\s+you\s+(have|sell|carry)",
                        r"\bany\b.*\bleft\b"),
    "buy": _rx(r"хочу\s+(купить|заказать|взять)", r"\bкуплю\b", r"\bберу\b", r"\bвозьму\b", r"\bзаказ(ать|ываю)\b",
               r"добав(ь|ьте|ить)\s+в\s+корзин", r"\bв\s+корзину\b", r"\bi('ll|\s+will)\s+take\b", r"\bbuy\b",
               r"\bi\s+want\s+(to\s+(buy|order)|it|this|that|one|two|\d)", r"\badd\s+(it\s+)?to\s+(the\s+)?cart",
               r"\bi('d|\s+would)\s+like\s+to\s+(buy|order)", r"\bpurchase\b"),
    "checkout": _rx(r"оформ(ить|ляем|ляйте|им|и)", r"\bкак\s+заказать", r"\bcheckout\b",
                    r"place\s+(an?\s+|the\s+)?order", r"\bоформление"),
    "browse": _rx(r"\bчто\s+(есть|у\s+вас|посовету|предлож)", r"\bкакие\b.*\b(есть|бывают|у\s+вас)",
                  r"посовет(уй|уйте)", r"\bподбер(и|ите)", r"\bассортимент", r"\bкаталог",
                  r"what\s+do\s+you\s+(have|sell|offer)", r"\brecommend", r"\bsuggest", r"\bcatalog",
                  r"\bwhat\s+\w+\s+do\s+you\s+have"),
    "delivery": _rx(r"\bдостав", r"\bсамовывоз", r"\bкурьер", r"\bпривез", r"\bпришл[её]те\b", r"\bsdek|сдэк|почт",
                    r"\bdeliver", r"\bshipping\b", r"\bship\b", r"\bpick\s*up\b", r"\bcourier"),
    "payment": _rx(r"\bоплат", r"\bкартой\b", r"\bналичны", r"\bрассрочк", r"\bсчёт\b|\bсчет\b",
                   r"\bpay(ment)?\b", r"\bcash\b", r"\binvoice\b", r"\bcredit\s+card"),
    "discount": _rx(r"\bскидк", r"\bдешевле\b", r"\bпромокод", r"\bуступ", r"\bторг", r"\bакци",
                    r"\bdiscount", r"\bcheaper\b", r"\bpromo\s*code", r"\bcoupon", r"\bdeal\b"),
    "objection": _rx(r"\bдорого", r"\bподумаю\b", r"\bне\s+уверен", r"\bсомнева", r"\bу\s+конкурент",
                     r"\bexpensive\b", r"too\s+much", r"think\s+about\s+it", r"\bnot\s+sure\b", r"\bpricey\b"),
    "opt_out": _rx(r"\bотпиш", r"\bне\s+пиш(ите|и)\b", r"\bотстань", r"\bне\s+беспокой", r"\bбольше\s+не\s+пиш",
                   r"^\s*стоп\s*$", r"^\s*stop\s*$", r"\bunsubscribe\b", r"\bstop\s+(messaging|writing|texting)",
                   r"\bdon'?t\s+(message|write|text|contact)\s+me"),
    "thanks": _rx(r"\bспасибо\b", r"\bблагодар", r"\bthanks?\b", r"\bthank\s+you\b", r"\bthx\b"),
    "bye": _rx(r"\bпока\b", r"\bдо\s+свидания\b", r"\bвсего\s+доброго\b", r"\bbye\b", r"\bgoodbye\b"),
    "refuse": _rx(r"\bне\s+надо\b", r"\bне\s+нужно\b", r"\bпередумал", r"\bотмен(а|ите|ить)", r"^\s*нет\b",
                  r"\bno\s+thanks\b", r"^\s*no\b", r"\bcancel\b", r"\bchanged\s+my\s+mind\b", r"\bnot\s+interested"),
    "confirm": _rx(r"^\W*(да|давай(те)?|ок|окей|хорошо|конечно|согласен|согласна|подходит|го|ага|угу|yes|yeah|yep|"
                   r"sure|ok(ay)?|deal|sounds\s+good|let'?s\s+do\s+it|please\s+do)\b"),
    "injection": _rx(r"ignore\s+(all\s+)?(previous|prior|above)", r"игнорир", r"забудь\s+(все|всё|предыдущ)",
                     r"system\s*prompt", r"системн\w*\s+промпт", r"<\s*/?\s*system", r"\bDAN\b", r"jailbreak",
                     r"api[\s_-]*key", r"\bключ\s+api", r"\btoken\b", r"from\s+now\s+on", r"с\s+этого\s+момента",
                     r"теперь\s+(ты|всё|все)", r"you\s+are\s+now", r"developer\s+mode", r"режим\s+разработчика",
                     r"pretend\s+to\s+be", r"притвор", r"role\s*-?\s*play", r"ролев"),
}

BUYING_INTENTS = frozenset({"price", "availability", "buy", "checkout", "browse", "discount"})


def detect_intents(text: str, profile: Profile) -> list[str]:
    """All intents a message carries, in a stable order. Profile phrases add `human_request`/`stop_word`."""
    found = [name for name, rx in INTENT_PATTERNS.items() if rx.search(text)]
    low = text.lower().replace("ё", "е")
    if any(_phrase_in(p, low) for p in profile.escalation_phrases):
        found.append("human_request")
    if any(_phrase_in(w, low) for w in profile.stop_words):
        found.append("stop_word")
    return found


def _phrase_in(phrase: str, low_text: str) -> bool:
    p = phrase.lower().replace("ё", "е").strip()
    if not p:
        return False
    return re.search(rf"(?<!\w){re.escape(p)}", low_text) is not None


# ---- quantities ---------------------------------------------------------------------------------

_NUM_WORDS = {
    "один": 1, "одну": 1, "одна": 1, "два": 2, "две": 2, "пару": 2, "три": 3, "четыре": 4, "пять": 5,
    "шесть": 6, "семь": 7, "восемь": 8, "девять": 9, "десять": 10,
    "one": 1, "two": 2, "couple": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10,
}
_QTY = re.compile(
    r"(?:(\d{1,3})\s*(?:шт|штук|штуки|pcs|pieces|x\b|х\b|×))|(?:(?:^|\s)[x×х]\s*(\d{1,3})\b)"
    r"|(?:\b(?:нужно|нужен|нужна|нужны|надо|беру|возьму|хочу|закажу|дайте|давайте|i\s+need|i'?ll\s+take|"
    r"i\s+want|give\s+me|add|take)\s+(\d{1,3})\b)"
    r"|(?:^\s*(\d{1,3})\s*$)", re.I)
_QTY_WORD = re.compile(r"\b(" + "|".join(_NUM_WORDS) + r")\b\s+(?!человек|person|people|мест)", re.I)


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
    if "stop_word" in it:
        return "stop_word"
    if "human_request" in it:
        return "human_request"
    if unknown_item:
        return "unknown_item"
    return None


def cart_total(cart: Iterable[CartLine], prices: dict[str, Decimal]) -> Decimal:
    return sum((prices.get(line.sku.upper(), Decimal(0)) * line.qty for line in cart), Decimal(0))


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
