"""Fact slots: the model writes `{price:SKU}`, the catalog writes the figure.

Slot syntax (case-insensitive kind, spaces around parts allowed):

    {name:SKU}        the item's name
    {price:SKU}       its effective price; with a promo also the old one: «7 990 ₽ (вместо 8 990 ₽)»
    {stock:SKU}       «в наличии 5 шт.» / «нет в наличии»; EN "5 in stock" / "out of stock"
    {line:SKU:QTY}    «Палатка × 2 = 15 980 ₽»
    {total}           the cart total

Rendering never raises: an unknown SKU, a malformed slot or a stray brace becomes a problem string,
so the guard can refuse the reply instead of the worker crashing on model output. Money uses plain
spaces as RU group separators so other modules and tests can compare rendered text literally.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from catalog.schema import Catalog, Item
from workflows.types import CartLine

SYMBOLS = {"RUB": "₽", "USD": "$", "EUR": "€"}
_PREFIX_IN_EN = {"USD", "EUR"}  # "$5", "€5"; roubles stay "5 ₽" in both languages
MAX_QTY = 9999

SLOT_RE = re.compile(r"\{([^{}\n]{0,80})\}")
_SKU_RE = re.compile(r"^[\w.\-/]{1,64}$")


@dataclass(frozen=True)
class Slot:
    kind: str  # name | price | stock | line | total
    sku: str = ""
    qty: int = 0


@dataclass
class RenderResult:
    """Rendered text, what went wrong, the SKUs named, and every amount the renderer wrote."""

    text: str
    problems: list[str] = field(default_factory=list)
    skus: list[str] = field(default_factory=list)
    amounts: list[Decimal] = field(default_factory=list)


def format_money(amount: Decimal, currency: str, lang: str) -> str:
    """`7 990 ₽` (RU), `7,990 ₽` / `$79.99` (EN); kopecks/cents only when non-zero."""
    q = Decimal(amount).quantize(Decimal("0.01"))
    digits = f"{q:,.0f}" if q == q.to_integral_value() else f"{q:,.2f}"
    if lang != "en":
        digits = digits.replace(",", " ").replace(".", ",")
    code = currency.upper()
    symbol = SYMBOLS.get(code, code)
    if lang == "en" and code in _PREFIX_IN_EN:
        return f"-{symbol}{digits[1:]}" if digits.startswith("-") else f"{symbol}{digits}"
    return f"{digits} {symbol}"


def price_text(item: Item, lang: str) -> str:
    """Effective price; the old price beside it when a promo makes it cheaper."""
    now = format_money(item.effective_price, item.currency, lang)
    if item.promo_price is not None and item.promo_price < item.price:
        was = format_money(item.price, item.currency, lang)
        return f"{now} (was {was})" if lang == "en" else f"{now} (вместо {was})"
    return now


def stock_text(item: Item, lang: str) -> str:
    if lang == "en":
        return f"{item.stock} in stock" if item.in_stock else "out of stock"
    return f"в наличии {item.stock} шт." if item.in_stock else "нет в наличии"


def line_text(item: Item, qty: int, lang: str) -> str:
    amount = format_money(item.effective_price * qty, item.currency, lang)
    return f"{item.name} × {qty} = {amount}"


def item_line(item: Item, lang: str) -> str:
    """One catalog line for templates: name — price, stock."""
    return f"{item.name} — {price_text(item, lang)}, {stock_text(item, lang)}"


def cart_total(cart: list[CartLine], catalog: Catalog) -> tuple[Decimal, str] | None:
    """Sum of effective prices × qty; None when a line is unknown or currencies are mixed."""
    total = Decimal(0)
    currencies: set[str] = set()
    for line in cart:
        item = catalog.get(line.sku)
        if item is None:
            return None
        total += item.effective_price * line.qty
        currencies.add(item.currency.upper())
    if len(currencies) > 1:
        return None
    return total, (currencies.pop() if currencies else "RUB")


def cart_lines(cart: list[CartLine], catalog: Catalog, lang: str) -> list[str]:
    """Rendered cart lines for operator cards and templates; unknown SKUs are skipped."""
    return [line_text(item, line.qty, lang) for line in cart if (item := catalog.get(line.sku))]


def parse_slot(body: str) -> Slot | None:
    """The slot inside braces, or None when it is not valid slot syntax."""
    parts = [p.strip() for p in body.split(":")]
    kind = parts[0].lower()
    if kind == "total" and len(parts) == 1:
        return Slot("total")
    if kind in ("name", "price", "stock") and len(parts) == 2 and _SKU_RE.match(parts[1]):
        return Slot(kind, parts[1])
    if kind == "line" and len(parts) == 3 and _SKU_RE.match(parts[1]) and parts[2].isdigit():
        qty = int(parts[2])
        if 1 <= qty <= MAX_QTY:
            return Slot("line", parts[1], qty)
    return None


def find_slots(text: str) -> list[Slot]:
    """Well-formed slots in order of appearance (for `Draft.skus`)."""
    return [s for m in SLOT_RE.finditer(text) if (s := parse_slot(m.group(1)))]


def render_slots(text: str, catalog: Catalog, cart: list[CartLine], lang: str) -> RenderResult:
    """Replace every slot with catalog facts; problems for anything that cannot be filled."""
    out = RenderResult(text="")
    pieces: list[str] = []
    pos = 0
    for m in SLOT_RE.finditer(text):
        pieces.append(text[pos:m.start()])
        pos = m.end()
        pieces.append(_fill(m.group(0), m.group(1), catalog, cart, lang, out))
    pieces.append(text[pos:])
    for i in range(1, len(pieces) - 1, 2):  # "{stock:X}." would end in "шт.."
        if pieces[i].endswith(".") and pieces[i + 1].startswith("."):
            pieces[i + 1] = pieces[i + 1][1:]
    prose = "".join(pieces[0::2])  # the model's own words between slots
    if "{" in prose or "}" in prose:
        out.problems.append("bad_slot:unbalanced_brace")
    out.text = "".join(pieces)
    return out


def _fill(raw: str, body: str, catalog: Catalog, cart: list[CartLine], lang: str, out: RenderResult) -> str:
    slot = parse_slot(body)
    if slot is None:
        out.problems.append(f"bad_slot:{body.strip()[:40]}")
        return raw
    if slot.kind == "total":
        found = cart_total(cart, catalog)
        if not cart or found is None:
            out.problems.append("no_cart_total")
            return raw
        out.amounts.append(found[0])
        return format_money(found[0], found[1], lang)
    item = catalog.get(slot.sku)
    if item is None:
        out.problems.append(f"unknown_sku:{slot.sku}")
        return raw
    if item.sku not in out.skus:
        out.skus.append(item.sku)
    if slot.kind == "name":
        return item.name
    if slot.kind == "stock":
        return stock_text(item, lang)
    if slot.kind == "price":
        out.amounts.extend(a for a in (item.price, item.promo_price) if a is not None)
        return price_text(item, lang)
    out.amounts.append(item.effective_price * slot.qty)
    return line_text(item, slot.qty, lang)
