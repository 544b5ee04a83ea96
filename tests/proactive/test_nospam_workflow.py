"""The no-spam policy inside real lead workflows: caps, quiet hours, opt-out, dedupe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.proactive.conftest import NO_QUIET, Shop
from workflows.lead import LeadWorkflow
from workflows.proactive_types import ProactiveRequest
from workflows.types import OptOut


def offer(key: str, text: str = "Новинка: {name:TENT-2P} за {price:TENT-2P}") -> ProactiveRequest:
    return ProactiveRequest(key=key, kind="campaign", source="test", text_ru=text, text_en=text)


async def test_a_lead_who_wrote_gets_a_proactive_message_with_catalog_facts(shop: Shop):
    inp = shop.lead()
    await shop.say(inp, "Привет")
    handle = shop.client.get_workflow_handle(inp.state.lead_id)
    outcome = await handle.execute_update(LeadWorkflow.proactive, offer("k1"))
    assert outcome.action == "sent"
    state = await shop.state(inp.state.lead_id)
    assert "8 990" in state.outbox[-1].text or "7 990" in state.outbox[-1].text
    assert "{" not in state.outbox[-1].text
    assert [e.action for e in state.proactive.log] == ["sent"]


async def test_the_same_key_twice_reaches_the_lead_once(shop: Shop):
    inp = shop.lead()
    await shop.say(inp, "Привет")
    handle = shop.client.get_workflow_handle(inp.state.lead_id)
    first = await handle.execute_update(LeadWorkflow.proactive, offer("same"))
    second = await handle.execute_update(LeadWorkflow.proactive, offer("same"))
    assert (first.action, second.action) == ("sent", "duplicate")
    assert len((await shop.state(inp.state.lead_id)).outbox) == 1


async def test_daily_cap_suppresses_and_records_the_reason(shop: Shop):
    name = shop.profile("capped", f"[proactive]\nmax_per_day = 1\n{NO_QUIET}")
    inp = shop.lead(profile=name)
    await shop.say(inp, "Привет")
    handle = shop.client.get_workflow_handle(inp.state.lead_id)
    assert (await handle.execute_update(LeadWorkflow.proactive, offer("a"))).action == "sent"
    second = await handle.execute_update(LeadWorkflow.proactive, offer("b"))
    assert (second.action, second.reason) == ("suppressed", "daily_cap")
    state = await shop.state(inp.state.lead_id)
    assert len(state.outbox) == 1
    assert [(e.action, e.reason) for e in state.proactive.log] == [("sent", ""), ("suppressed", "daily_cap")]


async def test_opt_out_blocks_every_later_proactive_message(shop: Shop):
    inp = shop.lead()
    await shop.say(inp, "Привет")
    handle = shop.client.get_workflow_handle(inp.state.lead_id)
    await handle.signal(LeadWorkflow.opt_out, OptOut(reason="customer"))
    outcomes = [await handle.execute_update(LeadWorkflow.proactive, offer(f"o{i}")) for i in range(3)]
    assert {(o.action, o.reason) for o in outcomes} == {("suppressed", "opted_out")}
    assert (await shop.state(inp.state.lead_id)).outbox == []


async def test_nobody_is_written_to_first(shop: Shop):
    from temporalio.client import WithStartWorkflowOperation
    from temporalio.common import WorkflowIDConflictPolicy

    inp = shop.lead()
    start = WithStartWorkflowOperation(LeadWorkflow.run, inp, id=inp.state.lead_id, task_queue=shop.task_queue,
                                       id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
    outcome = await shop.client.execute_update_with_start_workflow(
        LeadWorkflow.proactive, offer("cold"), start_workflow_operation=start)
    assert (outcome.action, outcome.reason) == ("suppressed", "not_engaged")


async def test_quiet_hours_defer_and_the_message_goes_out_after(shop: Shop):
    now = datetime.now(UTC)
    start, end = (now - timedelta(minutes=1)).time(), (now + timedelta(seconds=4)).time()
    name = shop.profile("quiet", f'[proactive]\ntimezone = "UTC"\nquiet_start = "{start:%H:%M:%S}"\n'
                                 f'quiet_end = "{end:%H:%M:%S}"\n')
    inp = shop.lead(profile=name)
    await shop.say(inp, "Привет")
    handle = shop.client.get_workflow_handle(inp.state.lead_id)
    outcome = await handle.execute_update(LeadWorkflow.proactive, offer("night"))
    assert (outcome.action, outcome.reason) == ("deferred", "quiet_hours")
    assert (await shop.state(inp.state.lead_id)).outbox == []
    state = await shop.until(inp.state.lead_id, lambda s: bool(s.outbox))
    assert len(state.outbox) == 1 and state.outbox[0].at >= outcome.until
    assert [e.action for e in state.proactive.log] == ["deferred", "sent"]
