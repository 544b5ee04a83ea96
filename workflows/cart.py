"""The cart rules: what a customer's message does to the cart, as one pure function.

`update_cart` reads the turn's analysis (intents, items named, quantities) and the lead's state and
changes the cart, the pending items and the status in place, returning what changed and the events
to record. No I/O, no clock: the workflow calls it and replays it identically.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from workflows import policy
from workflows import report_events as rev
from workflows.types import CartLine, LeadState, LeadStatus, Stage, TurnAnalysis

_ALSO = re.compile(r"\b(too|also|as\s+well|тоже|также|ещё|еще)\b|^\W*(беру|возьму|давайте|i'?ll\s+take)\s+(и|and)\b",
                   re.I)


class CartOutcome(BaseModel):
    """Lines added or changed, SKUs skipped as out of stock, events (kind, data) for the dialogue log."""

    added: list[CartLine] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)
    events: list[tuple[str, dict[str, str]]] = Field(default_factory=list)

    def event(self, event_kind: str, /, **data: str) -> None:
        self.events.append((event_kind, data))


def update_cart(s: LeadState, a: TurnAnalysis, intents: set[str]) -> CartOutcome:
    """Apply what the customer asked for to the cart (state changed in place); what changed comes back."""
    out = CartOutcome()
    if "remove" in intents and s.cart:  # «remove socks», «уберите носки»
        in_cart = {c.sku.upper() for c in s.cart}
        drop = {r.sku.upper() for r in a.requested if r.sku.upper() in in_cart} or {s.cart[-1].sku.upper()}
        s.cart = [c for c in s.cart if c.sku.upper() not in drop]
        out.event("cart_remove", skus=",".join(sorted(drop)))
        return out
    if "set_qty" in intents and not s.cart and s.pending and (qty := policy.set_qty_value(a.masked_text or "")):
        named = {r.sku.upper() for r in a.requested}
        target = next((p.sku for p in s.pending if p.sku.upper() in named), s.pending[-1].sku)
        s.pending = [p.model_copy(update={"qty": qty}) if p.sku == target else p for p in s.pending]
        return out
    if "set_qty" in intents and s.cart and (qty := policy.set_qty_value(a.masked_text or "")):
        in_cart = {c.sku.upper(): c for c in s.cart}
        target = next((r.sku for r in a.requested if r.sku.upper() in in_cart), s.cart[-1].sku)
        stock = next((f.stock for f in [*a.matches, *a.alternatives] if f.sku.upper() == target.upper()), None)
        qty = min(qty, stock) if stock else qty
        s.cart = policy.add_to_cart(s.cart, target, qty)
        out.event("cart_qty", sku=target, qty=str(qty))
        out.added = [CartLine(sku=target, qty=qty)]
        return out
    if "swap" in intents and (a.requested or a.matches):  # «get the 42 instead»: replace, don't add
        s.cart = []
        intents = {*intents, "buy"}
    if "cancel" in intents:
        if s.cart:
            s.cart = []
            s.lead.status = LeadStatus.LOST
            out.event("cart_cancelled")
            out.event(rev.REFUSAL, kind="lost", reason="cancelled")
        s.pending, s.pending_qty = [], None
        return out
    if "refuse" in intents:
        s.pending = []
        out.event(rev.REFUSAL, kind="no_thanks")
        return out
    if "discount" in intents:  # «30% off or I walk» bargains; it does not buy
        return out
    lines: list[CartLine] = []
    explicit = "buy" in intents or ("need" in intents and bool(a.quantity or any(r.qty for r in a.requested)))
    remembered = list(s.pending) or ([CartLine(sku=s.offered_sku, qty=0)] if s.offered_sku else []) or (
        [CartLine(sku=s.last_skus[0], qty=0)] if s.last_skus else [])
    # «как оплатить?» next to «есть в наличии?» asks; it does not put the item in the cart
    asks = bool(intents & {"price", "availability"}) and "?" in (a.masked_text or "")
    if explicit or ("checkout" in intents and not s.cart and not asks):
        lines = list(a.requested)
        if not lines:  # nothing named now: what was named or offered before («тогда большие, беру»)
            lines = remembered
        if not lines and a.matches:
            lines = [CartLine(sku=a.matches[0].sku, qty=a.quantity or 0)]
        if lines and s.offered_sku and _ALSO.search(a.masked_text or "") and \
                s.offered_sku not in {c.sku for c in s.cart} | {x.sku for x in lines}:
            lines.insert(0, CartLine(sku=s.offered_sku, qty=0))  # «беру и носки к ним»: both
    elif "confirm" in intents and s.stage in (Stage.OFFER, Stage.OBJECTIONS, Stage.DISCOVERY):
        lines = list(a.requested) or remembered
    elif "cart" in intents and not s.cart and s.pending:  # «итого?» after «сыворотку 2 и шампунь 3»
        lines = list(s.pending)
    elif "contact" in intents and not s.cart and not a.requested and (
            s.pending or (s.offered_sku and s.stage in (Stage.OFFER, Stage.CLOSING) and not s.escalated)):
        lines = remembered  # «2 замка и 2 фонаря» … «пишите на maria@…»: a contact after an offer orders it
    elif a.quantity and s.stage in (Stage.OFFER, Stage.CLOSING) and (a.matches or s.last_skus) \
            and not intents & {"price", "availability", "browse"}:
        lines = [CartLine(sku=a.matches[0].sku if a.matches else s.last_skus[0], qty=a.quantity)]
    if not lines:
        if a.requested and (a.quantity or len(a.requested) > 1 or any(r.qty for r in a.requested)):
            s.pending = list(a.requested)  # «5 шариков и мишку» … «да, оформляем»: both, five balloons
        elif a.quantity and a.matches:
            s.pending = [CartLine(sku=a.matches[0].sku, qty=a.quantity)]
        return out
    stock = {f.sku.upper(): f.stock for f in [*a.matches, *a.alternatives]}
    pending_qty = {p.sku.upper(): p.qty for p in s.pending}
    added: list[CartLine] = []
    skipped: list[str] = []
    single = len(lines) == 1
    for line in lines:
        sku = line.sku
        qty = line.qty or (a.quantity if single else 0) or pending_qty.get(sku.upper(), 0) or (
            s.pending_qty if single else 0) or next((c.qty for c in s.cart if c.sku.upper() == sku.upper()), 1)
        available = stock.get(sku.upper())
        if available is not None:
            if available <= 0:
                skipped.append(sku)
                continue
            qty = min(qty, available)
        s.cart = policy.add_to_cart(s.cart, sku, qty)
        added.append(CartLine(sku=sku, qty=qty))
        out.event("cart_add", sku=sku, qty=str(qty))
    s.pending, s.pending_qty = [], None
    if added and s.lead.status == LeadStatus.LOST:
        s.lead.status = LeadStatus.CART  # a lost lead came back and bought: it is open again
    out.added, out.skipped = added, skipped
    return out
