"""Prometheus metrics of the worker: turns, guard verdicts, model calls, CRM writes.

Workflows cannot do I/O, so counting happens in the activities (each runs once per attempt);
the events table in PostgreSQL stays the exact record for business reporting.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import Counter, Histogram, start_http_server

from workflows import report_events as rev
from workflows.types import PersistBatch

TURNS = Counter("neuroseller_turns_total", "Customer messages analysed", ["language"])
INTENTS = Counter("neuroseller_intents_total", "Intents seen in customer messages", ["intent"])
UNKNOWN_ITEMS = Counter("neuroseller_unknown_items_total", "Questions about items the catalog does not have")
REPLIES = Counter("neuroseller_replies_total", "Replies produced", ["provider", "verdict"])
GUARD_PROBLEMS = Counter("neuroseller_guard_problems_total", "Guard findings by kind", ["problem"])
MODEL_SECONDS = Histogram("neuroseller_model_seconds", "Model call latency", ["provider"],
                          buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32))
MODEL_ERRORS = Counter("neuroseller_model_errors_total", "Failed model calls", ["provider", "kind"])
CRM_WRITES = Counter("neuroseller_crm_writes_total", "CRM sink writes", ["sink", "result"])
# Observed from the workflow's own events when they reach PostgreSQL (see `observe_batch`): the
# workflow measured them deterministically; the worker only exports them.
REPLY_SECONDS = Histogram("neuroseller_reply_latency_seconds",
                          "Customer message received → reply handed to the channel", ["channel"],
                          buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 30, 60))
ESCALATIONS = Counter("neuroseller_escalations_total", "Escalations to a human", ["reason"])
GUARD_VERDICTS = Counter("neuroseller_guard_verdicts_total", "Model drafts: passed, repaired, replaced by rules",
                         ["verdict"])
FAILOVERS = Counter("neuroseller_failovers_total", "Model failures answered by the rules brain", ["reason"])
REFUSALS = Counter("neuroseller_refusals_total", "No thanks, opt-outs, lost leads", ["kind"])
CRM_WRITE_LAG = Histogram("neuroseller_crm_write_lag_seconds", "Event recorded by the workflow → written to the CRM",
                          ["sink"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300))

_started: set[int] = set()


def serve(port: int) -> None:
    """Expose /metrics on 127.0.0.1:`port` (once per process)."""
    if port not in _started:
        start_http_server(port, addr="127.0.0.1")
        _started.add(port)


def observe_batch(batch: PersistBatch, now: datetime | None = None) -> None:
    """Export what one written batch tells about operations. Called once per batch after the
    PostgreSQL write (the sink that is always on), so each event is counted once."""
    now = now or datetime.now(UTC)
    oldest = min((e.at for e in batch.events if e.at is not None), default=None)
    if oldest is not None:
        CRM_WRITE_LAG.labels(batch.sink).observe(max((now - oldest).total_seconds(), 0.0))
    for e in batch.events:
        if e.kind == rev.REPLY_LATENCY:
            REPLY_SECONDS.labels(e.data.get("channel", "")).observe(_number(e.data.get("ms")) / 1000.0)
        elif e.kind == rev.ESCALATION:
            ESCALATIONS.labels(e.data.get("reason", "")).inc()
        elif e.kind == rev.GUARD:
            GUARD_VERDICTS.labels(e.data.get("verdict", "")).inc()
        elif e.kind == rev.FAILOVER:
            FAILOVERS.labels(e.data.get("reason", "")).inc()
        elif e.kind == rev.REFUSAL:
            REFUSALS.labels(e.data.get("kind", "")).inc()


def _number(value: str | None) -> float:
    try:
        return float(value or 0)
    except ValueError:
        return 0.0


def guard_problem_kinds(problems: list[str]) -> list[str]:
    return [p.split(":", 1)[0] for p in problems]
