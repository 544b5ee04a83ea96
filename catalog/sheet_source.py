"""The catalog from a Google Sheet (gspread, service account), validated like the CSV.

Also home of the small Sheets access helpers the CRM sheet sink reuses: one service-account
client, and rate-limit handling (429/5xx with Retry-After or exponential backoff) that gspread's
default client leaves to the caller.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from catalog.schema import Catalog, CatalogError, CatalogIssue

if TYPE_CHECKING:
    from neuroseller.settings import Settings

T = TypeVar("T")
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class SheetsUnavailable(RuntimeError):
    """Sheets kept answering 429/5xx; `retry_after` is when it suggests trying again (seconds)."""

    def __init__(self, status: int, retry_after: float) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"Google Sheets answered {status}; retry in {retry_after:.1f}s")


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP-date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def call_sheets(
    fn: Callable[[], T],
    *,
    attempts: int = 4,
    base_delay: float = 0.5,
    max_wait: float = 20.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run a blocking gspread call, waiting out 429/5xx as the server asks (Retry-After) or with
    exponential backoff. Gives up with `SheetsUnavailable` when the total wait would exceed
    `max_wait` (keep it under the activity's start-to-close timeout) or attempts run out, so the
    caller (a Temporal activity) can hand the wait to Temporal."""
    from gspread.exceptions import APIError

    waited = 0.0
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except APIError as err:
            status = err.response.status_code
            if status not in RETRYABLE_STATUS:
                raise
            delay = retry_after_seconds(err.response.headers.get("Retry-After"))
            if delay is None:
                delay = base_delay * 2 ** (attempt - 1)
            if attempt == attempts or waited + delay > max_wait:
                raise SheetsUnavailable(status, delay) from err
            sleep(delay)
            waited += delay
    raise AssertionError("unreachable")  # pragma: no cover


def open_spreadsheet(credentials_file: Path | str, spreadsheet_id: str, timeout: float = 30.0) -> Any:
    """The gspread `Spreadsheet`, authorised by a service-account JSON (share the sheet with its e-mail)."""
    import gspread

    client = gspread.service_account(filename=str(credentials_file))
    client.set_timeout(timeout)
    return call_sheets(lambda: client.open_by_key(spreadsheet_id))


class SheetCatalogSource:
    """Reads a worksheet (first one unless named); row 1 is the header, as in the CSV.

    Line numbers in validation errors are sheet row numbers, so "sheet:7: column 'price'" points
    the shop owner at the cell to fix.
    """

    def __init__(
        self,
        credentials_file: Path | str,
        spreadsheet_id: str,
        worksheet: str | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.credentials_file = Path(credentials_file)
        self.spreadsheet_id = spreadsheet_id
        self.worksheet = worksheet
        self._sleep = sleep
        self._ws: Any = None
        self._fresh: list[list[str]] | None = None  # read by fingerprint(), used by the load() that follows

    @classmethod
    def from_settings(cls, settings: Settings) -> SheetCatalogSource:
        """CATALOG_SHEET_ID (+ CATALOG_SHEET_WORKSHEET), read with GSHEET_CREDENTIALS_FILE."""
        if not settings.catalog_sheet_id or not settings.gsheet_credentials_file:
            raise CatalogError(
                [
                    CatalogIssue(
                        source="settings",
                        line=0,
                        column="CATALOG_SHEET_ID",
                        reason="a sheet catalog needs CATALOG_SHEET_ID and "
                        "GSHEET_CREDENTIALS_FILE (service-account JSON)",
                    )
                ]
            )
        return cls(
            settings.gsheet_credentials_file, settings.catalog_sheet_id, settings.catalog_sheet_worksheet
        )

    @property
    def name(self) -> str:
        return self.source

    @property
    def source(self) -> str:
        return f"gsheet:{self.spreadsheet_id}" + (f"/{self.worksheet}" if self.worksheet else "")

    def _worksheet(self) -> Any:
        if self._ws is None:
            sheet = open_spreadsheet(self.credentials_file, self.spreadsheet_id)
            self._ws = call_sheets(
                lambda: sheet.worksheet(self.worksheet) if self.worksheet else sheet.get_worksheet(0),
                sleep=self._sleep,
            )
        return self._ws

    def read_values(self) -> list[list[str]]:
        """All cell values as strings, row by row."""
        ws = self._worksheet()
        values = call_sheets(ws.get_all_values, sleep=self._sleep)
        return [[str(c) for c in row] for row in values]

    @staticmethod
    def fingerprint_of(values: list[list[str]]) -> str:
        return hashlib.sha256(json.dumps(values, ensure_ascii=False).encode()).hexdigest()[:16]

    def fingerprint(self) -> str:
        """Hash of the values: the store polls this and reloads only when it changes.

        Sheets has no cheap "modified" marker without the Drive API, so this reads the values; the
        `load()` the store calls right after reuses them instead of reading the sheet twice.
        """
        self._fresh = self.read_values()
        return self.fingerprint_of(self._fresh)

    def load(self) -> Catalog:
        return self.load_with_fingerprint()[0]

    def load_with_fingerprint(self) -> tuple[Catalog, str]:
        """One read gives both, so the fingerprint always describes the catalog returned."""
        from catalog.loader import catalog_from_rows

        values, self._fresh = (self._fresh or self.read_values()), None
        if not values or not any(c.strip() for c in values[0]):
            raise CatalogError(
                [
                    CatalogIssue(
                        source=self.source,
                        line=1,
                        column="",
                        reason="the worksheet is empty: row 1 must be the header",
                    )
                ]
            )
        header = [c.strip() for c in values[0]]
        rows = (
            (line, {name: (row[i].strip() if i < len(row) else "") for i, name in enumerate(header) if name})
            for line, row in enumerate(values[1:], start=2)
            if any(c.strip() for c in row)  # blank rows are common in sheets and mean nothing
        )
        return catalog_from_rows(
            rows, source=self.source, header=[h for h in header if h]
        ), self.fingerprint_of(values)
