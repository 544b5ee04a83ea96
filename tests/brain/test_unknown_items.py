"""Items the catalog lacks: a hit that only shares a word is an offer, never the answer."""

from decimal import Decimal

import pytest

from activities.brain.reader.items import asked_product, head_of, lacking_item
from activities.brain.turn import TurnActivities
from activities.profiles import ProfileStore
from catalog.loader import load_csv
from catalog.schema import Catalog, Item
from workflows.types import AnalyzeRequest

SHOP = Catalog(source="t", items=[
    Item(sku="PROP", name="Пропеллеры для квадрокоптера DJI Mini", price=Decimal(900), currency="RUB", stock=5),
    Item(sku="STRAP", name="Camera strap, leather", price=Decimal(20), currency="USD", stock=5),
    Item(sku="LENS", name="Lens cap 52 mm", price=Decimal(5), currency="USD", stock=5),
])


@pytest.mark.parametrize(("phrase", "head"), [
    ("Пропеллеры для квадрокоптера DJI", "Пропеллеры"), ("Camera strap, leather", "strap"),
    ("Спальный мешок «Норд -10»", "мешок"), ("strap for camera", "strap"), ("", None),
])
def test_head_of_table(phrase: str, head: str | None) -> None:
    assert head_of(phrase) == head


@pytest.mark.parametrize(("question", "lacking"), [
    ("а сам квадрокоптер есть, не пропеллеры?", "квадрокоптер"),
    ("the camera itself, not the strap", "camera"),
    ("do you sell cameras?", "cameras"),
    ("пропеллеры есть?", None),
    ("camera strap?", None),
    ("any lens caps left?", None),
])
def test_lacking_item_table(question: str, lacking: str | None) -> None:
    assert lacking_item(question, SHOP.items, SHOP) == lacking


def test_no_hits_no_verdict() -> None:
    assert lacking_item("квадрокоптер есть?", [], SHOP) is None
    assert asked_product("не надо") is None


def analyze(catalog: Catalog, text: str):
    turn = TurnActivities(catalog=lambda: catalog, profiles=ProfileStore(None), model=None)
    return turn.analyze(AnalyzeRequest(lead_id="l", chat_id="c", text=text))


def test_unknown_item_is_not_answered_with_an_accessory() -> None:
    a = analyze(SHOP, "а сам квадрокоптер есть, не пропеллеры?")
    assert a.unknown_item == "квадрокоптер"
    assert a.matches == [] and [x.sku for x in a.alternatives] == ["PROP"]


def test_a_catalog_item_is_still_found() -> None:
    sample = load_csv("catalog/sample/catalog.csv")
    a = analyze(sample, "а спальник есть?")
    assert a.unknown_item is None and a.matches


@pytest.mark.parametrize(("phrase", "item"), [
    ("субботу", False), ("book Sunday", False), ("hundred and five", False), ("времени", False),
    ("квадрокоптер", True), ("cat grooming", True), ("", False),
])
def test_could_be_item_table(phrase: str, item: bool) -> None:
    from activities.brain.reader.items import could_be_item

    assert could_be_item(phrase) is item
