"""The strict policy for a model's draft: an allowlist, not a denylist.

The model's own words may carry no facts at all. Every figure, price, stock claim, discount, delivery
or warranty term comes from a slot the catalog or the profile fills. So, with the slots taken out, a
draft may contain no digits, no numbers in words next to money or stock, no currency, no percentages,
no promotions or "free", no scarcity or stock claims, no links, handles or payment details, no names
the catalog and the customer never used, no piece of a secret and no talk about our own machinery.
A draft that breaks a rule is regenerated once and then replaced by the rules reply, so a false alarm
costs a template answer, never a wrong fact.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Sequence
from decimal import Decimal

from catalog.render import find_slots
from catalog.schema import Catalog, Item
from workflows.types import ReplyRequest

MAX_DRAFT_CHARS = 1200
PROFILE_SLOTS = ("delivery", "payment", "hours", "warranty", "returns")

_SLOT = re.compile(r"\{[^{}]*\}")
_DIGIT = re.compile(r"\d")
_CURRENCY = re.compile(
    r"[₽$€£¥₸₴₺₹¢]|\b(руб\w*|р\.|коп\w*|тенге|юан\w*|гривн\w*|долл\w*|бакс\w*|евро|фунт\w*|иен\w*|"
    r"rub\w*|usd|eur|gbp|cny|kzt|dollars?|bucks?|euros?|pounds?|yen|yuan|cents?|quid)\b", re.I)
_MAGNITUDE = re.compile(r"\b(тысяч\w*|тыс|сот(ен|ня|ни)|сто|двести|триста|четыреста|пятьсот|шестьсот|семьсот|"
                        r"восемьсот|девятьсот|миллион\w*|млн|hundred|thousand|million|grand)\b", re.I)
_NUMBER_WORD = (r"(один|одна|одну|одного|два|две|двух|три|трёх|трех|четыре|пять|шесть|семь|восемь|девять|десять|"
                r"\w+надцать|двадцать|тридцать|сорок|пятьдесят|шестьдесят|семьдесят|восемьдесят|девяносто|"
                r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w+teen|twenty|thirty|forty|"
                r"fifty|sixty|seventy|eighty|ninety|half|пол|половин\w*|полцены)")
_FACT_WORDS = (r"(стои\w*|цен\w*|руб\w*|остал\w*|наличи\w*|штук\w*|шт|скидк\w*|процент\w*|price\w*|cost\w*|left|"
               r"stock|pieces?|percent|off|discount\w*)")
_NUMBER_NEAR_FACT = re.compile(rf"\b{_NUMBER_WORD}\b\W+(\w+\W+){{0,2}}{_FACT_WORDS}\b|"
                               rf"\b{_FACT_WORDS}\b\W+(\w+\W+){{0,2}}{_NUMBER_WORD}\b", re.I)
_NUMBER_RUN = re.compile(rf"\b{_NUMBER_WORD}\b[\s-]+{_NUMBER_WORD}\b", re.I)  # «nine ninety-nine»
_PERCENT = re.compile(r"%|\bпроцент\w*|\bpercent\w*", re.I)
_PROMO = re.compile(r"\b(скидк\w*|акци\w*|распродаж\w*|промокод\w*|бесплатн\w*|даром|в\s+подарок|подарим|кэшб[эе]к|"
                    r"discount\w*|sale|promo\w*|free|gratis|gift|cashback|coupon\w*|bogo|half\s+price|"
                    r"buy\s+\w+\s+get|вторая\s+в\s+подарок|второй\s+в\s+подарок)\b", re.I)
_STOCK = re.compile(r"\b(остал\w*|последн\w*|экземпляр\w*|наличи\w*|на\s+складе|распродан\w*|раскупа\w*|дефицит\w*|"
                    r"in\s+stock|out\s+of\s+stock|left|sold\s+out|last\s+(one|piece|item)|limited|hurry|"
                    r"selling\s+fast|available)\b", re.I)
_TERMS = re.compile(r"\b(гаранти\w*|warrant\w*|guarantee\w*|возврат\w*|refund\w*|доставим|привез[её]м|отправим|"
                    r"deliver\w*\s+(it\s+)?(today|tomorrow|tonight)|ship\w*\s+(it\s+)?(today|tomorrow))\b", re.I)
_LINK = re.compile(r"https?://|www\.|\b[\w-]+\.(ru|com|net|org|io|me|рф|shop|store|link|xyz)\b|t\.me/|"
                   r"@[A-Za-z_]\w{2,}|\b\S+@\S+\.\w+|<\s*/?\s*[a-z][^>]*>|\]\(|\bbit\.ly", re.I)
_INTERNALS = re.compile(r"\b(slots?|слот\w*|FACTS|customer_message|system\s*prompt|промпт\w*|prompt\w*|"
                        r"инструкци\w*|instructions?|SKU|guard|токен\w*|token\w*|api\s*key|ключ\w*\s+api|"
                        r"мне\s+(велели|сказали|написали|поручили)|владел\w*\s+(велел|написал|сказал|просил)\w*|"
                        r"мои\s+правила|в\s+настройках|i\s+was\s+(told|instructed|asked)|my\s+(rules|guidelines|"
                        r"configuration|settings)|the\s+owner\s+(told|asked|wants))\b", re.I)
_PROPER = re.compile(r"(?<![.!?…:]\s)(?<!^)\b([A-ZА-ЯЁ][\w-]*(?:\s+[A-ZА-ЯЁ0-9][\w-]*)*)")
_WORDS = re.compile(r"[A-Za-zА-Яа-яЁё]+")
_B64 = re.compile(r"[A-Za-z0-9+/=_-]{16,}")


def normalize(text: str) -> str:
    """NFKC (fullwidth braces and digits become plain ones) without zero-width characters."""
    return re.sub(r"[\u200b-\u200f\u2060\ufeff\u00ad]", "", unicodedata.normalize("NFKC", text or ""))


def fill_profile_slots(text: str, req: ReplyRequest) -> str:
    """{delivery}, {payment}, {hours}, {warranty}, {returns}: the profile's own words (or a check-back)."""
    def sub(m: re.Match[str]) -> str:
        info = req.profile.info(m.group(1), req.language)
        if info:
            return info
        return "уточню у менеджера" if req.language != "en" else "let me check with a manager"
    return re.sub(r"\{\s*(" + "|".join(PROFILE_SLOTS) + r")\s*\}", sub, text, flags=re.I)


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-zа-яё]", "", text.lower())


def _secret_pieces(text: str, secrets: Sequence[str]) -> bool:
    """Any 8-character piece of a secret, with separators removed, forwards, backwards or encoded."""
    flat = _squash(text)
    decoded = ""
    for token in _B64.findall(text):
        for decode in (base64.b64decode, base64.urlsafe_b64decode, binascii.unhexlify):
            try:
                decoded += _squash(decode(token + "=" * (-len(token) % 4)).decode("utf-8", "ignore"))
            except (binascii.Error, ValueError):
                continue
    haystacks = (flat, flat[::-1], decoded)
    for secret in secrets:
        s = _squash(secret)
        if len(s) < 8:
            continue
        for i in range(len(s) - 7):
            piece = s[i:i + 8]
            if any(piece in h for h in haystacks):
                return True
    return False


def _known_words(req: ReplyRequest, catalog: Catalog) -> set[str]:
    words: set[str] = set()
    texts = [req.text, req.summary, req.profile.shop_name, req.profile.system_prompt, *req.profile.ctas("ru"),
             *req.profile.ctas("en"), *(e.text for e in req.history),
             *(req.profile.info(t, lang) for t in PROFILE_SLOTS for lang in ("ru", "en"))]
    for f in [*req.matches, *req.alternatives, *req.cart_facts]:
        texts += [f.name, f.category, f.description]
    for t in texts:
        words.update(w.lower() for w in _WORDS.findall(t or ""))
    return words | catalog.memo("draft_words", lambda: {
        w.lower() for item in catalog.items for t in (item.name, item.category, *item.aliases)
        for w in _WORDS.findall(t or "")})


def _slot_order(draft: str, catalog: Catalog) -> list[str]:
    """{price:X}/{stock:X} must follow X's own name; an order line must fit the stock."""
    problems: list[str] = []
    last_name: str | None = None
    for slot in find_slots(draft):
        kind, sku = slot.kind, (slot.sku or "").upper()
        if kind == "name":
            last_name = sku
        elif kind in ("price", "stock") and last_name is not None and sku != last_name:
            problems.append(f"slot_for_other_item:{sku}")
        elif kind == "line":
            item = catalog.get(sku)
            qty = getattr(slot, "qty", None) or 0
            if item is not None and (item.stock <= 0 or qty > item.stock):
                problems.append(f"line_over_stock:{sku}")
    return problems


_NUM = re.compile(r"(?<![\w.,])(\d{1,3}(?:[ \u00a0]\d{3})+|\d+)(?:[.,](\d+))?(?![\w])")
_MONEY_AFTER = re.compile(r"^\s?(₽|\$|€|£|руб\w*|р\.|rub\w*|usd|eur\w*|dollars?)", re.I)
_MONEY_BEFORE = re.compile(r"(₽|\$|€|£|rub|usd|eur)\s?$", re.I)


def _value(m: re.Match[str]) -> Decimal:
    whole = m.group(1).replace(" ", "").replace("\u00a0", "")
    return Decimal(f"{whole}.{m.group(2)}" if m.group(2) else whole)


def _item_money(item: Item) -> tuple[set[Decimal], set[Decimal]]:
    money = {item.price, item.effective_price}
    percents: set[Decimal] = set()
    if item.promo_price is not None and item.promo_price < item.price:
        money.add(item.price - item.promo_price)
        percents.add(((item.price - item.promo_price) * 100 / item.price).quantize(Decimal(1)))
    return money, percents


def _backing(req: ReplyRequest, catalog: Catalog, draft: str) -> tuple[set[Decimal], set[Decimal], bool]:
    """Cart money (lines, total), other numbers the catalog/profile texts contain, and whether a promo is in play."""
    skus = {f.sku.upper() for f in [*req.matches, *req.alternatives, *req.cart_facts]}
    skus |= {slot.sku.upper() for slot in find_slots(draft) if slot.sku} | {c.sku.upper() for c in req.cart}
    items = [i for sku in skus if (i := catalog.get(sku)) is not None]
    cart_money: set[Decimal] = set()
    total = Decimal(0)
    for line in req.cart:
        item = catalog.get(line.sku)
        if item is not None:
            cart_money.add(item.effective_price * line.qty)
            total += item.effective_price * line.qty
    if total:
        cart_money.add(total)
    texts = [req.profile.info(t, lang) for t in PROFILE_SLOTS for lang in ("ru", "en")]
    for item in items:
        texts += [item.name, item.description, *item.aliases]
    numbers = {_value(m) for t in texts for m in _NUM.finditer(normalize(t or ""))}
    promo = any(i.promo_price is not None and i.promo_price < i.price for i in items)
    return cart_money, numbers, promo


_NAME_MARK = re.compile(r"\{\s*name\s*:\s*([^{}:\s]+)\s*\}", re.I)


def _figures(text: str, req: ReplyRequest, catalog: Catalog) -> tuple[str, list[str], bool]:
    """Every number in the model's words must be backed, and money by the item named just before it.

    «{name:A} стоит 12 990 ₽» passes only if 12 990 is A's price (or promo price, or its promo saving);
    a percentage must be A's promotion; with no item named before it, only cart lines and totals count.
    Returns the prose (slots and backed figures blanked), the problems, and whether a promo is in play.
    """
    cart_money, numbers, promo = _backing(req, catalog, text)
    named_skus: list[str] = []

    def mark(m: re.Match[str]) -> str:  # a digit-free marker that remembers which item was named here
        named_skus.append(m.group(1))
        return f"\u27e6{_letters(len(named_skus) - 1)}\u27e7"

    prose = _SLOT.sub(" ", _NAME_MARK.sub(mark, text))
    problems: list[str] = []
    out = prose
    for m in reversed(list(_NUM.finditer(prose))):
        value = _value(m)
        named = re.findall(r"\u27e6([a-z]+)\u27e7", prose[:m.start()])
        item = catalog.get(named_skus[_index(named[-1])]) if named else _named_in_words(prose[:m.start()], req,
                                                                                          catalog)
        money, percents = _item_money(item) if item is not None else (set(), set())
        after, before = prose[m.end():m.end() + 6], prose[max(0, m.start() - 4):m.start()]
        money_after, money_before = _MONEY_AFTER.search(after), _MONEY_BEFORE.search(before)
        if money_after or money_before:
            ok = value > 0 and value in money | cart_money
            end = m.end() + (money_after.end() if money_after else 0)
            start = m.start() - (len(money_before.group(0)) if money_before else 0)
        elif after.lstrip().startswith("%"):
            ok = any(abs(value - p) <= 1 for p in percents)
            start, end = m.start(), m.end() + after.index("%") + 1
        else:
            ok = value in numbers
            start, end = m.start(), m.end()
        if not ok:
            problems.append(f"figure:{m.group(0)}")
        else:
            out = out[:start] + " " + out[end:]
    return re.sub(r"\u27e6[a-z]+\u27e7", " ", out), problems, promo


def _named_in_words(before: str, req: ReplyRequest, catalog: Catalog) -> Item | None:
    """The item in play whose name or alias the model wrote out last before a figure (without a slot)."""
    low = before.lower()
    best: tuple[int, Item] | None = None
    for f in [*req.matches, *req.alternatives, *req.cart_facts]:
        item = catalog.get(f.sku)
        if item is None:
            continue
        for name in (item.name, *item.aliases):
            pos = low.rfind(name.lower())
            if pos >= 0 and (best is None or pos > best[0]):
                best = (pos, item)
    return best[1] if best else None


def _letters(i: int) -> str:
    return "".join(chr(ord("a") + int(d)) for d in str(i))


def _index(code: str) -> int:
    return int("".join(str(ord(c) - ord("a")) for c in code))


def check_draft(draft: str, req: ReplyRequest, catalog: Catalog, secrets: Sequence[str]) -> list[str]:
    """Problems of a model draft (empty list = the draft may be rendered and go on to the guard)."""
    text = normalize(draft)
    if len(text) > MAX_DRAFT_CHARS:
        return ["too_long"]
    problems = _slot_order(text, catalog)
    prose, figure_problems, promo = _figures(text, req, catalog)
    problems += figure_problems
    profile_words = " ".join(req.profile.info(t, lang) for t in PROFILE_SLOTS for lang in ("ru", "en")).lower()
    checks = (("figure", _DIGIT), ("currency", _CURRENCY), ("amount_in_words", _MAGNITUDE),
              ("number_near_fact", _NUMBER_NEAR_FACT), ("amount_in_words", _NUMBER_RUN), ("percent", _PERCENT),
              ("promotion", _PROMO),
              ("stock_claim", _STOCK), ("terms_promise", _TERMS), ("link_or_contact", _LINK),
              ("internals", _INTERNALS))
    for name, rx in checks:
        for m in rx.finditer(prose):
            word = m.group(0).lower()
            phrase = " ".join([*_WORDS.findall(prose[max(0, m.start() - 30):m.start()].lower())[-1:], word])
            real_promo = promo and not re.search(r"бесплат|free|подар|gift", word)
            if name == "promotion" and (real_promo or phrase in profile_words):
                continue  # a real promotion of an item in play, or the profile's own words («самовывоз бесплатно»)
            problems.append(f"{name}:{m.group(0)[:30]}")
            break
    if "{" in prose or "}" in prose:
        problems.append("broken_slot")
    if _secret_pieces(text, secrets):
        problems.append("secret_leak")
    known = _known_words(req, catalog)
    for m in _PROPER.finditer(prose):
        words = [w.lower() for w in _WORDS.findall(m.group(1))]
        if words and not all(w in known for w in words):
            problems.append(f"unknown_name:{m.group(1)[:30]}")
            break
    cyr = len(re.findall(r"[а-яё]", prose, re.I))
    lat = len(re.findall(r"[a-z]", prose, re.I))
    if (req.language == "en" and cyr > lat) or (req.language == "ru" and lat > 2 * cyr + 10):
        problems.append("wrong_language")
    return problems
