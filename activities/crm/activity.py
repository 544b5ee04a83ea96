"""Temporal activities that write a lead to the CRM sinks: one activity execution per sink.

A dead webhook then only delays the webhook: PostgreSQL and the sheet are written by their own
activities, and Temporal retries each until its sink is back.
"""

from __future__ import annotations

from collections.abc import Mapping

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.crm import metrics
from activities.crm.base import LeadSink
from neuroseller.pii import mask_pii
from workflows.types import PersistBatch


def masked(batch: PersistBatch) -> PersistBatch:
    """The batch with PII masked in everything but the lead's contact fields.

    The workflow already masks the transcript; doing it again here means a bug upstream still
    cannot put a card number into the CRM.
    """
    lead = batch.lead
    if lead is not None and lead.request:
        lead = lead.model_copy(update={"request": mask_pii(lead.request)})
    return batch.model_copy(
        update={
            "lead": lead,
            "messages": [m.model_copy(update={"text": mask_pii(m.text)}) for m in batch.messages],
            "events": [
                e.model_copy(update={"data": {k: mask_pii(v) for k, v in e.data.items()}})
                for e in batch.events
            ],
        }
    )


class CrmActivities:
    """Holds the configured sinks for the worker's lifetime (pools and HTTP sessions are reused)."""

    def __init__(self, sinks: Mapping[str, LeadSink]) -> None:
        self.sinks = dict(sinks)

    @activity.defn(name="crm_sinks")
    async def sink_names(self) -> list[str]:
        """Which sinks this worker writes to, so the workflow fans out one `persist_lead` per sink."""
        return list(self.sinks)

    @activity.defn(name="persist_lead")
    async def persist_lead(self, batch: PersistBatch) -> None:
        """Write one turn's lead/messages/events to the sink `batch.sink`; idempotent, so retry freely."""
        sink = self.sinks.get(batch.sink)
        if sink is None:
            raise ApplicationError(
                f"no CRM sink named {batch.sink!r}; configured: {', '.join(self.sinks)}",
                type="UnknownSink",
                non_retryable=True,
            )
        try:
            await sink.write(masked(batch))
        except Exception:
            metrics.CRM_WRITES.labels(batch.sink, "error").inc()
            raise
        metrics.CRM_WRITES.labels(batch.sink, "ok").inc()
        if batch.sink == "postgres":
            metrics.observe_batch(batch)

    async def close(self) -> None:
        for sink in self.sinks.values():
            close = getattr(sink, "close", None)
            if close is not None:
                await close()
