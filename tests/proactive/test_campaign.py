"""CampaignWorkflow over a segment: the right leads, once, through retries and a killed worker."""

from __future__ import annotations

import asyncio
import uuid

from temporalio.client import WorkflowExecutionStatus
from temporalio.worker import Worker

from activities.proactive.reach import ReachActivities, segment_query
from tests.proactive.conftest import Shop, visible
from workers.worker import sandbox_runner
from workflows.campaign import RUN_PLACEHOLDER, CampaignWorkflow
from workflows.proactive_types import Audience, CampaignSpec, ProactiveRequest


def campaign_worker(shop: Shop, queue: str) -> Worker:
    """A second process's worth of campaign worker: the leads stay on the shop's own worker."""
    return Worker(shop.client, task_queue=queue, workflows=[CampaignWorkflow],
                  activities=ReachActivities(shop.client).all(), workflow_runner=sandbox_runner())


async def test_campaign_reaches_exactly_the_segment_once_despite_a_killed_worker_and_a_rerun(shop: Shop):
    channel = f"c{uuid.uuid4().hex[:6]}"
    buyers = [shop.lead(channel=channel) for _ in range(3)]
    browser = shop.lead(channel=channel)
    for inp in buyers:
        await shop.say(inp, "Беру палатку на двоих")
    await shop.say(browser, "Привет")
    query = segment_query(f"Channel = '{channel}' AND LeadStatus = 'cart'", shop.task_queue)
    await visible(shop.client, query, 3)

    spec = CampaignSpec(name="spring", sends_per_second=2.0, reply_window_seconds=0.5, heartbeat_seconds=2.0,
                        audiences=[Audience(query=query, request=ProactiveRequest(
                            key=f"campaign:spring:{RUN_PLACEHOLDER}", text_ru="Весной {name:TENT-2P} ждёт вас!"))])
    queue = f"camp-{uuid.uuid4().hex[:6]}"
    wid = f"campaign-spring-{uuid.uuid4().hex[:6]}"
    first = campaign_worker(shop, queue)
    runner = asyncio.create_task(first.run())
    handle = await shop.client.start_workflow(CampaignWorkflow.run, spec, id=wid, task_queue=queue)
    reached = lambda s: any(e.role == "campaign" for e in s.outbox)  # noqa: E731
    await shop.until(buyers[0].state.lead_id, reached)
    await first.shutdown()  # killed mid-run: the batch activity is cut off after the first lead
    await runner
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

    async with campaign_worker(shop, queue):
        results = await handle.result()
        assert (results.targeted, results.sent) == (3, 3)
        for inp in buyers:
            state = await shop.state(inp.state.lead_id)
            assert [e.role for e in state.outbox].count("campaign") == 1
            assert "Палатка двухместная" in state.outbox[-1].text
        assert (await shop.state(browser.state.lead_id)).outbox == []

        again = await shop.client.execute_workflow(CampaignWorkflow.run, spec, id=wid, task_queue=queue)
        assert again.sent == 3  # a re-run of the same run reports the same outcomes (the leads answer from memory)
        for inp in buyers:
            assert [e.role for e in (await shop.state(inp.state.lead_id)).outbox].count("campaign") == 1
    assert results.measured and results.replied == 0


async def test_a_closed_lead_or_a_rejected_request_is_counted_not_retried_forever(shop: Shop):
    from activities.proactive.reach import ReachActivities
    from workflows.proactive_types import OfferBatch

    inp = shop.lead()
    await shop.say(inp, "Привет")
    reach = ReachActivities(shop.client)
    empty = OfferBatch(lead_ids=[inp.state.lead_id], request=ProactiveRequest(key="k", text_ru=""))
    rejected = await reach._offer(inp.state.lead_id, empty)
    assert rejected.action == "suppressed" and rejected.reason.startswith("rejected")
    await shop.client.get_workflow_handle(inp.state.lead_id).terminate("test")
    batch = OfferBatch(lead_ids=[inp.state.lead_id], request=ProactiveRequest(key="k", text_ru="x"))
    closed = await reach._offer(inp.state.lead_id, batch)
    assert (closed.action, closed.reason) == ("suppressed", "lead_closed")
