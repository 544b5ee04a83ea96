"""The one interface every CRM sink implements, and the flat row shape the table-like sinks share."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol, runtime_checkable

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
