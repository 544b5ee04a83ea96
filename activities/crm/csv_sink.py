"""CSV sink: one row per lead in a file a manager can open in Excel (UTF-8 with BOM)."""

from __future__ import annotations

import asyncio
import csv
import fcntl
import os
import tempfile
from pathlib import Path

from activities.crm.base import LEAD_COLUMNS, lead_row, spreadsheet_writer
from workflows.types import PersistBatch


class CsvSink:
    """Upserts the lead's row and rewrites the file atomically (temp file + rename), so a reader or
    a crash never sees half a file. A lock file serialises writers across worker processes."""

    name = "csv"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = asyncio.Lock()

    async def write(self, batch: PersistBatch) -> None:
        if batch.lead is None:  # only leads go to a spreadsheet; the dialogue log stays in PostgreSQL
            return
        row = lead_row(batch.lead)
        async with self._lock:
            await asyncio.to_thread(self._upsert, row)

    def read_rows(self) -> list[dict[str, str]]:
        if not self.path.exists():
            return []
        with self.path.open(newline="", encoding="utf-8-sig") as f:
            return list(csv.DictReader(f))

    def _upsert(self, row: list[str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            rows = self.read_rows()
            new = dict(zip(LEAD_COLUMNS, row, strict=True))
            for i, existing in enumerate(rows):
                if existing.get("lead_id") == new["lead_id"]:
                    if new["updated_at"] and existing.get("updated_at", "") > new["updated_at"]:
                        return  # a retried, older snapshot: the file already has a newer one
                    rows[i] = new
                    break
            else:
                rows.append(new)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", newline="", encoding="utf-8-sig") as f:
                    writer = spreadsheet_writer(f)
                    writer.writerow(LEAD_COLUMNS)
                    writer.writerows([r.get(c, "") for c in LEAD_COLUMNS] for r in rows)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                os.unlink(tmp)
                raise
