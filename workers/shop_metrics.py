"""Sales metrics of simulated dialogues against their labels: a shop's go-live check.

Labels ride on the simulate input line (`labels`: buying, contact, escalations, unknown_items,
opt_out); the metrics are what a shop owner counts: leads with the right contact, escalations a
person would expect, unknown items answered «уточняю», a next step in replies, no invented
figures, no push after an opt-out.
"""

from __future__ import annotations

import json
import re
import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from activities.brain.guard import has_next_step
from catalog.schema import Catalog


class Labels(BaseModel):
    model_config = ConfigDict(extra="ignore")

    buying: bool = False
    contact: str | None = None
    escalations: list[str] = Field(default_factory=list)
    unknown_items: list[str] = Field(default_factory=list)
    opt_out: bool = False


class Thresholds(BaseModel):
    """Minimum rates a shop accepts (0..1); `invented_figures` is a maximum count."""

    model_config = ConfigDict(extra="forbid")

    leads: float = 0.98
    escalations: float = 1.0
    unknown_items: float = 0.95
    next_step: float = 0.95
    opt_outs: float = 1.0
    invented_figures: int = 0

    @classmethod
    def from_toml(cls, path: Path | None) -> Thresholds:
        if path is None or not path.exists():
            return cls()
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return cls.model_validate(raw.get("evaluate", {}).get("thresholds", raw.get("thresholds", {})))


class Rate(BaseModel):
    hit: int = 0
    total: int = 0
    misses: list[str] = Field(default_factory=list)

    @property
    def value(self) -> float:
        return self.hit / self.total if self.total else 1.0

    def add(self, ok: bool, what: str) -> None:
        self.total += 1
        self.hit += ok
        if not ok:
            self.misses.append(what)

    def show(self) -> str:
        return f"{self.hit}/{self.total} ({100 * self.value:.0f} %)"


class ShopMetrics(BaseModel):
    leads: Rate = Field(default_factory=Rate)
    escalations: Rate = Field(default_factory=Rate)
    unknown_items: Rate = Field(default_factory=Rate)
    unknown_precision: Rate = Field(default_factory=Rate)
    next_step: Rate = Field(default_factory=Rate)
    opt_outs: Rate = Field(default_factory=Rate)
    invented_figures: list[str] = Field(default_factory=list)

    def failures(self, t: Thresholds) -> list[str]:
        out = []
        for name in ("leads", "escalations", "unknown_items", "next_step", "opt_outs"):
            rate: Rate = getattr(self, name)
            if rate.total and rate.value < getattr(t, name):
                out.append(f"{name} {100 * rate.value:.1f} % < {100 * getattr(t, name):.0f} %")
        if len(self.invented_figures) > t.invented_figures:
            out.append(f"invented figures {len(self.invented_figures)} > {t.invented_figures}")
        return out

    def report(self) -> str:
        return (f"leads with the right contact {self.leads.show()}, labelled escalations raised "
                f"{self.escalations.show()}, unknown items handled {self.unknown_items.show()} (precision "
                f"{self.unknown_precision.show()}), next step in replies {self.next_step.show()}, invented figures "
                f"{len(self.invented_figures)}, opt-outs honoured {self.opt_outs.show()}")


def read_labels(path: Path) -> dict[str, Labels]:
    out: dict[str, Labels] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            if isinstance(raw.get("labels"), dict):
                out[str(raw["dialogue_id"])] = Labels.model_validate(raw["labels"])
    return out


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def right_contact(expected: str | None, lead: dict[str, Any] | None) -> bool:
    """A lead exists and, when a contact is labelled, carries it (phones compared by their last 10 digits)."""
    if not lead:
        return False
    if not expected:
        return True
    seen = [v for v in (lead.get("contact"), lead.get("phone"), lead.get("email")) if v]
    if "@" in expected:
        return any(v.strip().lower() == expected.strip().lower() for v in seen)
    want = _digits(expected)[-10:]
    return any(_digits(v)[-10:] == want and want for v in seen)


# One message raises one escalation, the most severe: a legal threat is also the complaint behind it.
_REASONS = {"human_request": {"human_request", "stop_word"}, "legal_threat": {"legal_threat"},
            "complaint": {"complaint", "legal_threat"}, "unknown_item": {"unknown_item"},
            "order_status": {"order_status"}}
_NUMBER = r"\d{1,3}(?:[,\s  ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_MONEY = re.compile(rf"(?:([$€£₽₸])\s?({_NUMBER}))|(?:({_NUMBER})\s?"
                    r"(₽|руб\w*|р\.|rub|usd|eur|gbp|kzt|тг|₸|\$|€|£))", re.I)


def _amount(text: str) -> Decimal | None:
    clean = re.sub(r"[\s  ]", "", text)
    clean = re.sub(r"[,.](?=\d{3}(?:\D|$))", "", clean)  # 109,990 and 1.500: thousands, not decimals
    try:
        return Decimal(clean.replace(",", "."))
    except InvalidOperation:
        return None


def invented_figures(replies: list[str], catalog: Catalog, cart: list[dict[str, Any]]) -> list[str]:
    """Money amounts in replies that no catalog price (times a quantity up to 999), cart total or the
    catalog's own description text ("nail grinding +$5") backs."""
    unit = {p for i in catalog.items for p in (i.price, i.promo_price) if p is not None}
    described = {v for i in catalog.items for m in _MONEY.finditer(i.description or "")
                 if (v := _amount(m.group(2) or m.group(3) or "")) is not None}
    pairs = {a + b for a in unit for b in unit}  # two lines added in one message
    total = Decimal(0)
    for line in cart:
        item = catalog.get(line["sku"])
        if item is not None:
            total += item.effective_price * line.get("qty", 1)
    out = []
    for reply in replies:
        for m in _MONEY.finditer(reply):
            value = _amount(m.group(2) or m.group(3) or "")
            if value is None or value == 0 or value == total or value in pairs or value in described:
                continue
            if any(p and (value % p == 0) and value / p <= 999 for p in unit):
                continue
            out.append(f"{m.group(0).strip()} in «{reply[:80]}»")
    return out


def _same_item(label: str, detail: str) -> bool:
    a = {w[:5] for w in re.findall(r"\w{3,}", label.lower())}
    b = {w[:5] for w in re.findall(r"\w{3,}", detail.lower())}
    return bool(a & b)


def measure(results: list[dict[str, Any]], labels: dict[str, Labels], catalog: Catalog) -> ShopMetrics:
    m = ShopMetrics()
    for d in results:
        lab = labels.get(d["dialogue_id"])
        raised = {e["reason"] for e in d["escalations"]}
        unknown_raised = [e["detail"] for e in d["escalations"] if e["reason"] == "unknown_item"]
        replies = [r for t in d["turns"] for r in t["replies"]]
        m.invented_figures += invented_figures(replies, catalog, d["state"]["cart"])
        opted = next((i for i, t in enumerate(d["turns"]) if t.get("status") == "opted_out"), None)
        spoken = [t for t in d["turns"][:opted] if t["replies"] and not t.get("silent")]
        if d["state"]["opted_out"] and opted is None and spoken:
            spoken = spoken[:-1]  # the goodbye to an opt-out must not push: measured below
        for t in spoken:
            m.next_step.add(has_next_step(t["replies"][-1]), f"{d['dialogue_id']}: «{t['replies'][-1][:60]}»")
        if lab is None:
            continue
        if lab.buying:
            m.leads.add(right_contact(lab.contact, d["lead"]), f"{d['dialogue_id']}: lead {d['lead']}")
        for reason in lab.escalations:
            if reason == "unknown_item":
                continue  # counted with the unknown items below
            m.escalations.add(bool(_REASONS.get(reason, {reason}) & raised),
                              f"{d['dialogue_id']}: {reason} (raised: {', '.join(sorted(raised)) or 'none'})")
        for item in lab.unknown_items:
            m.unknown_items.add(any(_same_item(item, x) for x in unknown_raised)
                                or (len(lab.unknown_items) == 1 and bool(unknown_raised)),
                                f"{d['dialogue_id']}: {item}")
        for detail in unknown_raised:
            m.unknown_precision.add(bool(lab.unknown_items), f"{d['dialogue_id']}: {detail}")
        if lab.opt_out:
            m.opt_outs.add(_opt_out_honoured(d), f"{d['dialogue_id']}: opted out {d['state']['opted_out']}, "
                                                  f"last reply «{replies[-1][:80] if replies else ''}»")
    return m


def _opt_out_honoured(d: dict[str, Any]) -> bool:
    """Opted out, and no reply from the opt-out turn on asks anything (a goodbye, then silence or answers only).

    «Если понадобится помощь — просто напишите» is a goodbye, not a push: a push is a question.
    """
    if not d["state"]["opted_out"]:
        return False
    turns = d["turns"]
    start = next((i for i, t in enumerate(turns) if t.get("status") == "opted_out"), None)
    if start is None:  # results written before per-turn status: judge the last spoken reply
        start = max((i for i, t in enumerate(turns) if t["replies"]), default=len(turns))
    return not any("?" in r for t in turns[start:] for r in t["replies"])


def score(results: list[dict[str, Any]], dialogues: Path, catalog: Catalog,
          thresholds: Path | None) -> tuple[ShopMetrics, list[str]]:
    """The metrics of a simulated run of labelled `dialogues` and what falls below the thresholds
    (`simulate --labels` and `evaluate` alike)."""
    metrics = measure(results, read_labels(dialogues), catalog)
    return metrics, metrics.failures(Thresholds.from_toml(thresholds))

