"""Google Sheet sink: one row per lead, updated in place, for shops whose CRM is a spreadsheet."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.exceptions import ApplicationError

from activities.crm.base import LEAD_COLUMNS, lead_row
from catalog.sheet_source import SheetsUnavailable, call_sheets, open_spreadsheet
from workflows.types import PersistBatch


def _a1_column(n: int) -> str:
    letters = ""
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


class SheetSink:
    """Finds the lead's row by `lead_id` in column A and overwrites it, or appends a new row.

    gspread is blocking, so every call runs in a thread. Short rate limits are waited out here;
    a long one becomes the activity's `next_retry_delay`, so Temporal (not a sleeping thread)
    holds the retry.
    """

    name = "gsheet"

    def __init__(self, credentials_file: Path | str, spreadsheet_id: str, worksheet: str = "Leads") -> None:
        self.credentials_file = credentials_file
        self.spreadsheet_id = spreadsheet_id
        self.worksheet = worksheet
        self._ws: Any = None
        self._lock = asyncio.Lock()

    async def write(self, batch: PersistBatch) -> None:
        if batch.lead is None:
            return
        row = lead_row(batch.lead)
        async with self._lock:  # find-then-write must not interleave with another lead's append
            try:
                await asyncio.to_thread(self._upsert, row)
            except SheetsUnavailable as err:
                raise ApplicationError(
                    str(err),
                    type="SheetsUnavailable",
                    next_retry_delay=timedelta(seconds=max(1.0, err.retry_after)),
                ) from err

    def _worksheet(self) -> Any:
        if self._ws is None:
            import gspread

            sheet = open_spreadsheet(self.credentials_file, self.spreadsheet_id)
            try:
                self._ws = call_sheets(lambda: sheet.worksheet(self.worksheet))
            except gspread.WorksheetNotFound:
                self._ws = call_sheets(
                    lambda: sheet.add_worksheet(self.worksheet, rows=1000, cols=len(LEAD_COLUMNS))
                )
        return self._ws

    def _upsert(self, row: list[str]) -> None:
        ws = self._worksheet()
        ids = call_sheets(lambda: ws.col_values(1))
        last = _a1_column(len(LEAD_COLUMNS))
        if not ids or ids[0] != LEAD_COLUMNS[0]:
            if any(ids):
                raise ApplicationError(
                    f"worksheet {self.worksheet!r} has data but cell A1 is not 'lead_id'; "
                    "point GSHEET_WORKSHEET at an empty or neuroseller-made sheet",
                    type="SheetLayout",
                    non_retryable=True,
                )
            call_sheets(lambda: ws.update([list(LEAD_COLUMNS)], f"A1:{last}1", value_input_option="RAW"))
            ids = [LEAD_COLUMNS[0]]
        if row[0] in ids:
            n = ids.index(row[0]) + 1
            # RAW, never USER_ENTERED: a customer's "=HYPERLINK(...)" stays text in the sheet
            call_sheets(lambda: ws.update([row], f"A{n}:{last}{n}", value_input_option="RAW"))
        else:
            call_sheets(lambda: ws.append_row(row, table_range="A1", value_input_option="RAW"))
