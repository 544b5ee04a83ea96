"""Sales metrics of labelled dialogues: pure scoring of simulate results, table by table."""

from decimal import Decimal
from pathlib import Path

import pytest

from catalog.schema import Catalog, Item
from workers.shop_metrics import Labels, Thresholds, invented_figures, measure, read_labels, right_contact

CATALOG = Catalog(items=[Item(sku="T1", name="Палатка", price=Decimal("5990"), currency="RUB",
                              description="Тент +700 ₽ по запросу.")], source="t")


def dialogue(did: str, replies: list[str], *, lead: dict | None = None, escalations: tuple = (),
             opted_out: bool = False, silent_last: bool = False) -> dict:
    turns = [{"user": "x", "replies": [r], "silent": False} for r in replies]
    if silent_last:
        turns.append({"user": "ещё", "replies": [], "silent": True})
    return {"dialogue_id": did, "turns": turns, "lead": lead,
            "escalations": [{"reason": r, "detail": d} for r, d in escalations],
            "state": {"cart": [{"sku": "T1", "qty": 2}], "opted_out": opted_out}}


@pytest.mark.parametrize(("expected", "lead", "ok"), [
    (None, {"contact": "+79161234567"}, True),
    ("+7 916 123-45-67", {"contact": "+79161234567"}, True),
    ("89161234567", {"phone": "+79161234567"}, True),
    ("anna@example.com", {"contact": "Anna@Example.com"}, True),
    ("anna@example.com", {"contact": "+79161234567"}, False),
    ("+79161234567", None, False),
])
def test_right_contact_table(expected: str | None, lead: dict | None, ok: bool) -> None:
    assert right_contact(expected, lead) is ok


@pytest.mark.parametrize(("reply", "invented"), [
    ("Палатка стоит 5990 ₽. Оформим?", 0),
    ("Две палатки: 11980 ₽. Оформим?", 0),
    ("Палатка стоит 4990 ₽. Оформим?", 1),
    ("Tent is $12. Shall I add it?", 1),
    ("Палатка: тент +700 ₽ по запросу. Оформим?", 0),  # the catalog's own description says so
    ("Тент +800 ₽. Оформим?", 1),
])
def test_invented_figures_table(reply: str, invented: int) -> None:
    assert len(invented_figures([reply], CATALOG, [{"sku": "T1", "qty": 2}])) == invented


def test_measure_counts_what_a_shop_owner_counts() -> None:
    results = [
        dialogue("buy", ["Палатка 5990 ₽. Оформим?", "Записал. Что-то ещё?"], lead={"contact": "+79161234567"}),
        dialogue("esc", ["Уточняю по «квадрокоптер», передал менеджеру. Что ещё подобрать?"],
                 escalations=(("unknown_item", "квадрокоптер"), ("human_request", ""))),
        dialogue("stop", ["Хорошо, больше не пишем."], opted_out=True, silent_last=True),
        dialogue("miss", ["Вот палатка."]),
    ]
    labels = {"buy": Labels(buying=True, contact="+7 916 123 45 67"),
              "esc": Labels(escalations=["human_request", "complaint", "unknown_item"], unknown_items=["квадрокоптер"]),
              "stop": Labels(opt_out=True), "miss": Labels(buying=True)}
    m = measure(results, labels, CATALOG)
    assert (m.leads.hit, m.leads.total) == (1, 2)
    assert (m.escalations.hit, m.escalations.total) == (1, 2)
    assert m.unknown_items.value == 1.0 and m.unknown_precision.value == 1.0
    assert m.opt_outs.value == 1.0
    assert (m.next_step.hit, m.next_step.total) == (3, 4)
    assert m.invented_figures == []
    failures = m.failures(Thresholds())
    assert any(f.startswith("leads") for f in failures) and any(f.startswith("escalations") for f in failures)
    assert "leads with the right contact 1/2" in m.report()


def test_labels_and_thresholds_are_read_from_files(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"dialogue_id": 1, "turns": ["hi"], "labels": {"buying": true}}\n'
                    '{"dialogue_id": 2, "turns": ["hi"]}\n', encoding="utf-8")
    assert read_labels(path) == {"1": Labels(buying=True)}
    toml = tmp_path / "p.toml"
    toml.write_text("[evaluate.thresholds]\nleads = 0.5\n", encoding="utf-8")
    assert Thresholds.from_toml(toml).leads == 0.5
    assert Thresholds.from_toml(None).leads == 0.98
