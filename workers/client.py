"""Client-side helpers every channel uses: connect, and "a customer wrote: find or create their lead".

Update-with-start (`WorkflowIDConflictPolicy.USE_EXISTING`) starts the lead's workflow and delivers
the message in one call; the update id is derived from the channel's message id, so a message
delivered twice is handled once by Temporal itself.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime

from neuroseller.logs import bind
from neuroseller.pii import contains_card, mask_cards
from neuroseller.settings import Settings
from workflows.lead import LeadWorkflow
from workflows.types import Customer, IncomingMessage, LeadInput, LeadState, TurnResult

MAX_MESSAGE_CHARS = 4096  # Telegram's own limit; the workflow rejects anything past 20 000 outright


async def connect(address: str, namespace: str = "default", runtime: Runtime | None = None) -> Client:
    """`runtime` carries the SDK's metrics (`workers.telemetry`); None = the default, without them."""
    return await Client.connect(address, namespace=namespace, data_converter=pydantic_data_converter,
                                runtime=runtime)


def lead_workflow_id(channel: str, chat_id: str | int) -> str:
    return f"lead-{channel}-{chat_id}"


def lead_input(
    settings: Settings,
    *,
    channel: str,
    chat_id: str | int,
    customer: Customer | None = None,
    profile_name: str | None = None,
    outbound_queue: str | None = None,
    operators_queue: str | None = None,
    task_queue: str | None = None,
    workflow_id: str | None = None,
    persist: bool = True,
) -> LeadInput:
    """The start argument of a new lead, from settings (what later turns cannot change)."""
    wid = workflow_id or lead_workflow_id(channel, chat_id)
    persist = persist and settings.persist_leads
    sinks: list[str] = []
    if persist:
        from activities.crm import sink_names  # imported lazily: clients without the CRM extras still work

        sinks = sink_names(settings.crm_sinks)
    return LeadInput(
        state=LeadState(lead_id=wid, channel=channel, chat_id=str(chat_id), profile_name=profile_name,
                        customer=customer or Customer()),
        task_queue=task_queue or settings.task_queue,
        outbound_queue=outbound_queue,
        operators_queue=operators_queue,
        llm_provider=settings.llm_provider,
        llm_timeout_seconds=settings.llm_timeout_seconds,
        llm_max_attempts=settings.llm_max_attempts,
        continue_as_new_after_turns=settings.continue_as_new_after_turns,
        transcript_limit=settings.transcript_limit,
        persist=persist,
        sinks=sinks,
        ui_base_url=settings.ui_base_url,
        namespace=settings.temporal_namespace,
    )


def _summary(inp: LeadInput) -> str:
    who = inp.state.customer.name or inp.state.customer.username or inp.state.chat_id
    if inp.state.customer.username and inp.state.customer.name:
        who = f"{inp.state.customer.name} (@{inp.state.customer.username})"
    return f"Lead {who} via {inp.state.channel}"


async def send_message(
    client: Client,
    inp: LeadInput,
    message: IncomingMessage,
    *,
    timeout: timedelta | None = None,
) -> TurnResult:
    """Deliver one customer message to the lead's workflow, starting it if needed; return the reply."""
    wid = inp.state.lead_id
    if contains_card(message.text):  # a card number never enters the workflow history
        message = message.model_copy(update={"text": mask_cards(message.text)})
    if len(message.text) > MAX_MESSAGE_CHARS:  # a pasted novel is still a message: keep its start, answer it
        message = message.model_copy(update={"text": message.text[:MAX_MESSAGE_CHARS] + "…"})
    start_op = WithStartWorkflowOperation(
        LeadWorkflow.run,
        inp,
        id=wid,
        task_queue=inp.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary=_summary(inp),
    )
    update_id = f"msg-{message.message_id}" if message.message_id else None
    with bind(lead_id=wid, channel=inp.state.channel):  # a failure logged by the channel names the lead
        return await client.execute_update_with_start_workflow(
            LeadWorkflow.message,
            message,
            start_workflow_operation=start_op,
            id=update_id,
            rpc_timeout=timeout,
        )


def lead_handle(client: Client, lead_id: str) -> WorkflowHandle:
    return client.get_workflow_handle(lead_id)
