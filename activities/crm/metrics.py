"""Prometheus metrics of the worker: turns, guard verdicts, model calls, CRM writes.

Workflows cannot do I/O, so counting happens in the activities (each runs once per attempt);
the events table in PostgreSQL stays the exact record for business reporting.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram, start_http_server

TURNS = Counter("neuroseller_turns_total", "Customer messages analysed", ["language"])
INTENTS = Counter("neuroseller_intents_total", "Intents seen in customer messages", ["intent"])
UNKNOWN_ITEMS = Counter("neuroseller_unknown_items_total", "Questions about items the catalog does not have")
REPLIES = Counter("neuroseller_replies_total", "Replies produced", ["provider", "verdict"])
GUARD_PROBLEMS = Counter("neuroseller_guard_problems_total", "Guard findings by kind", ["problem"])
MODEL_SECONDS = Histogram("neuroseller_model_seconds", "Model call latency", ["provider"],
                          buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32))
MODEL_ERRORS = Counter("neuroseller_model_errors_total", "Failed model calls", ["provider", "kind"])
CRM_WRITES = Counter("neuroseller_crm_writes_total", "CRM sink writes", ["sink", "result"])

_started: set[int] = set()


def serve(port: int) -> None:
    """Expose /metrics on 127.0.0.1:`port` (once per process)."""
    if port not in _started:
        start_http_server(port, addr="127.0.0.1")
        _started.add(port)


def guard_problem_kinds(problems: list[str]) -> list[str]:
    return [p.split(":", 1)[0] for p in problems]
