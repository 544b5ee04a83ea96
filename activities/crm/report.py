"""The sales report, computed in SQL from the CRM tables (`leads`, `messages`, `events`).

Every figure is a query over what the lead workflows recorded (`workflows/report_events.py` names
the kinds), never a counter kept in memory, so a report for last week is the same tomorrow.

The funnel is nested in the order the issue asks for: each step counts the dialogues that got at
least that far *and* through every step before it (checkout implies a cart and a contact, won implies
checkout). A cart left without a contact is counted apart (`carts_without_contact`): those are the
abandoned carts a follow-up should win back.

Two populations:
- the **cohort**: dialogues whose first customer message falls in [since, until); the funnel follows
  them to wherever they got by `until` (a dialogue of Sunday that pays on Tuesday counts as won);
- **events in the window**: reply times, escalations, refusals, guard verdicts, follow-ups that
  happened in [since, until), for the dialogues that pass the filters.

Dimensions (profile, A/B variant, campaign, channel) come from a `leads` column when the schema has
one, else from the latest event that carries the key — so columns other features add later are
picked up without a change here.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime

import asyncpg
from pydantic import BaseModel, Field

from workflows import report_events as rev

# reply-time histogram edges, ms: what a customer feels (instant, fine, slow, gone)
REPLY_EDGES_MS = (500, 1000, 2000, 3000, 5000, 10_000, 30_000, 60_000)
FUNNEL = ("dialogues", "buying intent", "lead with contact", "cart", "checkout", "won")
MAX_DAYS = 400


class ReportQuery(BaseModel):
    since: datetime
    until: datetime
    profile: str | None = None
    channel: str | None = None
    timezone: str = "UTC"  # days of the "over time" table, as the sales team lives them


class FunnelStep(BaseModel):
    name: str
    count: int
    conversion: float | None = None  # from the previous step
    of_dialogues: float | None = None


class Latency(BaseModel):
    count: int = 0
    avg_ms: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None


class Bucket(BaseModel):
    label: str
    count: int


class EscalationRow(BaseModel):
    reason: str
    count: int
    taken: int
    takeover_p50_s: float | None = None
    takeover_max_s: float | None = None


class Count(BaseModel):
    key: str
    count: int


class ModelRow(BaseModel):
    provider: str
    calls: int
    p50_ms: float | None = None
    tokens_in: int = 0
    tokens_out: int = 0


class FollowUps(BaseModel):
    sent: int = 0
    leads: int = 0
    replied: int = 0  # the customer wrote again after the first follow-up
    converted: int = 0  # reached checkout or won after it


class Segment(BaseModel):
    value: str
    dialogues: int
    intent: int
    contact: int
    cart: int
    checkout: int
    won: int
    reply_p50_ms: float | None = None
    escalations: int = 0

    @property
    def won_rate(self) -> float | None:
        return self.won / self.dialogues if self.dialogues else None


class Day(BaseModel):
    day: date
    dialogues: int
    leads: int
    won: int
    escalations: int


class Revenue(BaseModel):
    currency: str
    amount: float
    orders: int


class Report(BaseModel):
    query: ReportQuery
    funnel: list[FunnelStep]
    carts_without_contact: int = 0
    revenue: list[Revenue] = Field(default_factory=list)
    reply: Latency = Field(default_factory=Latency)
    reply_histogram: list[Bucket] = Field(default_factory=list)
    escalations: list[EscalationRow] = Field(default_factory=list)
    refusals: list[Count] = Field(default_factory=list)
    guard: list[Count] = Field(default_factory=list)
    failovers: list[Count] = Field(default_factory=list)
    model: list[ModelRow] = Field(default_factory=list)
    followups: FollowUps = Field(default_factory=FollowUps)
    proactive_sent: list[Count] = Field(default_factory=list)
    proactive_suppressed: list[Count] = Field(default_factory=list)
    segments: dict[str, list[Segment]] = Field(default_factory=dict)  # dimension → rows, only when recorded
    days: list[Day] = Field(default_factory=list)


def bucket_labels(edges: tuple[int, ...] = REPLY_EDGES_MS) -> list[str]:
    def s(ms: int) -> str:
        return f"{ms / 1000:g}s"

    return [f"< {s(edges[0])}", *(f"{s(a)}–{s(b)}" for a, b in itertools.pairwise(edges)),
            f"≥ {s(edges[-1])}"]


# ---- SQL -------------------------------------------------------------------------------------------

_WINDOW = "e.at >= $1 AND e.at < $2"


def _num(expr: str) -> str:
    """A text value as a number; anything malformed reads as NULL instead of failing the report."""
    return f"(CASE WHEN {expr} ~ '^-?[0-9]+(\\.[0-9]+)?$' THEN ({expr})::float8 END)"


def _latest(key: str) -> str:
    """The latest non-empty value of `key` in the lead's events (one pass with the funnel steps)."""
    return (f"(array_agg(e.data->>'{key}' ORDER BY e.at DESC, e.seq DESC)"
            f" FILTER (WHERE coalesce(e.data->>'{key}', '') <> ''))[1] AS {key}")


def _dimension(key: str, lead_columns: set[str]) -> str:
    parts = [f"NULLIF(l.{key}, '')"] if key in lead_columns else []
    parts.append(f"s.{key}")
    if key == "channel":
        parts.append("NULLIF(split_part(a.lead_id, '-', 2), '')")  # lead-<channel>-<chat id>
    return f"COALESCE({', '.join(parts)})" if len(parts) > 1 else parts[0]


def _cohort_sql(lead_columns: set[str]) -> str:
    dims = ",\n        ".join(f"{_dimension(d, lead_columns)} AS {d}" for d in rev.DIMENSIONS)
    latest = ",\n            ".join(_latest(d) for d in rev.DIMENSIONS)

    def status_in(values: str) -> str:
        return f"(e.kind = '{rev.STATUS}' AND e.data->>'new' IN ({values}))"

    paid = f"(e.kind = '{rev.CART_EVENT}' AND e.data->>'action' = 'paid')"  # sets `won` without a status event

    return f"""
INSERT INTO rpt_leads
SELECT * FROM (
    WITH active AS (
        SELECT lead_id FROM messages WHERE at >= $1 AND at < $2
        UNION SELECT lead_id FROM events WHERE at >= $1 AND at < $2
    ), steps AS (
        SELECT e.lead_id,
            bool_or(e.kind = '{rev.LEAD_CAPTURED}') AS captured,
            bool_or(e.kind = '{rev.CONTACT_LEFT}') AS contact,
            bool_or(e.kind = '{rev.CART_ADD}' OR {status_in("'cart', 'checkout', 'won'")} OR {paid}
                    OR (e.kind = '{rev.CART_EVENT}' AND e.data->>'action' = 'add')) AS cart,
            bool_or({status_in("'checkout', 'won'")} OR {paid}) AS checkout,
            bool_or({status_in("'won'")} OR {paid}) AS won,
            {latest}
        FROM events e JOIN active USING (lead_id) WHERE e.at < $2 GROUP BY e.lead_id
    ), started AS (
        SELECT m.lead_id, min(m.at) AS started_at FROM messages m JOIN active USING (lead_id)
        WHERE m.role = 'customer' GROUP BY m.lead_id
    )
    SELECT a.lead_id, st.started_at,
        {dims},
        coalesce(s.captured OR s.contact OR s.cart OR s.checkout, false) AS intent,
        coalesce(s.contact OR s.checkout, false) AS contact,
        coalesce(s.cart OR s.checkout, false) AS cart,
        coalesce(s.checkout, false) AS checkout,
        coalesce(s.won, false) AS won
    FROM active a LEFT JOIN leads l USING (lead_id) LEFT JOIN steps s USING (lead_id)
        LEFT JOIN started st USING (lead_id)
) x
WHERE ($3::text IS NULL OR profile = $3) AND ($4::text IS NULL OR channel = $4)
"""


_TEMP_TABLE = f"""
CREATE TEMP TABLE rpt_leads (lead_id text PRIMARY KEY, started_at timestamptz,
    {", ".join(f"{d} text" for d in rev.DIMENSIONS)},
    intent boolean, contact boolean, cart boolean, checkout boolean, won boolean) ON COMMIT DROP
"""

_COHORT = "started_at >= $1 AND started_at < $2"

_FUNNEL = f"""
SELECT count(*) AS dialogues, count(*) FILTER (WHERE intent) AS intent, count(*) FILTER (WHERE contact) AS contact,
       count(*) FILTER (WHERE cart AND contact) AS cart, count(*) FILTER (WHERE checkout) AS checkout,
       count(*) FILTER (WHERE won) AS won, count(*) FILTER (WHERE cart AND NOT contact) AS carts_without_contact
FROM rpt_leads WHERE {_COHORT}
"""

_REVENUE = """
SELECT coalesce(l.currency, '') AS currency, sum(l.amount)::float8 AS amount, count(*) AS orders
FROM rpt_leads r JOIN leads l USING (lead_id)
WHERE r.started_at >= $1 AND r.started_at < $2 AND r.won AND l.amount IS NOT NULL
GROUP BY 1 ORDER BY 2 DESC
"""

_MS = _num("e.data->>'ms'")

_REPLY = f"""
SELECT count(ms) AS count, avg(ms) AS avg_ms,
       percentile_cont(ARRAY[0.5, 0.95, 0.99]::float8[]) WITHIN GROUP (ORDER BY ms) AS p
FROM (SELECT {_MS} AS ms FROM events e JOIN rpt_leads USING (lead_id)
      WHERE e.kind = '{rev.REPLY_LATENCY}' AND {_WINDOW}) x
"""

_HISTOGRAM = f"""
SELECT b AS bucket, count(x.ms) AS count
FROM generate_series(0, $3::int) b
LEFT JOIN (SELECT {_MS} AS ms FROM events e JOIN rpt_leads USING (lead_id)
           WHERE e.kind = '{rev.REPLY_LATENCY}' AND {_WINDOW}) x
       ON width_bucket(x.ms, $4::float8[]) = b
GROUP BY b ORDER BY b
"""

_SECONDS = _num("e.data->>'seconds'")

_ESCALATIONS = f"""
WITH esc AS (
    SELECT coalesce(e.data->>'reason', '') AS reason, count(*) AS n
    FROM events e JOIN rpt_leads USING (lead_id) WHERE e.kind = '{rev.ESCALATION}' AND {_WINDOW} GROUP BY 1
), tk AS (
    SELECT coalesce(e.data->>'reason', '') AS reason, count(*) AS n,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY {_SECONDS}) AS p50, max({_SECONDS}) AS mx
    FROM events e JOIN rpt_leads USING (lead_id) WHERE e.kind = '{rev.TAKEOVER}' AND {_WINDOW} GROUP BY 1
)
SELECT reason, coalesce(esc.n, 0) AS count, coalesce(tk.n, 0) AS taken, tk.p50, tk.mx
FROM esc FULL JOIN tk USING (reason) ORDER BY 2 DESC, 1
"""

_COUNT_BY = f"""
SELECT coalesce(e.data->>$4, '') AS key, count(*) AS count
FROM events e JOIN rpt_leads USING (lead_id) WHERE e.kind = $3 AND {_WINDOW}
GROUP BY 1 ORDER BY 2 DESC, 1
"""

_MODEL = f"""
SELECT coalesce(e.data->>'provider', '') AS provider, count(*) AS calls,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY {_MS}) AS p50_ms,
       coalesce(sum({_num("e.data->>'tokens_in'")}), 0)::bigint AS tokens_in,
       coalesce(sum({_num("e.data->>'tokens_out'")}), 0)::bigint AS tokens_out
FROM events e JOIN rpt_leads USING (lead_id) WHERE e.kind = '{rev.MODEL_CALL}' AND {_WINDOW}
GROUP BY 1 ORDER BY 2 DESC
"""

_FOLLOWUPS = f"""
WITH f AS (
    SELECT e.lead_id, min(e.at) AS first_at, count(*) AS n
    FROM events e JOIN rpt_leads USING (lead_id) WHERE e.kind = '{rev.FOLLOWUP_SENT}' AND {_WINDOW}
    GROUP BY 1
)
SELECT coalesce(sum(n), 0)::bigint AS sent, count(*) AS leads,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM messages m WHERE m.lead_id = f.lead_id AND m.role = 'customer'
                                      AND m.at > f.first_at AND m.at < $2)) AS replied,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM events s WHERE s.lead_id = f.lead_id AND s.kind = '{rev.STATUS}'
                                      AND s.data->>'new' IN ('checkout', 'won')
                                      AND s.at > f.first_at AND s.at < $2)) AS converted
FROM f
"""


def _segment_sql(dimension: str) -> str:
    assert dimension in rev.DIMENSIONS  # a column name, never user input
    return f"""
SELECT r.{dimension} AS value,
       count(*) FILTER (WHERE r.started_at >= $1 AND r.started_at < $2) AS dialogues,
       count(*) FILTER (WHERE r.intent AND r.started_at >= $1 AND r.started_at < $2) AS intent,
       count(*) FILTER (WHERE r.contact AND r.started_at >= $1 AND r.started_at < $2) AS contact,
       count(*) FILTER (WHERE r.cart AND r.contact AND r.started_at >= $1 AND r.started_at < $2) AS cart,
       count(*) FILTER (WHERE r.checkout AND r.started_at >= $1 AND r.started_at < $2) AS checkout,
       count(*) FILTER (WHERE r.won AND r.started_at >= $1 AND r.started_at < $2) AS won,
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY {_MS}) FROM events e JOIN rpt_leads r2 USING (lead_id)
        WHERE r2.{dimension} = r.{dimension} AND e.kind = '{rev.REPLY_LATENCY}' AND {_WINDOW}) AS reply_p50_ms,
       (SELECT count(*) FROM events e JOIN rpt_leads r2 USING (lead_id)
        WHERE r2.{dimension} = r.{dimension} AND e.kind = '{rev.ESCALATION}' AND {_WINDOW}) AS escalations
FROM rpt_leads r WHERE r.{dimension} IS NOT NULL
GROUP BY r.{dimension} ORDER BY 2 DESC, 1
"""


_DAYS = f"""
WITH days AS (
    SELECT d::date AS day
    FROM generate_series(($1::timestamptz AT TIME ZONE $3::text)::date,
                         (($2::timestamptz - interval '1 microsecond') AT TIME ZONE $3::text)::date,
                         interval '1 day') d
), ev AS (
    SELECT (e.at AT TIME ZONE $3::text)::date AS day, e.lead_id, e.kind,
           (e.kind = '{rev.STATUS}' AND e.data->>'new' = 'won')
           OR (e.kind = '{rev.CART_EVENT}' AND e.data->>'action' = 'paid') AS won
    FROM events e JOIN rpt_leads USING (lead_id)
    WHERE {_WINDOW} AND e.kind IN ('{rev.LEAD_CAPTURED}', '{rev.ESCALATION}', '{rev.STATUS}', '{rev.CART_EVENT}')
)
SELECT days.day,
       (SELECT count(*) FROM rpt_leads r WHERE r.started_at >= $1 AND r.started_at < $2
        AND (r.started_at AT TIME ZONE $3::text)::date = days.day) AS dialogues,
       count(*) FILTER (WHERE ev.kind = '{rev.LEAD_CAPTURED}') AS leads,
       count(DISTINCT ev.lead_id) FILTER (WHERE ev.won) AS won,
       count(*) FILTER (WHERE ev.kind = '{rev.ESCALATION}') AS escalations
FROM days LEFT JOIN ev USING (day)
GROUP BY days.day ORDER BY days.day
LIMIT {MAX_DAYS}
"""


def _funnel(row: asyncpg.Record) -> list[FunnelStep]:
    counts = [int(row[k]) for k in ("dialogues", "intent", "contact", "cart", "checkout", "won")]
    steps = []
    for i, (name, n) in enumerate(zip(FUNNEL, counts, strict=True)):
        prev = counts[i - 1] if i else None
        steps.append(FunnelStep(name=name, count=n, conversion=(n / prev if prev else None) if i else None,
                                of_dialogues=n / counts[0] if counts[0] and i else None))
    return steps


async def lead_columns(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch("SELECT column_name FROM information_schema.columns"
                            " WHERE table_name = 'leads' AND table_schema = current_schema()")
    return {r["column_name"] for r in rows}


async def build_report(pool: asyncpg.Pool, q: ReportQuery) -> Report:
    """Run every query in one snapshot (REPEATABLE READ), so the figures agree with each other."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        await conn.execute(_TEMP_TABLE)
        await conn.execute(_cohort_sql(await lead_columns(conn)), q.since, q.until, q.profile, q.channel)
        await conn.execute("ANALYZE rpt_leads")  # a temp table has no statistics: the joins below need them
        w = (q.since, q.until)
        row = await conn.fetchrow(_FUNNEL, *w)
        funnel = _funnel(row)
        revenue = [Revenue(**dict(r)) for r in await conn.fetch(_REVENUE, *w)]
        lat = await conn.fetchrow(_REPLY, *w)
        p = lat["p"] or [None, None, None]
        reply = Latency(count=lat["count"], avg_ms=lat["avg_ms"], p50_ms=p[0], p95_ms=p[1], p99_ms=p[2])
        hist = await conn.fetch(_HISTOGRAM, *w, len(REPLY_EDGES_MS), [float(x) for x in REPLY_EDGES_MS])
        labels = bucket_labels()
        buckets = [Bucket(label=labels[r["bucket"]], count=r["count"]) for r in hist]
        escalations = [EscalationRow(reason=r["reason"], count=r["count"], taken=r["taken"],
                                     takeover_p50_s=r["p50"], takeover_max_s=r["mx"])
                       for r in await conn.fetch(_ESCALATIONS, *w)]

        async def counts(kind: str, key: str) -> list[Count]:
            return [Count(key=r["key"], count=r["count"]) for r in await conn.fetch(_COUNT_BY, *w, kind, key)]

        refusals = await counts(rev.REFUSAL, "kind")
        guard = await counts(rev.GUARD, "verdict")
        failovers = await counts(rev.FAILOVER, "reason")
        sent = await counts(rev.PROACTIVE_SENT, "kind")
        suppressed = await counts(rev.PROACTIVE_SUPPRESSED, "reason")
        model = [ModelRow(**dict(r)) for r in await conn.fetch(_MODEL, *w)]
        followups = FollowUps(**dict(await conn.fetchrow(_FOLLOWUPS, *w)))
        segments: dict[str, list[Segment]] = {}
        for dim in rev.DIMENSIONS:
            rows = [Segment(**dict(r)) for r in await conn.fetch(_segment_sql(dim), *w)]
            if rows:
                segments[dim] = rows
        days = [Day(**dict(r)) for r in await conn.fetch(_DAYS, *w, q.timezone)]
    return Report(query=q, funnel=funnel, carts_without_contact=row["carts_without_contact"], revenue=revenue,
                  reply=reply, reply_histogram=buckets,
                  escalations=escalations, refusals=refusals, guard=guard, failovers=failovers, model=model,
                  followups=followups, proactive_sent=sent, proactive_suppressed=suppressed, segments=segments,
                  days=days)
