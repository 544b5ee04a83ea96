"""CSV/row validation: every bad-row kind is reported with its exact line and column, all at once."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from catalog.loader import catalog_from_csv_text, catalog_from_rows, load_csv, parse_currency, parse_money
from catalog.schema import CatalogError

HEADER = "sku,name,price,currency,stock,aliases,category,description,promo_price,upsell\n"


def issues_of(text: str) -> set[tuple[int, str]]:
    with pytest.raises(CatalogError) as info:
        catalog_from_csv_text(text, "t.csv")
    assert all(i.source == "t.csv" for i in info.value.issues)
    return {(i.line, i.column) for i in info.value.issues}


def test_sample_catalog_is_valid_and_realistic(sample_catalog_path: Path) -> None:
    catalog = load_csv(sample_catalog_path)
    assert 25 <= len(catalog) <= 40
    assert len(catalog.version) == 12 and catalog.source == str(sample_catalog_path)
    tent = catalog.get("tent-2p")
    assert tent is not None and tent.price == Decimal("8990") and tent.promo_price == Decimal("7990")
    assert tent.effective_price == Decimal("7990") and "MAT-SELF" in tent.upsell
    assert any(not i.in_stock for i in catalog.items)
    assert all(catalog.get(sku) for item in catalog.items for sku in item.upsell)
    lamp = catalog.get("LAMP-HEAD")
    assert lamp is not None and "headlamp" in lamp.aliases and lamp.upsell == ("BAT-AAA",)


def test_every_bad_row_kind_is_reported_with_line_and_column() -> None:
    text = HEADER + "\n".join([
        "A,Alpha,100,RUB,1,,,,,",           # 2 ok
        ",NoSku,100,RUB,1,,,,,",            # 3 empty sku
        "B,,100,RUB,1,,,,,",                # 4 empty name
        "a,Dup,100,RUB,1,,,,,",             # 5 duplicate (case-insensitive) of line 2
        "C,Gamma,abc,RUB,1,,,,,",           # 6 price not a number
        "D,Delta,-5,RUB,1,,,,,",            # 7 negative price
        "E,Eps,,RUB,1,,,,,",                # 8 empty price
        "F,Phi,100,RUBLES,1,,,,,",          # 9 bad currency
        "G,Gee,100,RUB,-1,,,,,",            # 10 negative stock
        "H,Aitch,100,RUB,2.5,,,,,",         # 11 fractional stock
        "I,Eye,100,RUB,1,,,,100,",          # 12 promo == price
        "J,Jay,100,RUB,1,,,,abc,",          # 13 promo invalid
        "K,Kay,100,RUB,1,,,,,NOPE",         # 14 unknown upsell
        "L,Ell,100,RUB,1,,,,,L",            # 15 upsell itself
        "M,Em,0,RUB,1,,,,,",                # 16 zero price
    ]) + "\n"
    with pytest.raises(CatalogError) as info:
        catalog_from_csv_text(text, "t.csv")
    found = {(i.line, i.column) for i in info.value.issues}
    assert found == {(3, "sku"), (4, "name"), (5, "sku"), (6, "price"), (7, "price"), (8, "price"),
                     (9, "currency"), (10, "stock"), (11, "stock"), (12, "promo_price"), (13, "promo_price"),
                     (14, "upsell"), (15, "upsell"), (16, "price")}
    dup = next(i for i in info.value.issues if i.line == 5)
    assert "first on line 2" in dup.reason
    assert "t.csv:5: column 'sku'" in str(dup)
    assert [i.line for i in info.value.issues] == sorted(i.line for i in info.value.issues)


def test_missing_required_columns_are_header_issues() -> None:
    assert issues_of("sku,name,price\nA,Alpha,10\n") == {(1, "currency"), (1, "stock")}


def test_empty_catalogs_are_errors(tmp_path: Path) -> None:
    assert issues_of(HEADER) == {(0, "-")}
    assert issues_of(HEADER + ",,,,\n , ,,,,,,,,\n") == {(0, "-")}
    assert issues_of("") == {(0, "-")}


def test_accepted_number_and_currency_spellings() -> None:
    text = HEADER + "\n".join([
        'A,Alpha,4990,руб,1,,,,,',
        'B,Beta,4 990,₽,0,,,,,',
        'C,Gamma,4990.50,$,3,,,,,',
        'D,Delta,"4990,50",€,1,,,,"3 990",',
        'E,Eps,"1,500.00",usd, 7 ,x|y |,Cat,Desc,,A| B',
    ]) + "\n"
    catalog = catalog_from_csv_text(text, "t.csv")
    prices = {i.sku: (i.price, i.currency) for i in catalog.items}
    assert prices == {"A": (Decimal("4990"), "RUB"), "B": (Decimal("4990"), "RUB"),
                      "C": (Decimal("4990.50"), "USD"), "D": (Decimal("4990.50"), "EUR"),
                      "E": (Decimal("1500.00"), "USD")}
    e = catalog.get("e")
    assert e is not None and e.stock == 7 and e.aliases == ("x", "y") and e.upsell == ("A", "B")
    assert catalog.get("D").promo_price == Decimal("3990")  # type: ignore[union-attr]
    assert catalog.version and catalog.version == catalog_from_csv_text(text, "other").version


@pytest.mark.parametrize(("text", "expected"), [
    ("4990", Decimal("4990")), ("4\u00a0990", Decimal("4990")), ("1.500,25", Decimal("1500.25")),
    ("12,5", Decimal("12.5")), ("1,500", Decimal("1500")),
    ("abc", None), ("-5", None), ("", None), ("1e5", None), ("1,2,3", None),
])
def test_parse_money(text: str, expected: Decimal | None) -> None:
    assert parse_money(text) == expected


def test_parse_currency() -> None:
    assert [parse_currency(c) for c in ("rub", "РУБ", "₽", "$", "€", "US", "", "RUBLE")] == [
        "RUB", "RUB", "RUB", "USD", "EUR", None, None, None]


def test_semicolon_bom_extra_columns_and_russian_header(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    content = ("Артикул;Название;Цена;Валюта;Остаток;Поставщик;Описание\r\n"
               'A1;Палатка «Трек»;8 990;руб;3;ООО Ромашка;"Двухслойная; лёгкая"\r\n'
               "A2;Коврик;790,00;RUB;0;;\r\n;;;;;;\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + content.encode())
    catalog = load_csv(path)
    assert [i.sku for i in catalog.items] == ["A1", "A2"]
    assert catalog.items[0].description == "Двухслойная; лёгкая"
    assert catalog.items[1].price == Decimal("790.00")


def test_multiline_cells_keep_line_numbers() -> None:
    text = HEADER + 'A,Alpha,100,RUB,1,,,"line one\nline two",,\nB,Beta,bad,RUB,1,,,,,\n'
    assert issues_of(text) == {(4, "price")}


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as info:
        load_csv(tmp_path / "missing.csv")
    issue = info.value.issues[0]
    assert (issue.line, issue.column) == (0, "-") and "not found" in issue.reason
    bad = tmp_path / "cp1251.csv"
    bad.write_bytes((HEADER + "A,Палатка,100,RUB,1,,,,,\n").encode("cp1251"))
    with pytest.raises(CatalogError, match="not UTF-8"):
        load_csv(bad)
    with pytest.raises(CatalogError, match="cannot read"):
        load_csv(tmp_path)


def test_rows_api_for_other_sources() -> None:
    header = ["SKU", "Name", "Price", "Currency", "Stock", "Upsell", "Extra"]
    rows = [(2, {"SKU": "X", "Name": "Ex", "Price": "10", "Currency": "usd", "Stock": "1", "Upsell": "y",
                 "Extra": "ignored"}),
            (3, {"SKU": "Y", "Name": "Why", "Price": "20", "Currency": "USD", "Stock": "0", "Upsell": ""})]
    catalog = catalog_from_rows(rows, "sheet:abc", header)
    assert catalog.source == "sheet:abc" and len(catalog.version) == 12
    assert catalog.get("x").upsell == ("Y",)  # type: ignore[union-attr]
    assert catalog_from_rows(rows, "sheet:abc", header, version="v1").version == "v1"
    with pytest.raises(CatalogError) as info:
        catalog_from_rows([(7, {**rows[0][1], "Stock": "many"})], "sheet:abc", header)
    assert {(i.line, i.column) for i in info.value.issues} == {(7, "stock"), (7, "upsell")}


def test_many_issues_are_summarised() -> None:
    text = HEADER + "".join(f"S{n},Name,bad,RUB,1,,,,,\n" for n in range(30))
    with pytest.raises(CatalogError) as info:
        catalog_from_csv_text(text, "t.csv")
    assert len(info.value.issues) == 30 and "(+10 more)" in str(info.value)


@pytest.mark.parametrize(("body", "line", "words"), [
    # a quote opened in a description and never closed swallows the next rows
    ('A,Alpha,100,RUB,1,,,"oops,,\nB,Beta,100,RUB,1,,,,,\nC,Gamma,100,RUB,1,,,,,\n', 2, ["unterminated quote", "2–4"]),
    ('A,Alpha,100,RUB,1,,,,,\nB,Beta,100,RUB,1,,,"broken,,\nC,Gamma,100,RUB,1,,,,,\n', 3,
     ["unterminated quote", "3–4"]),
    # more cells than the header (an unquoted comma in a value)
    ("A,Alpha,100,RUB,1,,,Light, warm,,\n", 2, ["11 cells", "header has 10"]),
    # fewer cells than the header, a required column cut off
    ("A,Alpha,100\n", 2, ["3 cells", "stock"]),
])
def test_row_shape_problems_name_the_line(body: str, line: int, words: list[str]) -> None:
    with pytest.raises(CatalogError) as info:
        catalog_from_csv_text(HEADER + body, "t.csv")
    issue = next(i for i in info.value.issues if i.line == line)
    assert all(w in issue.reason for w in words), issue.reason
    assert str(issue).startswith(f"t.csv:{line}: ") and "column '-'" not in str(issue)
    assert not any(i.line == 0 for i in info.value.issues)  # not also "the catalog has no items"


def test_short_rows_missing_only_optional_cells_are_fine() -> None:
    text = HEADER + "A,Alpha,100,RUB,1\nB,Beta,200,RUB,2,b|bee,Cat\n"
    catalog = catalog_from_csv_text(text, "t.csv")
    assert [i.sku for i in catalog.items] == ["A", "B"] and catalog.get("b").aliases == ("b", "bee")  # type: ignore[union-attr]


def test_file_level_problems_print_without_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as info:
        load_csv(tmp_path / "missing.csv")
    assert str(info.value) == f"{tmp_path / 'missing.csv'}: file not found"
    with pytest.raises(CatalogError) as info:
        catalog_from_csv_text("", "t.csv")
    assert str(info.value) == "t.csv: the file is empty"
    bad = tmp_path / "cp1251.csv"
    bad.write_bytes((HEADER + "A,Палатка,100,RUB,1,,,,,\n").encode("cp1251"))
    with pytest.raises(CatalogError) as info:
        load_csv(bad)
    assert str(info.value).startswith(f"{bad}: not UTF-8") and ":0:" not in str(info.value)
