"""How long `neuroseller report` takes on a busy shop's week: synthetic leads, messages and events in a
scratch PostgreSQL database, then the report built several times. Prints p50/p95 and the row counts.

    python -m benchmarks.report_sql [--leads 20000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from activities.crm.db import Database
from activities.crm.db.scratch import scratch_database
from activities.crm.report import ReportQuery, build_report
from workflows import report_events as rev

REASONS = ("human_request", "unknown_item", "question", "complaint")


def synthetic(n_leads: int, start: datetime, seed: int = 7) -> tuple[list[tuple], list[tuple]]:
    """(messages, events) of `n_leads` dialogues over a week, shaped like a real funnel."""
    rnd = random.Random(seed)
    messages: list[tuple] = []
    events: list[tuple] = []
    for i in range(n_leads):
        lead = f"lead-tg-{i}"
        at = start + timedelta(seconds=rnd.uniform(0, 7 * 86400))
        profile, variant = rnd.choice(("default", "vip")), rnd.choice(("A", "B"))
        turns = rnd.randint(1, 8)
        for t in range(turns):
            at += timedelta(seconds=rnd.uniform(5, 120))
            messages.append((f"{lead}:m:{2 * t}", lead, "customer", "…", at))
            messages.append((f"{lead}:m:{2 * t + 1}", lead, "bot", "…", at + timedelta(seconds=1)))
            ms = str(int(rnd.lognormvariate(6.5, 0.6)))
            events.append((f"{lead}:e:{t}", lead, rev.REPLY_LATENCY,
                           {"ms": ms, "channel": "tg", "profile": profile, "variant": variant, "turn": str(t + 1)}, at))
        k = turns
        for kind, p, data in ((rev.LEAD_CAPTURED, 0.6, {}), (rev.CART_ADD, 0.4, {"sku": "X"}),
                              (rev.CONTACT_LEFT, 0.3, {}), (rev.STATUS, 0.2, {"new": "checkout"}),
                              (rev.STATUS, 0.08, {"new": "won"})):
            if rnd.random() >= p:
                break
            k += 1
            events.append((f"{lead}:e:{k}", lead, kind, data, at))
        if rnd.random() < 0.05:
            k += 1
            events.append((f"{lead}:e:{k}", lead, rev.ESCALATION, {"reason": rnd.choice(REASONS)}, at))
        if rnd.random() < 0.1:
            k += 1
            events.append((f"{lead}:e:{k}", lead, rev.REFUSAL, {"kind": "no_thanks"}, at))
    return messages, events


async def main(n_leads: int, runs: int) -> None:
    start = datetime(2026, 11, 30, tzinfo=UTC)
    async with scratch_database() as dsn, Database(dsn) as db:
        await db.migrate()
        messages, events = synthetic(n_leads, start)
        pool = await db.pool()
        async with pool.acquire() as conn:
            await conn.executemany("INSERT INTO messages (key, lead_id, role, text, at) VALUES ($1, $2, $3, $4, $5)",
                                   messages)
            await conn.executemany("INSERT INTO events (key, lead_id, kind, data, at) VALUES ($1, $2, $3, $4, $5)",
                                   events)
            await conn.execute("ANALYZE")
        q = ReportQuery(since=start, until=start + timedelta(days=7))
        took = []
        for _ in range(runs):
            t0 = time.perf_counter()
            report = await build_report(pool, q)
            took.append((time.perf_counter() - t0) * 1000)
        took.sort()
        p95 = took[min(len(took) - 1, round(0.95 * (len(took) - 1)))]
        print(f"{n_leads} dialogues, {len(messages)} messages, {len(events)} events: report p50 "
              f"{statistics.median(took):.0f} ms, p95 {p95:.0f} ms over {runs} runs "
              f"(funnel {[s.count for s in report.funnel]})")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    asyncio.run(main(args.leads, args.runs))
