"""The cart rules as a pure function: state and analysis in, cart, pending items and events out."""

from decimal import Decimal

import pytest

from workflows.cart import update_cart
from workflows.types import CartLine, ItemFact, LeadState, LeadStatus, Stage, TurnAnalysis


def fact(sku: str, stock: int = 5) -> ItemFact:
    return ItemFact(sku=sku, name=sku, price=Decimal(100), stock=stock)


def state(cart: dict[str, int] | None = None, *, pending: dict[str, int] | None = None, offered: str | None = None,
          last: tuple[str, ...] = (), stage: Stage = Stage.OFFER, status: LeadStatus = LeadStatus.NEW) -> LeadState:
    s = LeadState(lead_id="l", channel="t", chat_id="c", stage=stage, offered_sku=offered, last_skus=list(last))
    s.cart = [CartLine(sku=k, qty=v) for k, v in (cart or {}).items()]
    s.pending = [CartLine(sku=k, qty=v) for k, v in (pending or {}).items()]
    s.lead.status = status
    return s


def analysis(text: str = "", *, requested: dict[str, int] | None = None, matches: tuple[ItemFact, ...] = (),
             quantity: int | None = None) -> TurnAnalysis:
    return TurnAnalysis(masked_text=text, requested=[CartLine(sku=k, qty=v) for k, v in (requested or {}).items()],
                        matches=list(matches), quantity=quantity)


CASES = [
    # (name, state, analysis, intents, cart after, added, pending after)
    ("buy named item", state(), analysis("беру палатку", requested={"T": 0}, matches=(fact("T"),)), {"buy"},
     {"T": 1}, {"T": 1}, {}),
    ("buy with quantity", state(), analysis("беру 3", requested={"T": 3}, matches=(fact("T"),)), {"buy"},
     {"T": 3}, {"T": 3}, {}),
    ("quantity capped by stock", state(), analysis("беру 9", requested={"T": 9}, matches=(fact("T", stock=2),)),
     {"buy"}, {"T": 2}, {"T": 2}, {}),
    ("out of stock skipped", state(), analysis("беру", requested={"T": 1}, matches=(fact("T", stock=0),)), {"buy"},
     {}, {}, {}),
    ("remove named", state({"T": 1, "M": 2}), analysis("уберите коврик", requested={"M": 0}), {"remove"},
     {"T": 1}, {}, {}),
    ("remove last when unnamed", state({"T": 1, "M": 2}), analysis("удалите"), {"remove"}, {"T": 1}, {}, {}),
    ("set qty in cart", state({"T": 1}), analysis("make it 3", matches=(fact("T"),)), {"set_qty"}, {"T": 3},
     {"T": 3}, {}),
    ("set qty of pending", state(pending={"T": 2}), analysis("пусть будет 4"), {"set_qty"}, {}, {}, {"T": 4}),
    ("cancel empties", state({"T": 1}), analysis("отмена"), {"cancel"}, {}, {}, {}),
    ("refuse drops pending", state(pending={"T": 2}), analysis("нет"), {"refuse"}, {}, {}, {}),
    ("discount buys nothing", state(), analysis("скидка?", requested={"T": 1}), {"discount", "buy"}, {}, {}, {}),
    ("confirm takes the offer", state(offered="T"), analysis("да"), {"confirm"}, {"T": 1}, {"T": 1}, {}),
    ("checkout remembers last item", state(last=("T",)), analysis("оформляйте"), {"checkout"}, {"T": 1},
     {"T": 1}, {}),
    ("swap replaces", state({"T": 1}), analysis("instead the M", requested={"M": 0}, matches=(fact("M"),)),
     {"swap"}, {"M": 1}, {"M": 1}, {}),
    ("also adds the offer", state(offered="S"), analysis("беру и носки тоже", requested={"T": 0}),
     {"buy"}, {"S": 1, "T": 1}, {"S": 1, "T": 1}, {}),
    ("quantities wait for a yes", state(), analysis("5 шариков и мишку", requested={"B": 5, "M": 0}), {"price"},
     {}, {}, {"B": 5, "M": 0}),
    ("pending ordered by a yes", state(pending={"B": 5}), analysis("да"), {"confirm"}, {"B": 5}, {"B": 5}, {}),
    ("total shows pending", state(pending={"B": 2}), analysis("итого?"), {"cart"}, {"B": 2}, {"B": 2}, {}),
    ("contact after offer orders", state(pending={"B": 2}), analysis("пишите на a@b.ru"), {"contact"}, {"B": 2},
     {"B": 2}, {}),
    ("bare quantity in offer", state(last=("T",)), analysis("2", quantity=2), set(), {"T": 2}, {"T": 2}, {}),
    ("need with quantity buys", state(), analysis("нужно 2", requested={"T": 2}), {"need"}, {"T": 2}, {"T": 2}, {}),
]


@pytest.mark.parametrize(("name", "s", "a", "intents", "cart", "added", "pending"), CASES, ids=[c[0] for c in CASES])
def test_update_cart_table(name: str, s: LeadState, a: TurnAnalysis, intents: set[str], cart: dict, added: dict,
                           pending: dict) -> None:
    out = update_cart(s, a, intents)
    assert {c.sku: c.qty for c in s.cart} == cart
    assert {c.sku: c.qty for c in out.added} == added
    assert {c.sku: c.qty for c in s.pending} == pending


def test_events_and_a_lost_lead_reopening() -> None:
    s = state(status=LeadStatus.LOST)
    out = update_cart(s, analysis("беру", requested={"T": 1}, matches=(fact("T"),)), {"buy"})
    assert out.events == [("cart_add", {"sku": "T", "qty": "1"})]
    assert s.lead.status == LeadStatus.CART
    s = state({"T": 1})
    out = update_cart(s, analysis("отмена"), {"cancel"})
    assert out.events == [("cart_cancelled", {}), ("refusal", {"kind": "lost", "reason": "cancelled"})]
    assert s.lead.status == LeadStatus.LOST
    out = update_cart(state(), analysis("нет, не надо"), {"refuse"})
    assert out.events == [("refusal", {"kind": "no_thanks"})]
