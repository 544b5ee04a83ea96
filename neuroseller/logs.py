"""Process logging: human-readable lines by default, one JSON object a line with `LOG_FORMAT=json`.

Every record says which lead it is about when it can tell: `lead_id` and `channel` come from an
explicit `extra`, from what the Temporal SDK attaches to workflow and activity records
(`temporal_workflow` / `temporal_activity`, whose workflow id *is* the lead id), or from the
context a channel process binds around a customer message (`bind`); `turn` comes from the
workflow's per-turn record or an explicit `extra`. PII is masked in the message by the same
filter as before (`neuroseller.pii`) and, in JSON, in every string field too.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

from neuroseller.pii import install_log_masking, mask_pii

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CONTEXT_FIELDS = ("lead_id", "channel", "turn")
_context: ContextVar[dict[str, Any]] = ContextVar("log_context", default={})  # noqa: B039 - never mutated


@contextmanager
def bind(**fields: Any) -> Iterator[None]:
    """Attach fields (lead_id, channel, …) to every record logged inside the block, in this task."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def channel_of(lead_id: str) -> str | None:
    """`lead-<channel>-<chat id>` → channel."""
    parts = lead_id.split("-", 2)
    return parts[1] if len(parts) == 3 and parts[0] == "lead" else None


class LeadContext(logging.Filter):
    """Fills `lead_id`, `channel`, `turn` on each record (None when the record is about no lead)."""

    def filter(self, record: logging.LogRecord) -> bool:
        bound = _context.get()
        temporal = getattr(record, "temporal_workflow", None) or getattr(record, "temporal_activity", None) or {}
        workflow_id = temporal.get("workflow_id") if isinstance(temporal, dict) else None
        lead_id = getattr(record, "lead_id", None) or bound.get("lead_id")
        if lead_id is None and workflow_id and workflow_id.startswith("lead-"):
            lead_id = workflow_id
        record.lead_id = lead_id
        record.channel = getattr(record, "channel", None) or bound.get("channel") or (
            channel_of(lead_id) if lead_id else None)
        record.turn = getattr(record, "turn", None) or bound.get("turn")
        return True


class MaskedJsonFormatter(JsonFormatter):
    """python-json-logger with PII masked in every string value, not only the message."""

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {k: _masked(v) for k, v in log_data.items()}


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    return value


def setup_logging(level: str = "INFO", fmt: str = "text", stream: TextIO | None = None) -> logging.Handler:
    """Replace the root handlers with one that writes `fmt` lines to `stream` (stderr by default)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if fmt == "json":
        handler.setFormatter(MaskedJsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(lead_id)s %(channel)s %(turn)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False))
        _temporal_info_on_message(False)  # the same facts are fields of their own here
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
        _temporal_info_on_message(True)
    handler.addFilter(LeadContext())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("temporalio").setLevel(logging.WARNING)
    # the per-turn record of each lead: for log shipping, not for the terminal the local chat runs in
    logging.getLogger("temporalio.workflow").setLevel(level.upper() if fmt == "json" else logging.WARNING)
    logging.getLogger("pymorphy3").setLevel(logging.WARNING)
    install_log_masking()
    return handler


def _temporal_info_on_message(on: bool) -> None:
    from temporalio import activity, workflow

    workflow.logger.workflow_info_on_message = on
    activity.logger.activity_info_on_message = on
