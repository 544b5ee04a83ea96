"""CRM sinks behind one interface (`LeadSink`), and `make_sinks` that builds them from settings."""

from __future__ import annotations

from activities.crm.base import LEAD_COLUMNS, LeadSink, lead_row
from activities.crm.csv_sink import CsvSink
from activities.crm.db import Database
from activities.crm.postgres_sink import PostgresSink
from activities.crm.sheet_sink import SheetSink
from activities.crm.webhook_sink import WebhookSink
from neuroseller.settings import Settings

__all__ = [
    "LEAD_COLUMNS",
    "CsvSink",
    "LeadSink",
    "PostgresSink",
    "SheetSink",
    "WebhookSink",
    "lead_row",
    "make_sinks",
    "sink_names",
]

_ALIASES = {
    "gsheet": "gsheet",
    "sheet": "gsheet",
    "sheets": "gsheet",
    "google_sheet": "gsheet",
    "csv": "csv",
    "webhook": "webhook",
    "postgres": "postgres",
    "postgresql": "postgres",
}


def sink_names(spec: str) -> list[str]:
    """Canonical sink names from `CRM_SINKS` ("csv,webhook,gsheet"); postgres always first."""
    names = ["postgres"]
    for raw in spec.replace(";", ",").split(","):
        key = raw.strip().lower()
        if not key:
            continue
        if key not in _ALIASES:
            raise ValueError(f"CRM_SINKS: unknown sink {raw.strip()!r} (known: csv, webhook, gsheet)")
        if _ALIASES[key] not in names:
            names.append(_ALIASES[key])
    return names


def make_sinks(settings: Settings, db: Database) -> dict[str, LeadSink]:
    """The sinks `settings.crm_sinks` asks for, checked up front so a missing setting fails at start."""
    sinks: dict[str, LeadSink] = {}
    for name in sink_names(settings.crm_sinks):
        if name == "postgres":
            sinks[name] = PostgresSink(db)
        elif name == "csv":
            sinks[name] = CsvSink(settings.crm_csv_path)
        elif name == "webhook":
            if not settings.crm_webhook_url or not settings.crm_webhook_secret:
                raise ValueError("CRM_SINKS has 'webhook': set CRM_WEBHOOK_URL and CRM_WEBHOOK_SECRET")
            sinks[name] = WebhookSink(
                settings.crm_webhook_url,
                settings.crm_webhook_secret.get_secret_value(),
                timeout_seconds=settings.crm_webhook_timeout_seconds,
            )
        else:
            if not settings.gsheet_credentials_file or not settings.gsheet_spreadsheet_id:
                raise ValueError(
                    "CRM_SINKS has 'gsheet': set GSHEET_CREDENTIALS_FILE and GSHEET_SPREADSHEET_ID"
                )
            sinks[name] = SheetSink(
                settings.gsheet_credentials_file, settings.gsheet_spreadsheet_id, settings.gsheet_worksheet
            )
    return sinks
