"""CampaignWorkflow: one run of a scheduled campaign (or of a catalog trigger) over many leads.

Selects leads with a visibility query, asks each lead's own workflow to send (update `proactive`,
where the no-spam policy decides), paced, in batches; waits the reply window, then counts who
replied and who converted. Exactly once per lead per run: the request key carries the run's
workflow id, the update id is that key, and the lead remembers keys it acted on — so a retried
activity, a worker killed mid-batch or a re-run with the same id reaches nobody twice.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows import search_attributes as sa
    from workflows.proactive_types import (
        CampaignResults,
        CampaignSpec,
        LeadProgress,
        MeasureRequest,
        OfferBatch,
        ProactiveOutcome,
    )

RUN_PLACEHOLDER = "{run}"  # in an audience's request key: replaced by this run's workflow id
SHOWN_OUTCOMES = 100
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
STATUS_RANK = {"new": 0, "qualified": 1, "escalated": 1, "cart": 2, "checkout": 3, "won": 4}


@workflow.defn
class CampaignWorkflow:
    @workflow.init
    def __init__(self, spec: CampaignSpec) -> None:
        self._r = CampaignResults(name=spec.name)

    @workflow.query
    def results(self) -> CampaignResults:
        return self._r

    @workflow.run
    async def run(self, spec: CampaignSpec) -> CampaignResults:
        r = self._r
        r.run_id, r.started_at = workflow.info().workflow_id, workflow.now()
        workflow.upsert_search_attributes([sa.CAMPAIGN.value_set(spec.name)])
        reached: dict[str, str] = {}  # lead id -> its status when the message went out (or was deferred)
        for audience in spec.audiences:
            leads: list[str] = await workflow.execute_activity(
                "select_leads", audience.query, result_type=list[str], start_to_close_timeout=timedelta(minutes=5),
                retry_policy=RETRY, summary=f"select: {audience.query[:80]}")
            r.targeted += len(leads)
            request = audience.request.model_copy(
                update={"key": audience.request.key.replace(RUN_PLACEHOLDER, r.run_id)})
            for start in range(0, len(leads), max(spec.batch_size, 1)):
                part = leads[start:start + max(spec.batch_size, 1)]
                outcomes: list[ProactiveOutcome] = await workflow.execute_activity(
                    "offer_leads", OfferBatch(lead_ids=part, request=request, sends_per_second=spec.sends_per_second),
                    result_type=list[ProactiveOutcome],
                    start_to_close_timeout=timedelta(seconds=60 + 2 * len(part) / max(spec.sends_per_second, 0.01)),
                    heartbeat_timeout=timedelta(seconds=spec.heartbeat_seconds), retry_policy=RETRY,
                    summary=f"offer {len(part)} leads")
                for outcome in outcomes:
                    self._tally(outcome)
                    if outcome.action in ("sent", "deferred"):
                        reached.setdefault(outcome.lead_id, outcome.status)
        if reached and spec.reply_window_seconds > 0:
            await workflow.sleep(timedelta(seconds=spec.reply_window_seconds), summary="reply window")
            progress: list[LeadProgress] = await workflow.execute_activity(
                "measure_leads", MeasureRequest(lead_ids=sorted(reached), since=r.started_at),
                result_type=list[LeadProgress], start_to_close_timeout=timedelta(minutes=10), retry_policy=RETRY,
                summary=f"measure {len(reached)} leads")
            for lead in progress:
                r.replied += lead.replied
                r.converted += STATUS_RANK.get(lead.status, 0) > STATUS_RANK.get(reached[lead.lead_id], 0)
            r.measured = True
        return r

    def _tally(self, outcome: ProactiveOutcome) -> None:
        r = self._r
        if outcome.action == "sent":
            r.sent += 1
        elif outcome.action == "deferred":
            r.deferred += 1
        elif outcome.action == "duplicate":
            r.duplicate += 1
        else:
            r.suppressed[outcome.reason or "unknown"] = r.suppressed.get(outcome.reason or "unknown", 0) + 1
        if len(r.outcomes) < SHOWN_OUTCOMES:
            r.outcomes.append(outcome)
