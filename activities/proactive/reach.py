"""Activities that reach many leads from a campaign or a catalog trigger: select, offer, measure.

They talk to the leads' workflows through the Temporal client (a workflow cannot call another's
update). `offer_leads` heartbeats the outcomes it has, so a retry after a killed worker resumes
where it stopped; the update id is the request key, so even a lead reached just before the kill is
not reached twice (and the lead itself remembers the key as well).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from workflows.proactive_types import LeadProgress, MeasureRequest, OfferBatch, ProactiveOutcome
from workflows.types import LeadState

LEADS_OF = "WorkflowType = 'LeadWorkflow' AND ExecutionStatus = 'Running'"


def segment_query(segment: str, task_queue: str) -> str:
    """A marketer's segment (`LeadStatus = 'cart' AND CartValue > 3000`) as a query over this shop's running
    leads (`TaskQueue`: a simulation or another shop on the same server keeps its own leads)."""
    scoped = f"{LEADS_OF} AND TaskQueue = '{task_queue}'"
    segment = segment.strip()
    return f"{scoped} AND ({segment})" if segment else scoped


class ReachActivities:
    def __init__(self, client: Client) -> None:
        self.client = client

    @activity.defn(name="select_leads")
    async def select_leads(self, query: str) -> list[str]:
        ids = {wf.id async for wf in self.client.list_workflows(query)}
        return sorted(ids)

    @activity.defn(name="offer_leads")
    async def offer_leads(self, batch: OfferBatch) -> list[ProactiveOutcome]:
        info = activity.info()
        done = [ProactiveOutcome.model_validate(d) for d in (info.heartbeat_details[0] if info.heartbeat_details
                                                             else [])]
        pause = 1.0 / batch.sends_per_second if batch.sends_per_second > 0 else 0.0
        for lead_id in batch.lead_ids[len(done):]:
            done.append(await self._offer(lead_id, batch))
            activity.heartbeat([o.model_dump(mode="json") for o in done])
            if pause:
                await asyncio.sleep(pause)
        return done

    async def _offer(self, lead_id: str, batch: OfferBatch) -> ProactiveOutcome:
        handle = self.client.get_workflow_handle(lead_id)
        try:
            outcome: ProactiveOutcome = await handle.execute_update(
                "proactive", batch.request, id=batch.request.key, result_type=ProactiveOutcome,
                rpc_timeout=timedelta(seconds=30))
        except WorkflowUpdateFailedError as err:
            return ProactiveOutcome(lead_id=lead_id, action="suppressed", reason=f"rejected: {err.cause}"[:80])
        except RPCError as err:
            if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                return ProactiveOutcome(lead_id=lead_id, action="suppressed", reason="lead_closed")
            raise
        return outcome.model_copy(update={"lead_id": lead_id})

    @activity.defn(name="measure_leads")
    async def measure_leads(self, req: MeasureRequest) -> list[LeadProgress]:
        out: list[LeadProgress] = []
        for lead_id in req.lead_ids:
            try:
                state: LeadState = await self.client.get_workflow_handle(lead_id).query("state", result_type=LeadState)
            except RPCError:
                out.append(LeadProgress(lead_id=lead_id))
                continue
            replied = state.last_message_at is not None and state.last_message_at > req.since
            out.append(LeadProgress(lead_id=lead_id, replied=replied, status=state.lead.status.value))
            activity.heartbeat(len(out))
        return out

    def all(self) -> list:
        return [self.select_leads, self.offer_leads, self.measure_leads]
