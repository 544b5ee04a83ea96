"""The catalog from a Google Sheet: gspread's real request path against the loopback Sheets server."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from catalog.schema import CatalogError
from catalog.sheet_source import SheetCatalogSource
from catalog.store import CatalogStore
from neuroseller.settings import Settings
from tests.fakes.sheets_server import FakeSheets, point_gspread_at, write_service_account


@pytest.fixture
async def sheet(
    tmp_path: Path, sample_catalog_path: Path
) -> AsyncIterator[tuple[FakeSheets, SheetCatalogSource]]:
    with sample_catalog_path.open(encoding="utf-8") as f:
        grid = [row for row in csv.reader(f)]
    fake = await FakeSheets(sheets={"Каталог": grid}).start()
    point_gspread_at(fake.base_url)
    creds = write_service_account(tmp_path / "sa.json", f"{fake.base_url}/token")
    settings = Settings(
        _env_file=None,
        catalog_sheet_id=fake.spreadsheet_id,
        gsheet_credentials_file=creds,
        catalog_sheet_worksheet="Каталог",
    )
    yield fake, SheetCatalogSource.from_settings(settings)
    await fake.stop()


async def test_sheet_catalog_matches_the_csv(sheet: tuple[FakeSheets, SheetCatalogSource]) -> None:
    fake, source = sheet
    catalog = await asyncio.to_thread(source.load)
    assert len(catalog) == len(fake.sheets["Каталог"]) - 1
    assert catalog.get("TENT-2P") is not None
    assert source.name == "gsheet:sheet-1/Каталог"


async def test_errors_name_the_sheet_row_and_column(sheet: tuple[FakeSheets, SheetCatalogSource]) -> None:
    fake, source = sheet
    header = fake.sheets["Каталог"][0]
    fake.sheets["Каталог"][3][header.index("price")] = "дорого"
    fake.sheets["Каталог"].insert(2, [""] * len(header))  # a blank row: skipped, numbering kept
    with pytest.raises(CatalogError) as err:
        await asyncio.to_thread(source.load)
    assert [(i.line, i.column) for i in err.value.issues] == [(5, "price")]


async def test_store_reloads_when_the_sheet_changes(sheet: tuple[FakeSheets, SheetCatalogSource]) -> None:
    fake, source = sheet
    store = CatalogStore(source=source.load, fingerprint=source.fingerprint, name=source.name)
    await asyncio.to_thread(store.load)
    first = store.catalog.version
    assert await asyncio.to_thread(store.reload_if_changed) is False
    header = fake.sheets["Каталог"][0]
    fake.sheets["Каталог"][1][header.index("stock")] = "0"
    assert await asyncio.to_thread(store.reload_if_changed) is True
    assert store.catalog.version != first
    tent = fake.sheets["Каталог"][1][header.index("sku")]
    assert store.catalog.get(tent).stock == 0


async def test_a_rate_limited_read_waits_and_succeeds(sheet: tuple[FakeSheets, SheetCatalogSource]) -> None:
    fake, source = sheet
    await asyncio.to_thread(source.fingerprint)
    await asyncio.to_thread(source.load)  # reuses the values fingerprint() just read: no request
    requests_before = len(fake.requests)
    fake.fail_next(2, 503, retry_after=None)
    assert len(await asyncio.to_thread(source.load)) > 0
    assert [status for *_, status in fake.requests[requests_before:]] == [503, 503, 200]


async def test_empty_sheet_and_missing_settings_are_catalog_errors(
    sheet: tuple[FakeSheets, SheetCatalogSource],
) -> None:
    fake, source = sheet
    fake.sheets["Каталог"] = []
    with pytest.raises(CatalogError, match="empty"):
        await asyncio.to_thread(source.load)
    with pytest.raises(CatalogError, match="CATALOG_SHEET_ID"):
        SheetCatalogSource.from_settings(Settings(_env_file=None))


async def test_first_worksheet_when_none_is_named(sheet: tuple[FakeSheets, SheetCatalogSource]) -> None:
    _, named = sheet
    source = SheetCatalogSource(named.credentials_file, named.spreadsheet_id)
    assert source.source == "gsheet:sheet-1"
    assert len(await asyncio.to_thread(source.load)) > 0
