"""The one interface every CRM sink implements, and the flat row shape the table-like sinks share."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import IO, Protocol, runtime_checkable

from workflows.types import LeadRecord, PersistBatch

# Column order of the sheet and CSV sinks; `lead_id` first, because rows are found by column A.
LEAD_COLUMNS: tuple[str, ...] = (
    "lead_id",
    "status",
    "name",
    "contact",
    "phone",
    "email",
    "username",
    "request",
    "items",
    "amount",
    "currency",
    "channel",
    "stage",
    "escalated",
    "escalation_reason",
    "dialogue_link",
    "ui_link",
    "created_at",
    "updated_at",
    "workflow_id",
    "chat_id",
)


@runtime_checkable
class LeadSink(Protocol):
    """A CRM destination. `write` must be idempotent: Temporal calls it again after any failure,
    including one that happened after the data had already landed."""

    name: str

    async def write(self, batch: PersistBatch) -> None: ...


def lead_row(lead: LeadRecord) -> list[str]:
    """The lead as strings in `LEAD_COLUMNS` order (what a manager sees in a spreadsheet)."""
    data = lead.model_dump()
    out: list[str] = []
    for column in LEAD_COLUMNS:
        value = data[column]
        if value is None:
            out.append("")
        elif column == "items":
            out.append(", ".join(value))
        elif isinstance(value, bool):
            out.append("yes" if value else "no")
        elif isinstance(value, Decimal):
            out.append(format(value, "f"))
        elif hasattr(value, "isoformat"):
            out.append(value.isoformat(timespec="seconds"))
        else:
            out.append(str(value))
    return out


def spreadsheet_writer(f: IO[str]):
    """A CSV writer whose cells a spreadsheet never runs as formulas (OWASP "CSV injection").

    Customer text (a name, a request) reaches a file a manager opens in Excel: `=HYPERLINK(...)` or
    `+cmd|...` would become live. `defusedcsv` prefixes such cells with an apostrophe (shown as text,
    not printed); a leading tab or carriage return, which Excel skips before reading a formula, is
    escaped the same way here. A phone like `+7 912…` therefore shows as text, which is what it is.
    """
    from defusedcsv import csv as defused

    class _Writer:
        def __init__(self) -> None:
            self._w = defused.writer(f)

        def writerow(self, row: Iterable[object]) -> None:
            self._w.writerow([_leading_blank(v) for v in row])

        def writerows(self, rows: Iterable[Iterable[object]]) -> None:
            for row in rows:
                self.writerow(row)

    return _Writer()


def _leading_blank(value: object) -> object:
    return "'" + value if isinstance(value, str) and value[:1] in ("\t", "\r") else value
