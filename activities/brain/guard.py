"""The facts guard: no invented price, stock, discount or item, no leaked secret or prompt, a next step.

It checks the RENDERED text, so a figure the model typed as digits is held to the same standard as
one a slot wrote. A figure is "backed" when the catalog says so for this conversation: the price,
promo price or promo saving of an item in context (named by slot or name, matched, offered or in the
cart), a cart line's qty × price, or the cart total. Zero is never backed.

Numbers that are not facts must not trip it — a failed check replaces a good reply with a template —
so only numbers with a currency, after a price word, in a stock phrase or in a discount are checked;
phones, dates, times, order numbers and "2–5 дней"-style ranges with units are masked first.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation

from rapidfuzz import fuzz, process

from activities.brain.prompt import SYSTEM_PROMPT_FIXED
from catalog.render import cart_total, render_slots
from catalog.schema import Catalog, Item
from workflows.types import GuardVerdict, ReplyRequest

PRICE_WORD_MIN = Decimal(50)  # below this a bare number after "за"/"for" is days, people, pieces
LEAK_WINDOW_WORDS = 6
SECRET_WINDOW = 16
_BLANK = "·"

_I = re.IGNORECASE
NUM = r"(?<![\w.,])(?:\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d+)*)(?!\d)"
_NUM_RE = re.compile(NUM)
_MULT = r"(?P<mult>\s*(?:тысяч[аи]?|тыс\.?|thousand|k\b|к\b))?"
_CUR_AFTER = (r"(?:₽|руб(?:л(?:ей|я|ь|и|ям))?\.?|р\.|р\b|rub(?:les?)?\b\.?|roubles?\b|\$|€|usd\b|"
              r"eur(?:os?)?\b|dollars?\b|долл(?:ар(?:ов|а|ы)?)?\.?|евро\b|у\.\s?е\.)")
_RANGE = r"(?:\s*(?:[-–—/]|до|to|or|или)\s*" + NUM + r")*"
_MONEY_AFTER_RE = re.compile(r"(?P<nums>" + NUM + _RANGE + r")" + _MULT + r"\s?" + _CUR_AFTER, _I)
_MONEY_BEFORE_RE = re.compile(r"(?:[$€₽]|\b(?:rub|usd|eur)\b\.?)\s?(?P<nums>" + NUM
                              + r"(?:\s*(?:[-–—]|to)\s*[$€]?" + NUM + r")*)" + _MULT, _I)
_PERCENT_RE = re.compile(r"(?P<minus>[-−–]\s?)?(?P<num>" + NUM + r")\s?(?:%|процент\w*|percent\b|pct\b)", _I)
_DISCOUNT_WORDS_RE = re.compile(r"скидк|дешевле|акци|распродаж|промо|выгод|эконом|минус|снижен|"
                                r"\boff\b|discount|sale\b|promo|save|cheaper|reduced", _I)
_DISCOUNT_PROMISE_RE = re.compile(
    r"(?:сдела\w*|дам|дадим|дать|предостав\w*|могу|можем)\s+(?:вам\s+|для\s+вас\s+)?(?:\w+\s+)?скидк"
    r"|(?:give|offer|get|make)\s+(?:you\s+)?(?:an?\s+)?(?:\w+\s+)?discount", _I)
_STOCK_BEFORE_RE = re.compile(
    r"(?:осталось|остались|остался|осталась|в\s+наличии|на\s+складе|доступно|in\s+stock|stock|available)"
    r"\s*:?\s*(?:всего\s+|лишь\s+|только\s+|just\s+|only\s+)?(?P<num>" + NUM + r")"
    r"(?=\s*(?:(?:шт|штук\w*|pcs|pieces|units?|items?)\b|[^\w\s]|$))", _I)
_STOCK_AFTER_RE = re.compile(
    r"(?P<num>" + NUM + r")\s*(?:шт\b\.?|штук\w*|pcs\b\.?|pieces|units?\b|items?\b)?\s*"
    r"(?:в\s+наличии|на\s+складе|in\s+stock|left\b|available|осталось|остал\w*)", _I)
_PRICE_WORD_RE = re.compile(r"(?:цен\w*|стои\w*|стоят|обойд\w*|\bза\b|итого|сумм\w*|"
                            r"\bprice\w*|\bcosts?\b|\bfor\b|\btotal\b|\bpay\b)", _I)
_UNIT_AFTER_RE = re.compile(
    r"\s*(?:%|шт|штук|pcs|piece|дн|день|дня|сут|час|ч\b|мин|сек|нед|мес|год|лет|г\.|day|hour|h\b|min|"
    r"week|month|year|км|km|кг|kg|г\b|g\b|гр|м\b|m\b|см|cm|мм|mm|л\b|l\b|мл|ml|вт|w\b|мач|mah|гб|gb|тб|tb|"
    r"человек|чел|person|people|раз|time|отзыв|review|звезд|star|мест|seat|цвет|colou?r|размер|size|"
    r"модел|model|вариант|option|x\b|х\b|×)", _I)
_MASKS = [re.compile(p, _I) for p in (
    r"https?://\S+|www\.\S+|\S+@\S+\.\w+",  # links and e-mails
    r"(?<!\d)(?:\+?\d{1,3}[\s\-]?)?\(?\d{3}\)?[\s\-]?\d{3}[\s\-]?\d{2}[\s\-]?\d{2}(?!\d)",  # phones
    r"(?<!\d)\+?\d{10,15}(?!\d)",
    r"\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b|\b\d{4}-\d{2}-\d{2}\b",  # dates
    r"\b\d{1,2}:\d{2}\b",  # times
    r"(?:№|#|no\.)\s?\d+|\b24/7\b",  # order numbers, "24/7"
    NUM + r"\s*[-–—]\s*" + NUM + r"(?=\s*[^\W\d_])",  # "2–5 дней", "3-4 days"
)]
_BUDGET_RE = re.compile(r"бюджет|в\s+пределах|не\s+дороже|budget|within|up\s+to", _I)
_SENTENCE_END_RE = re.compile(r"[.!?\n](?=\s|$)")

_SECRET_PATTERNS = re.compile(
    r"\bsk-[A-Za-z0-9_\-]{16,}|\bghp_[A-Za-z0-9]{20,}|\bgithub_pat_\w{20,}|\bxox[abposr]-[\w-]{10,}"
    r"|\bAKIA[0-9A-Z]{16}\b|\b\d{8,10}:[A-Za-z0-9_\-]{35}\b|\bBearer\s+[\w\-.]{16,}")

_QUOTED_RE = re.compile(r"«([^«»\n]{2,60})»|\"([^\"\n]{2,60})\"|“([^“”\n]{2,60})”|„([^“”\n]{2,60})[“”]")
_ALNUM_RE = re.compile(r"(?<![\w-])(?=[^\W_]*\d)(?=[^\W_]*[^\W\d_])[^\W_]{2,}(?:-[^\W_]+)*")
_LATIN_MODEL_RE = re.compile(r"\b([A-Za-z]*[A-Z][A-Za-z]+)\s+(\d{2,}[A-Za-z]*)\b(?!\s*[%$€₽])")
_PREV_WORD_RE = re.compile(r"([A-Za-zА-Яа-яЁё][\w-]*)\s+$")
_UNIT_TOKEN_RE = re.compile(
    r"^(?:\d+(?:[.,]\d+)?(?:kg|g|gr|l|ml|mm|cm|m|km|h|min|d|am|pm|st|nd|rd|th|x|pcs|w|kw|mah|gb|tb|mb|mp|"
    r"k|р|кг|г|гр|л|мл|мм|см|м|км|ч|мин|шт|х|д|дн|вт|гб|тб|мп|к|й|я|е|го|ми|м²|м³|s|xl|xs)"
    r"|[xх×]\d|\d?x{1,3}[ls]|[a-z]\d|\d+(?:[.,]\d+)?(?:[xх×*]\d+(?:[.,]\d+)?){1,2}[^\W\d_]{0,3})$", _I)
_COMMON_CAPITALISED = {
    "since", "from", "until", "only", "just", "call", "order", "total", "price", "about", "over", "under",
    "after", "before", "within", "around", "room", "page", "step", "day", "week", "year", "version", "top",
    "the", "and", "for", "with", "item", "size", "model", "january", "february", "march", "april", "may",
    "june", "july", "august", "september", "october", "november", "december", "mon", "tue", "wed", "thu",
    "fri", "sat", "sun", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
_ITEM_NOUNS = {"модел", "товар", "бренд", "марк", "model", "product", "brand", "item",
               "рекоменд", "совет", "recommend", "suggest"}

_CTA_RE = re.compile(
    r"оформ|заказ|закаж|оставьте|оставите|напишите|выбер|выбира|добав|корзин|оплат|перезвон|позвон|свяж|"
    r"подтверд|брон|хотите|желаете|\border\b|shall i|should i|would you like|do you want|let me know|"
    r"\breply\b|tell me|\bcart\b|checkout|check out|\bbook\b|\bcall\b|\bpay\b|\bchoose\b|\bpick\b|"
    r"leave (?:a|your)|send (?:me|us)", _I)
_TRAILING_RE = re.compile(r"[\s)\]»\"'.…!\u2600-\u27bf\U0001f000-\U0001faff\ufe0f]+$")
_DEFAULT_CTA = {"ru": "Оформим заказ?", "en": "Shall I place the order?"}


def check_reply(draft_text: str, req: ReplyRequest, catalog: Catalog, secrets: Sequence[str],
                system_prompt: str) -> GuardVerdict:
    """Render the draft's slots and verify every fact in the result; add a next step if it lacks one.

    `system_prompt` is the profile's own prompt; the fixed prompt is always checked as well. On
    failure `text` is empty, so a caller cannot send an unchecked reply by mistake.
    """
    lang = "en" if req.language == "en" else "ru"
    rendered = render_slots(draft_text, catalog, req.cart, lang)
    text = rendered.text
    problems = list(rendered.problems)
    problems += _secret_problems(draft_text + "\n" + text, secrets)
    problems += _prompt_problems(text, (SYSTEM_PROMPT_FIXED, system_prompt))

    index = _index(catalog)
    scan, named = _mask_catalog_names(text, index)
    context = _context_items(req, catalog, [*rendered.skus, *named], index, text)
    customer = "\n".join([req.text, *(e.text for e in req.history if e.role == "customer")])

    backed = _backed_amounts(req, catalog, context, rendered.amounts)

    scan, found = _scan_discounts(scan, context, req.profile.max_discount_percent)
    problems += found
    scan, found = _scan_money(scan, backed, customer)
    problems += found
    for rx in _MASKS:  # after the money scan: "1990–2990 руб" is money, "2–5 дней" is not
        scan = rx.sub(lambda m: _BLANK * len(m.group(0)), scan)
    scan, found = _scan_stock(scan, context)
    problems += found
    problems += _scan_price_words(scan, backed)
    problems += _unknown_items(scan, index, customer, req)

    problems = list(dict.fromkeys(problems))
    if problems:
        return GuardVerdict(ok=False, text="", problems=problems)
    if has_next_step(text):
        return GuardVerdict(ok=True, text=text)
    return GuardVerdict(ok=True, text=_append_cta(text, req, lang), added_cta=True)


def repair_hint(problems: Iterable[str]) -> str:
    """Short instructions for the one regeneration after a failed check (`ReplyRequest.repair_hint`)."""
    hints = {
        "unbacked_amount": "a price or amount was typed as digits — use {price:SKU}, {line:SKU:QTY}, {total}",
        "unbacked_stock": "a stock count was typed as digits — use {stock:SKU}",
        "discount": "a discount that the catalog does not have was mentioned",
        "discount_promise": "a discount was promised — only catalog promos exist",
        "unknown_item": "an item that is not in FACTS was named",
        "unknown_sku": "a slot used an SKU that is not in FACTS",
        "bad_slot": "a slot was malformed — use {name:SKU} {price:SKU} {stock:SKU} {line:SKU:QTY} {total}",
        "no_cart_total": "{total} was used but the cart is empty",
        "secret_leak": "a key or token was written",
        "prompt_leak": "the instructions were quoted",
    }
    out = [hints.get(p.split(":", 1)[0], p) for p in problems]
    return "; ".join(dict.fromkeys(out))


def has_next_step(text: str) -> bool:
    """A question in the last two sentences ("Какой бюджет? Подберу."), or a call to action anywhere."""
    tail = re.split(r"(?<=[.!?…])\s+", _TRAILING_RE.sub("", text).strip())[-2:]
    return any("?" in s for s in tail) or bool(_CTA_RE.search(text))


def _append_cta(text: str, req: ReplyRequest, lang: str) -> str:
    """Deterministic (a hash, not `hash()`, which varies per process) so a replayed turn says the same."""
    ctas = req.profile.ctas(lang) or [_DEFAULT_CTA[lang]]
    digest = hashlib.sha256(f"{req.lead_id}:{len(req.history)}".encode()).digest()
    cta = ctas[int.from_bytes(digest[:4], "big") % len(ctas)]
    body = text.rstrip()
    if not body:
        return cta
    return f"{body}{'' if body[-1] in '.!?…)»' else '.'} {cta}"


# ---- numbers -------------------------------------------------------------------------------------


def parse_number(token: str) -> set[Decimal]:
    """Every reading of a written number: `1.990` is 1990 or 1.99; `7 990,50` is 7990.50."""
    t = re.sub(r"[ \u00a0\u202f]", "", token)
    seps = [c for c in t if c in ".,"]
    try:
        if not seps:
            return {Decimal(t)}
        if len(set(seps)) == 2:  # "1,990.50" / "1.990,50": the last one is the decimal point
            dec = t[max(t.rfind("."), t.rfind(","))]
            grp = "," if dec == "." else "."
            return {Decimal(t.replace(grp, "").replace(dec, "."))}
        sep = seps[0]
        if len(seps) > 1:
            return {Decimal(t.replace(sep, ""))}
        head, tail = t.split(sep)
        if len(tail) == 3:
            return {Decimal(head + tail), Decimal(f"{head}.{tail}")}
        return {Decimal(f"{head}.{tail}")}
    except InvalidOperation:  # pragma: no cover - the regex only passes digits and separators
        return set()


def _label(values: set[Decimal]) -> str:
    v = max(values)
    return str(int(v)) if v == v.to_integral_value() else str(v.normalize())


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + _BLANK * (end - start) + text[end:]


def _sentence(text: str, start: int, end: int) -> str:
    left = max((m.end() for m in _SENTENCE_END_RE.finditer(text, 0, start)), default=0)
    right = _SENTENCE_END_RE.search(text, end)
    return text[left:right.start() if right else len(text)]


# ---- what is backed ------------------------------------------------------------------------------


class _Index:
    """Per-catalog lookup data, built once per catalog object (catalogs are immutable)."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.terms: list[tuple[str, Item]] = []  # lowercase name/alias/sku → item, longest first
        for item in catalog.items:
            for term in (item.name, *item.aliases, item.sku):
                if len(term.strip()) >= 3:
                    self.terms.append((term.strip().lower(), item))
        self.terms.sort(key=lambda t: -len(t[0]))
        self.normalised = [_norm(t) for t, _ in self.terms]
        # Inverted index of word stems, so inflected names ("палатку Trek 2") are found in O(words).
        self.by_stem: dict[str, list[tuple[frozenset[str], Item]]] = {}
        for term, item in self.terms:
            stems = _stems(term)
            if stems:
                self.by_stem.setdefault(min(stems), []).append((stems, item))
        self.nouns = set(_ITEM_NOUNS)
        for item in catalog.items:
            for word in (item.name.split()[:1] + item.category.split()[:1]):
                if len(word) >= 4:
                    self.nouns.add(word.lower().replace("ё", "е")[:5])


def _index(catalog: Catalog) -> _Index:
    return catalog.memo("guard_index", lambda: _Index(catalog))


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower().replace("ё", "е"))


def _stems(text: str) -> frozenset[str]:
    """Words cut to four letters (a crude stem that survives Russian case endings); tokens with digits
    stay whole, since "Model1890" and "Model1990" are different items."""
    words = re.findall(r"[^\W_]+", text.lower().replace("ё", "е"))
    return frozenset(w if len(w) < 4 or any(c.isdigit() for c in w) else w[:4] for w in words)


def _digits(text: str) -> list[str]:
    return re.findall(r"\d+", text)


def _mask_catalog_names(text: str, index: _Index) -> tuple[str, list[str]]:
    """Blank catalog names/aliases/SKUs (their digits are not claims) and report which items appear."""
    low = text.lower()
    if len(low) != len(text):  # pragma: no cover - exotic case folding; skip masking, never misalign
        return text, []
    named: list[str] = []
    for term, item in index.terms:
        start = low.find(term)
        while start >= 0:
            end = start + len(term)
            if (start == 0 or not low[start - 1].isalnum()) and (end == len(low) or not low[end].isalnum()):
                text = _blank(text, start, end)
                low = _blank(low, start, end)
                named.append(item.sku)
            start = low.find(term, end)
    return text, named


def _context_items(req: ReplyRequest, catalog: Catalog, skus: list[str], index: _Index,
                   text: str) -> list[Item]:
    """Items whose figures this reply may state: named, matched, offered, in the cart."""
    wanted = [*skus, *(f.sku for f in (*req.matches, *req.alternatives, *req.cart_facts)),
              *(line.sku for line in req.cart)]
    said = _stems(text)
    for stem in said:
        wanted += [item.sku for stems, item in index.by_stem.get(stem, ()) if stems <= said]
    items: dict[str, Item] = {}
    for sku in wanted:
        item = catalog.get(sku)
        if item is not None:
            items[item.sku] = item
    return list(items.values())


def _backed_amounts(req: ReplyRequest, catalog: Catalog, context: list[Item],
                    rendered: list[Decimal]) -> set[Decimal]:
    backed: set[Decimal] = set(rendered)
    for item in context:
        backed.add(item.price)
        if item.promo_price is not None:
            backed.update({item.promo_price, item.price - item.promo_price})
    for line in req.cart:
        item = catalog.get(line.sku)
        if item is not None:
            backed.update({item.price * line.qty, item.effective_price * line.qty})
    total = cart_total(req.cart, catalog)
    if req.cart and total is not None:
        backed.add(total[0])
        backed.add(sum((i.price * line.qty for line in req.cart if (i := catalog.get(line.sku))), Decimal(0)))
    p = req.profile  # the shop's own terms may name amounts ("доставка 300 ₽")
    texts = [p.info(topic, lang) for topic in ("delivery", "payment", "hours", "warranty", "returns")
             for lang in ("ru", "en")]
    # and so may the catalog's own description of an item the reply names ("длинные волосы +1500 ₽")
    texts += [item.description for item in context if item.description]
    for info in texts:
        for rx in (_MONEY_AFTER_RE, _MONEY_BEFORE_RE):
            backed.update(v for m in rx.finditer(info) for n in _NUM_RE.finditer(m.group("nums"))
                          for v in parse_number(n.group(0)))
    backed.discard(Decimal(0))
    return backed


# ---- checks --------------------------------------------------------------------------------------


def _scan_money(scan: str, backed: set[Decimal], customer: str) -> tuple[str, list[str]]:
    """Amounts with a currency sign or word; the customer's own budget may be repeated back."""
    problems: list[str] = []
    customer_values = {v for m in _NUM_RE.finditer(customer) for v in parse_number(m.group(0))}
    for rx in (_MONEY_AFTER_RE, _MONEY_BEFORE_RE):
        for m in list(rx.finditer(scan)):
            mult = Decimal(1000) if m.group("mult") else Decimal(1)
            budget = bool(_BUDGET_RE.search(scan[max(0, m.start() - 25):m.start()]))
            for n in _NUM_RE.finditer(m.group("nums")):
                values = {v * mult for v in parse_number(n.group(0))}
                if values & backed or (budget and values & customer_values):
                    continue
                problems.append(f"unbacked_amount:{_label(values)}")
            scan = _blank(scan, m.start(), m.end())
    return scan, problems


def _scan_discounts(scan: str, context: list[Item], allowance: float) -> tuple[str, list[str]]:
    """A discount % must be a catalog promo of an item in context, or within the profile's allowance."""
    problems: list[str] = []
    promos = [(i.price - i.promo_price) / i.price * 100 for i in context
              if i.promo_price is not None and 0 < i.promo_price < i.price]
    for m in list(_PERCENT_RE.finditer(scan)):
        sentence = _sentence(scan, m.start(), m.end())
        if m.group("minus") or _DISCOUNT_WORDS_RE.search(sentence):
            values = parse_number(m.group("num"))
            ok = any(abs(v - p) <= 1 for v in values for p in promos) or any(
                0 < v <= Decimal(str(allowance)) for v in values)
            if not ok:
                problems.append(f"discount:{_label(values)}%")
        scan = _blank(scan, m.start(), m.end())
    if allowance <= 0 and not promos and _DISCOUNT_PROMISE_RE.search(scan):
        problems.append("discount_promise")
    return scan, problems


def _scan_stock(scan: str, context: list[Item]) -> tuple[str, list[str]]:
    problems: list[str] = []
    stocks = {Decimal(i.stock) for i in context}
    for rx in (_STOCK_BEFORE_RE, _STOCK_AFTER_RE):
        for m in list(rx.finditer(scan)):
            values = parse_number(m.group("num"))
            if not values & stocks:
                problems.append(f"unbacked_stock:{_label(values)}")
            scan = _blank(scan, m.start("num"), m.end("num"))
    return scan, problems


def _scan_price_words(scan: str, backed: set[Decimal]) -> list[str]:
    """Bare numbers ≥ 50 shortly after a price word ("стоит 1990", "for 4990"), units excepted."""
    problems: list[str] = []
    for m in _NUM_RE.finditer(scan):
        values = parse_number(m.group(0))
        if max(values) < PRICE_WORD_MIN or _UNIT_AFTER_RE.match(scan, m.end()):
            continue
        if scan[m.end():m.end() + 1].isalpha():
            continue
        before = scan[max(0, m.start() - 30):m.start()]
        before = _SENTENCE_END_RE.split(before)[-1]
        if _PRICE_WORD_RE.search(before) and not values & backed:
            problems.append(f"unbacked_amount:{_label(values)}")
    return problems


def _known_term(candidate: str, index: _Index) -> bool:
    """Close to a catalog name/alias/SKU with exactly the same numbers (X200 is not X300)."""
    norm = _norm(candidate)
    if not norm or not index.normalised:
        return False
    digits = set(_digits(candidate))
    close = process.extract(norm, index.normalised, scorer=fuzz.partial_ratio, score_cutoff=80, limit=20)
    return any(digits <= set(_digits(index.terms[i][0])) for _, _, i in close)


def _said_by_customer(candidate: str, customer: str) -> bool:
    norm, said = _norm(candidate), _norm(customer)
    return bool(norm) and (norm in said or fuzz.partial_ratio(norm, said) >= 90)


def _unknown_items(scan: str, index: _Index, customer: str, req: ReplyRequest) -> list[str]:
    """Quoted names and model-number tokens that neither the catalog nor the customer knows."""
    candidates: list[str] = []
    for m in _QUOTED_RE.finditer(scan):
        quoted = next(g for g in m.groups() if g is not None).strip()
        if not re.search(r"[^\W\d_]", quoted.replace(_BLANK, "")) or len(quoted.split()) > 5:
            continue
        before = scan[max(0, m.start() - 30):m.start()].lower().replace("ё", "е")
        prev = re.findall(r"[^\W\d_]+", before)[-2:]
        if re.search(r"[A-Za-z\d]", quoted) or any(w.startswith(n) for w in prev for n in index.nouns):
            candidates.append(quoted)
    for m in _ALNUM_RE.finditer(scan):
        token = m.group(0)
        if _UNIT_TOKEN_RE.match(token):
            continue
        prev = _PREV_WORD_RE.search(scan[max(0, m.start() - 30):m.start()])
        if prev and prev.group(1)[:1].isupper() and prev.group(1).lower() not in _COMMON_CAPITALISED:
            token = f"{prev.group(1)} {token}"
        candidates.append(token)
    for m in _LATIN_MODEL_RE.finditer(scan):
        if m.group(1).lower() not in _COMMON_CAPITALISED and not _UNIT_AFTER_RE.match(scan, m.end()):
            candidates.append(f"{m.group(1)} {m.group(2)}")
    allowed = "\n".join([customer, req.unknown_item or "", req.profile.shop_name, *req.profile.ctas(req.language)])
    problems: list[str] = []
    for cand in dict.fromkeys(candidates):
        if not _known_term(cand, index) and not _said_by_customer(cand, allowed):
            problems.append(f"unknown_item:{cand}")
    return problems


def _secret_problems(text: str, secrets: Sequence[str]) -> list[str]:
    """Configured secrets whole or in part (any 16-char window), spaces ignored; key-shaped tokens."""
    squashed = re.sub(r"\s+", "", text)
    for secret in secrets:
        s = re.sub(r"\s+", "", secret or "")
        if len(s) < 6:
            continue
        if s in squashed or (len(s) > SECRET_WINDOW and any(
                s[i:i + SECRET_WINDOW] in squashed for i in range(len(s) - SECRET_WINDOW + 1))):
            return ["secret_leak"]
    return ["secret_leak"] if _SECRET_PATTERNS.search(text) else []


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower().replace("ё", "е"))


def _prompt_problems(text: str, prompts: Iterable[str]) -> list[str]:
    """Any run of six consecutive prompt words, case and spacing ignored."""
    said = _words(text)
    if len(said) < LEAK_WINDOW_WORDS:
        return []
    windows = {tuple(said[i:i + LEAK_WINDOW_WORDS]) for i in range(len(said) - LEAK_WINDOW_WORDS + 1)}
    for prompt in prompts:
        words = _words(prompt or "")
        for i in range(len(words) - LEAK_WINDOW_WORDS + 1):
            if tuple(words[i:i + LEAK_WINDOW_WORDS]) in windows:
                return ["prompt_leak"]
    return []
