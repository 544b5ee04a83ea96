"""Catalog triggers: what changed between two catalog versions that a waiting customer wants to hear.

Pure: `diff(old, new)` lists items back in stock, cheaper, or newly on promotion (in stock only —
news about an item one cannot buy is spam). The message is a template with fact slots, so the
catalog fills the name and the price when the lead's workflow sends it, never the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from catalog.schema import Catalog, Item


class TriggerKind(StrEnum):
    BACK_IN_STOCK = "back_in_stock"
    NEW_PROMOTION = "new_promotion"
    PRICE_DROP = "price_drop"


@dataclass(frozen=True)
class Trigger:
    kind: TriggerKind
    sku: str
    name: str


TEMPLATES = {
    TriggerKind.BACK_IN_STOCK: (
        "Хорошая новость: {name:%s} снова в наличии — {price:%s}. Оформить заказ?",
        "Good news: {name:%s} is back in stock — {price:%s}. Shall I place the order?"),
    TriggerKind.NEW_PROMOTION: (
        "На {name:%s}, который вы смотрели, акция: {price:%s}. Добавить в корзину?",
        "{name:%s}, which you looked at, is on promotion: {price:%s}. Add it to your cart?"),
    TriggerKind.PRICE_DROP: (
        "{name:%s} подешевел: теперь {price:%s}. Оформить заказ?",
        "{name:%s} is cheaper now: {price:%s}. Shall I place the order?"),
}


def _kind(before: Item, after: Item) -> TriggerKind | None:
    if not after.in_stock:
        return None
    if not before.in_stock:
        return TriggerKind.BACK_IN_STOCK
    if after.promo_price is not None and after.promo_price < after.price and (
            before.promo_price is None or before.promo_price >= before.price or after.promo_price < before.promo_price):
        return TriggerKind.NEW_PROMOTION
    if after.currency == before.currency and after.effective_price < before.effective_price:
        return TriggerKind.PRICE_DROP
    return None


def diff(old: Catalog, new: Catalog) -> list[Trigger]:
    """One trigger per item that became worth telling about, in the new catalog's order."""
    out: list[Trigger] = []
    for item in new.items:
        before = old.get(item.sku)
        kind = _kind(before, item) if before is not None else None
        if kind is not None:
            out.append(Trigger(kind=kind, sku=item.sku, name=item.name))
    return out


def texts(trigger: Trigger) -> tuple[str, str]:
    """(ru, en) message templates with the item's fact slots."""
    ru, en = TEMPLATES[trigger.kind]
    return ru.replace("%s", trigger.sku), en.replace("%s", trigger.sku)


def dedupe_key(trigger: Trigger) -> str:
    """At most once per item and lead, whatever changes next."""
    return f"catalog:{trigger.sku.upper()}"
