"""The held-out evaluation data stays well-formed: catalogs load, profiles load, every JSONL line fits its schema."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from activities.profiles import load_profile
from catalog.loader import load_csv
from workers.simulate import read_dialogues

HERE = Path(__file__).parent
SHOPS = sorted(p for p in (HERE / "shops").iterdir() if p.is_dir())
INTENTS = {"greeting", "price", "availability", "need", "buy", "checkout", "confirm", "refuse", "cancel",
           "objection", "discount", "delivery", "payment", "returns", "warranty", "hours", "attribute",
           "order_status", "human_request", "complaint", "legal_threat", "opt_out", "smalltalk", "thanks",
           "bye", "contact"}
ESCALATIONS = {"human_request", "complaint", "legal_threat", "unknown_item", "order_status"}


def test_intents_cover_every_intent_in_both_languages() -> None:
    counts: Counter[tuple[str, str]] = Counter()
    for line in (HERE / "intents_test.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        assert set(row) == {"text", "lang", "intents"} and row["text"].strip(), row
        assert row["lang"] in {"ru", "en"}, row
        assert set(row["intents"]) <= INTENTS and len(set(row["intents"])) == len(row["intents"]), row
        counts.update((intent, row["lang"]) for intent in row["intents"])
    thin = {(i, lang): counts[(i, lang)] for i in INTENTS for lang in ("ru", "en") if counts[(i, lang)] < 30}
    assert not thin


def test_five_shops_in_at_least_three_currencies() -> None:
    currencies = {item.currency for shop in SHOPS for item in load_csv(shop / "catalog.csv").items}
    assert len(SHOPS) >= 5 and len(currencies) >= 3


@pytest.mark.parametrize("shop", SHOPS, ids=[s.name for s in SHOPS])
def test_shop_files_load_and_labels_fit(shop: Path) -> None:
    assert 15 <= len(load_csv(shop / "catalog.csv").items) <= 40
    if (shop / "profile.toml").exists():
        load_profile(shop / "profile.toml")
    dialogues = read_dialogues(shop / "dialogues.jsonl")
    assert len(dialogues) == 30 and all(1 <= len(d.turns) <= 8 for d in dialogues)
    for line in (shop / "dialogues.jsonl").read_text(encoding="utf-8").splitlines():
        labels = json.loads(line)["labels"]
        assert isinstance(labels["buying"], bool) and isinstance(labels["opt_out"], bool)
        contact = labels["contact"]
        assert contact is None or re.fullmatch(r"\+\d{8,15}|[^@\s]+@[^@\s]+\.\w+", contact), contact
        assert set(labels["escalations"]) <= ESCALATIONS
        assert bool(labels["unknown_items"]) == ("unknown_item" in labels["escalations"])
