"""Build a validated `Catalog` from CSV (the source of truth) or any row source (Google Sheet).

Validation collects every problem with its line and column instead of stopping at the first, so a
shop owner fixes the whole file in one pass; a catalog with any issue is rejected as a whole (the
store keeps serving the last good one).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path

from catalog.schema import Catalog, CatalogError, CatalogIssue, Item

REQUIRED_COLUMNS: tuple[str, ...] = ("sku", "name", "price", "currency", "stock")
OPTIONAL_COLUMNS: tuple[str, ...] = ("aliases", "category", "description", "promo_price", "upsell")

# Header spellings seen in Russian spreadsheets; mapped onto the canonical column names.
HEADER_ALIASES: dict[str, str] = {
    "артикул": "sku", "название": "name", "наименование": "name", "цена": "price",
    "валюта": "currency", "остаток": "stock", "количество": "stock", "синонимы": "aliases",
    "категория": "category", "описание": "description", "цена со скидкой": "promo_price",
    "акционная цена": "promo_price", "допродажа": "upsell", "promo": "promo_price",
}

CURRENCY_ALIASES: dict[str, str] = {
    "₽": "RUB", "РУБ": "RUB", "РУБ.": "RUB", "Р": "RUB", "Р.": "RUB", "RUR": "RUB",
    "$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "₸": "KZT", "₴": "UAH",
}

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")
_DECIMAL = re.compile(r"\d+(\.\d+)?")
_THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+")


def canonical_column(name: str) -> str:
    """Header cell → canonical column name (strip, lowercase, BOM and Russian spellings)."""
    key = name.replace("\ufeff", "").strip().lower()
    return HEADER_ALIASES.get(key, key)


def parse_money(text: str) -> Decimal | None:
    """`4990`, `4 990`, `4990.50`, `4990,50`, `1,500.00` → Decimal; None when not a plain number."""
    s = _SPACES.sub("", text)
    if "," in s and "." in s:
        decimal_mark = "," if s.rfind(",") > s.rfind(".") else "."
        s = s.replace("." if decimal_mark == "," else ",", "").replace(",", ".")
    elif _THOUSANDS.fullmatch(s):
        s = s.replace(",", "")
    elif s.count(",") == 1:
        s = s.replace(",", ".")
    if not _DECIMAL.fullmatch(s):
        return None
    try:
        return Decimal(s)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        return None


def parse_currency(text: str) -> str | None:
    """ISO code (any case) or a common symbol/abbreviation (₽, руб, $, €) → ISO code; None otherwise."""
    code = text.strip().upper()
    code = CURRENCY_ALIASES.get(code, code)
    return code if re.fullmatch(r"[A-Z]{3}", code) else None


def _split_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split("|") if part.strip())


def _content_version(rows: list[tuple[int, dict[str, str]]]) -> str:
    payload = json.dumps([sorted(r.items()) for _, r in rows], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def catalog_from_rows(
    rows: Iterable[tuple[int, Mapping[str, str]]],
    source: str,
    header: Sequence[str],
    *,
    version: str | None = None,
) -> Catalog:
    """Validate rows `(line number, column → value)` into a Catalog, or raise every issue at once.

    Shared by the CSV and Google-Sheet sources so both enforce the same rules. Columns are matched
    case-insensitively (Russian header names too); unknown columns are ignored. `version` defaults
    to a hash of the row contents (the CSV source passes the file hash instead).
    """
    issues: list[CatalogIssue] = []

    def issue(line: int, column: str, reason: str) -> None:
        issues.append(CatalogIssue(source=source, line=line, column=column, reason=reason))

    columns = {canonical_column(h) for h in header}
    for required in REQUIRED_COLUMNS:
        if required not in columns:
            issue(1, required, "required column is missing from the header")

    normalized: list[tuple[int, dict[str, str]]] = []
    for line, raw in rows:
        row = {canonical_column(k): (v or "").strip() for k, v in raw.items() if k is not None}
        if any(row.values()):  # spreadsheets export trailing blank rows (";;;;")
            normalized.append((line, row))
    if not normalized:
        issue(0, "-", "the catalog has no items (no data rows under the header)")

    first_line: dict[str, int] = {}
    items: list[tuple[int, dict[str, object]]] = []
    for line, row in normalized:
        fields: dict[str, object] = {}
        sku = row.get("sku", "")
        if "sku" in columns:
            if not sku:
                issue(line, "sku", "empty sku")
            elif sku.upper() in first_line:
                issue(line, "sku", f"duplicate sku '{sku}' (first on line {first_line[sku.upper()]})")
            else:
                first_line[sku.upper()] = line
        if "name" in columns and not row.get("name"):
            issue(line, "name", "empty name")

        price = None
        if "price" in columns:
            price = parse_money(row.get("price", ""))
            if price is None or price <= 0:
                issue(line, "price", f"price must be a positive number, got '{row.get('price', '')}'")
                price = None
        if "currency" in columns:
            currency = parse_currency(row.get("currency", ""))
            if currency is None:
                issue(line, "currency",
                      f"currency must be a 3-letter code like RUB or USD, got '{row.get('currency', '')}'")
            fields["currency"] = currency
        if "stock" in columns:
            stock_text = _SPACES.sub("", row.get("stock", ""))
            if not stock_text.isdigit():
                issue(line, "stock", f"stock must be a whole number ≥ 0, got '{row.get('stock', '')}'")
            fields["stock"] = int(stock_text) if stock_text.isdigit() else 0

        promo_text = row.get("promo_price", "")
        if promo_text:
            promo = parse_money(promo_text)
            if promo is None or promo <= 0:
                issue(line, "promo_price", f"promo_price must be a positive number, got '{promo_text}'")
            elif price is not None and promo >= price:
                issue(line, "promo_price", f"promo_price {promo} must be below price {price}")
            fields["promo_price"] = promo

        fields.update(sku=sku, name=row.get("name", ""), price=price,
                      aliases=_split_list(row.get("aliases", "")), category=row.get("category", ""),
                      description=row.get("description", ""), upsell=_split_list(row.get("upsell", "")))
        items.append((line, fields))

    sku_by_key = {str(f["sku"]).upper(): str(f["sku"]) for _, f in reversed(items)}
    for line, fields in items:
        own = str(fields["sku"]).upper()
        resolved: list[str] = []
        for target in fields["upsell"]:  # type: ignore[attr-defined]
            if target.upper() == own:
                issue(line, "upsell", f"upsell '{target}' points at the item itself")
            elif target.upper() not in first_line:
                issue(line, "upsell", f"upsell '{target}' is not a sku in this catalog")
            else:
                resolved.append(sku_by_key[target.upper()])
        fields["upsell"] = tuple(resolved)

    if issues:
        raise CatalogError(sorted(issues, key=lambda i: i.line))
    built = tuple(Item.model_validate(f) for _, f in items)
    return Catalog(items=built, version=version or _content_version(normalized), source=source)


def _sniff_delimiter(header_line: str) -> str:
    """`;` for Excel-RU exports, `\\t` for pasted sheets, `,` otherwise (counted outside quotes)."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: unquoted.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def catalog_from_csv_text(text: str, source: str, *, version: str | None = None) -> Catalog:
    """Parse CSV text (BOM and `,`/`;` delimiter tolerated) and validate it with `catalog_from_rows`.

    Row-shape problems are reported with the row's line as well: more cells than the header (usually an
    unquoted delimiter inside a value, which shifts every later cell), fewer cells than the header when a
    required column is cut off, and a quoted cell that runs over following rows (an unterminated quote).
    Such rows are not validated further.
    """
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise CatalogError([CatalogIssue(source=source, line=0, column="-", reason="the file is empty")])
    delimiter = _sniff_delimiter(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    shape: list[CatalogIssue] = []

    def problem(line: int, reason: str) -> None:
        shape.append(CatalogIssue(source=source, line=line, column="-", reason=reason))

    try:
        header = next(reader)
    except csv.Error as exc:
        raise CatalogError([CatalogIssue(source=source, line=1, column="-", reason=f"bad header: {exc}")]) from None
    columns = [canonical_column(h) for h in header]
    width = len(header)

    def rows() -> Iterable[tuple[int, dict[str, str]]]:
        end = reader.line_num
        while True:
            start = end + 1
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # e.g. a quote still open at the end of the file
                problem(start, f"unterminated quote? the quoted field starting here never closes ({exc})")
                return
            end = reader.line_num  # a quoted multi-line cell spans several lines
            if not any(cell.strip() for cell in record):
                continue  # spreadsheets export blank rows (";;;;")
            if end > start and _swallows_rows(record, delimiter, width):
                problem(start, f"unterminated quote? the field spans lines {start}–{end} and contains "
                               "what look like whole rows; close the quote (\") in the row on line "
                               f"{start}")
                continue
            if len(record) > width:
                problem(start, f"the row has {len(record)} cells but the header has {width} "
                               f"(an unquoted '{delimiter}' inside a value?)")
                continue
            if len(record) < width:
                cut = [c for c in columns[len(record):] if c in REQUIRED_COLUMNS]
                if cut:
                    problem(start, f"the row has {len(record)} cells but the header has {width} "
                                   f"(missing: {', '.join(cut)})")
                    continue
            yield start, dict(zip(header, record, strict=False))

    try:
        catalog = catalog_from_rows(rows(), source, header, version=version)
    except CatalogError as exc:
        issues = exc.issues
        if shape:  # rows dropped for their shape must not also be reported as "no items"
            issues = [i for i in issues if i.line != 0]
        raise CatalogError(sorted(shape + issues, key=lambda i: i.line)) from None
    if shape:
        raise CatalogError(sorted(shape, key=lambda i: i.line))
    return catalog


def _swallows_rows(record: list[str], delimiter: str, width: int) -> bool:
    """True when a multi-line cell holds text shaped like CSV rows (a quote opened and never closed)."""
    for cell in record:
        lines = cell.split("\n")
        if len(lines) > 1 and any(line.count(delimiter) >= max(width - 1, 1) for line in lines[1:]):
            return True
    return False


def load_csv(path: Path | str) -> Catalog:
    """Load and validate a catalog CSV; its version is a short sha256 of the file bytes."""
    path = Path(path)
    source = str(path)

    def fail(reason: str) -> CatalogError:
        return CatalogError([CatalogIssue(source=source, line=0, column="-", reason=reason)])

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise fail("file not found") from None
    except OSError as exc:
        raise fail(f"cannot read the file: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise fail(f"not UTF-8 (bad byte at offset {exc.start}); save it as 'CSV UTF-8'") from None
    return catalog_from_csv_text(text, source, version=hashlib.sha256(data).hexdigest()[:12])
