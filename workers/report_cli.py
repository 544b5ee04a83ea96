"""`neuroseller report`: the Monday-morning sales report, in the terminal or as one HTML page.

Figures come from `activities.crm.report` (SQL over the CRM tables); this module only parses the
command line and lays the figures out.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import asyncpg

from activities.crm.report import Count, Report, ReportQuery, build_report
from neuroseller.settings import Settings
from workers.leads_cli import open_database, parse_since, render_table


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("report", help="sales report: funnel, reply times, escalations, refusals, A/B")
    p.add_argument("--since", type=parse_since, default=None, metavar="AGE|DATE",
                   help="start of the period: 7d (default), 24h, 2w, 2026-11-01")
    p.add_argument("--until", type=parse_since, default=None, metavar="AGE|DATE",
                   help="end of the period (exclusive): now (default), 1d, 2026-11-08")
    p.add_argument("--profile", help="only dialogues of this sales profile")
    p.add_argument("--channel", help="only this channel (tg, local, voice, …)")
    p.add_argument("--tz", help="time zone of the day-by-day figures (default REPORT_TIMEZONE)")
    p.add_argument("--html", type=Path, metavar="FILE", help="also write the report with charts to one HTML file")
    p.set_defaults(func=run_report)


def query_from(args: argparse.Namespace, settings: Settings, now: datetime | None = None) -> ReportQuery:
    now = now or datetime.now(UTC)
    until = args.until or now
    since = args.since or parse_since("7d", until)
    if since >= until:
        raise argparse.ArgumentTypeError(f"--since ({since:%Y-%m-%d %H:%M}) must be before --until "
                                         f"({until:%Y-%m-%d %H:%M})")
    return ReportQuery(since=since, until=until, profile=args.profile, channel=args.channel,
                       timezone=args.tz or settings.report_timezone)


async def run_report(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        q = query_from(args, settings)
    except argparse.ArgumentTypeError as err:
        print(f"neuroseller report: {err}", file=sys.stderr)
        return 2
    try:
        async with open_database(settings) as db:
            report = await build_report(await db.pool(), q)
    except (OSError, asyncpg.PostgresError) as err:  # no server, no such database, an unknown --tz
        print(f"neuroseller report: database: {err}", file=sys.stderr)
        return 2
    print(render_text(report), file=out)
    if args.html:
        from workers.report_html import write_html

        write_html(report, args.html)
        print(f"\nHTML report: {args.html}", file=out)
    return 0


# ---- text layout ------------------------------------------------------------------------------------


def pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.0f}%"


def secs(ms: float | None) -> str:
    return "—" if ms is None else f"{ms / 1000:.2f} s"


def dur(s: float | None) -> str:
    if s is None:
        return "—"
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min" if s < 7200 else f"{s / 3600:.1f} h"


def _counts(title: str, rows: list[Count], empty: str = "none") -> str:
    if not rows:
        return f"{title}: {empty}"
    return f"{title}: " + ", ".join(f"{r.key or '—'} {r.count}" for r in rows)


def period(q: ReportQuery) -> str:
    scope = "".join(f" · {k} {v}" for k, v in (("profile", q.profile), ("channel", q.channel)) if v)
    return f"{q.since:%Y-%m-%d %H:%M} — {q.until:%Y-%m-%d %H:%M} UTC{scope}"


def render_text(r: Report) -> str:
    lines = [f"Sales report {period(r.query)}", ""]
    lines.append("Funnel (dialogues that started in the period, and where they got):")
    lines.append(render_table([[s.name, str(s.count), pct(s.conversion), pct(s.of_dialogues)] for s in r.funnel],
                              ["step", "count", "from previous", "from dialogues"]))
    lines.append(f"Carts without a contact (abandoned): {r.carts_without_contact}")
    if r.revenue:
        lines.append("Won: " + ", ".join(f"{x.amount:,.0f} {x.currency}".replace(",", " ") + f" ({x.orders} orders)"
                                         for x in r.revenue))
    lines += ["", f"Reply time ({r.reply.count} replies): p50 {secs(r.reply.p50_ms)} · p95 {secs(r.reply.p95_ms)}"
              f" · p99 {secs(r.reply.p99_ms)}"]
    if r.reply.count:
        lines.append("  " + " · ".join(f"{b.label}: {b.count}" for b in r.reply_histogram if b.count))
    lines += ["", "Escalations:"]
    if r.escalations:
        lines.append(render_table([[e.reason, str(e.count), str(e.taken), dur(e.takeover_p50_s), dur(e.takeover_max_s)]
                                   for e in r.escalations],
                                  ["reason", "count", "taken over", "takeover p50", "takeover max"]))
    else:
        lines.append("  none")
    lines += ["", _counts("Refusals", r.refusals), _counts("Guard (model drafts)", r.guard, "no model replies"),
              _counts("Failovers to rules", r.failovers)]
    for m in r.model:
        lines.append(f"Model {m.provider}: {m.calls} calls, p50 {secs(m.p50_ms)}, tokens {m.tokens_in} in / "
                     f"{m.tokens_out} out")
    f = r.followups
    def of_leads(n: int) -> str:
        return pct(n / f.leads if f.leads else None)

    lines += ["", f"Follow-ups: {f.sent} sent to {f.leads} leads; {f.replied} replied ({of_leads(f.replied)}),"
              f" {f.converted} reached checkout ({of_leads(f.converted)})",
              _counts("Proactive sent", r.proactive_sent), _counts("Proactive suppressed", r.proactive_suppressed)]
    for dim, rows in r.segments.items():
        lines += ["", f"By {dim}:"]
        lines.append(render_table(
            [[s.value, str(s.dialogues), str(s.intent), str(s.contact), str(s.cart), str(s.checkout), str(s.won),
              pct(s.won_rate), secs(s.reply_p50_ms), str(s.escalations)] for s in rows],
            [dim, "dialogues", "intent", "contact", "cart", "checkout", "won", "won %", "reply p50", "escalations"]))
    return "\n".join(lines)
