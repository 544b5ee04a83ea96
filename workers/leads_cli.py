"""`neuroseller leads` / `leads export` / `lead`: the CRM as a sales manager reads it in a terminal.

Contacts are shown in full here (the operator running the CLI is the business); logs and the
dialogue log stay masked.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from activities.crm.base import LEAD_COLUMNS, lead_row, spreadsheet_writer
from activities.crm.db import Database
from neuroseller.settings import Settings
from workers.embedded_postgres import EmbeddedPostgres, discover_dsn, embedded_root
from workflows.types import LeadRecord, LeadStatus

_SINCE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """`7d`, `24h`, `30m`, `2w`, or a date/time (`2026-11-01`, `2026-11-01T09:00`, UTC if no zone)."""
    now = now or datetime.now(UTC)
    m = _SINCE.match(value.strip().lower())
    if m:
        return now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--since: expected 7d, 24h, 30m, 2w or a date like 2026-11-01, got {value!r}"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def register(subparsers: Any) -> None:
    """Add `leads` (with `export`) and `lead` to the `neuroseller` argparse subparsers.

    Each parser sets `func`: `async def func(args, settings) -> int` (the exit code), which
    `workers.cli` awaits.
    """
    leads = subparsers.add_parser("leads", help="list leads from the CRM (newest first)")
    _filters(leads)
    leads.set_defaults(func=list_leads)
    actions = leads.add_subparsers(dest="leads_action", metavar="{export}")
    export = actions.add_parser("export", help="write leads to a CSV file")
    _filters(export)
    export.add_argument("--csv", required=True, type=Path, metavar="FILE", help="output file")
    export.set_defaults(func=export_leads)
    lead = subparsers.add_parser("lead", help="one lead: fields, transcript, events")
    lead.add_argument("lead_id", metavar="LEAD_ID")
    lead.set_defaults(func=show_lead)


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", choices=[s.value for s in LeadStatus], help="only leads with this status")
    parser.add_argument(
        "--since", type=parse_since, metavar="AGE|DATE", help="updated since: 7d, 24h, 2026-11-01"
    )
    parser.add_argument("--limit", type=int, default=None, help="at most this many leads")


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """DATABASE_URL, or the embedded server `neuroseller up` runs; when that is not running, start the
    embedded server just for this command (the data is on disk) and stop it afterwards."""
    dsn = discover_dsn(settings)
    server: EmbeddedPostgres | None = None
    if dsn is None:
        server = EmbeddedPostgres(embedded_root(settings), settings.embedded_pg_port)
        dsn = await server.start()
    try:
        async with Database(dsn, min_size=1, max_size=2) as db:
            await db.migrate()  # a fresh install answers "no leads", not "relation does not exist"
            yield db
    finally:
        if server is not None:
            await server.stop()


def _contact(lead: LeadRecord) -> str:
    return lead.contact or lead.phone or lead.email or lead.username or ""


def _amount(lead: LeadRecord) -> str:
    if lead.amount is None:
        return ""
    return f"{lead.amount:,.2f}".replace(",", " ") + (f" {lead.currency}" if lead.currency else "")


def _when(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if at else ""


def render_table(rows: Sequence[Sequence[str]], header: Sequence[str], width: int = 32) -> str:
    cells = [[c if len(c) <= width else c[: width - 1] + "…" for c in row] for row in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


async def list_leads(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    async with open_database(settings) as db:
        leads = await db.list_leads(status=args.status, since=args.since, limit=args.limit)
    if not leads:
        print("no leads" + (f" with status {args.status}" if args.status else ""), file=out)
        return 0
    rows = [
        [x.lead_id, str(x.status), x.name or "", _contact(x), _amount(x), _when(x.updated_at)] for x in leads
    ]
    print(render_table(rows, ["id", "status", "name", "contact", "amount", "updated (UTC)"]), file=out)
    print(f"{len(leads)} lead(s)", file=out)
    return 0


async def export_leads(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    async with open_database(settings) as db:
        leads = await db.list_leads(status=args.status, since=args.since, limit=args.limit)
    path: Path = args.csv
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8-sig") as f:  # BOM: Excel opens Cyrillic correctly
        writer = spreadsheet_writer(f)  # customer text never becomes a live formula in Excel
        writer.writerow(LEAD_COLUMNS)
        writer.writerows(lead_row(x) for x in leads)
    print(f"exported {len(leads)} lead(s) to {path}", file=out)
    return 0


async def show_lead(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    async with open_database(settings) as db:
        lead = await db.get_lead(args.lead_id)
        messages = await db.messages(args.lead_id)
        events = await db.events(args.lead_id)
    if lead is None and not messages:
        print(f"no lead {args.lead_id!r}", file=sys.stderr)
        return 1
    if lead is not None:
        for name, value in zip(LEAD_COLUMNS, lead_row(lead), strict=True):
            if value:
                print(f"{name + ':':<19}{value}", file=out)
    else:
        print(f"{args.lead_id}: no buying intent yet (dialogue only)", file=out)
    print(f"\ntranscript ({len(messages)}):", file=out)
    for m in messages:
        print(f"  [{_when(m.at)}] {m.role}: {m.text}", file=out)
    print(f"\nevents ({len(events)}):", file=out)
    for e in events:
        data = " ".join(f"{k}={v}" for k, v in sorted(e.data.items()))
        print(f"  [{_when(e.at)}] {e.kind} {data}".rstrip(), file=out)
    return 0
