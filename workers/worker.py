"""The Temporal worker: hosts LeadWorkflow and the turn activities (and the CRM writes when a DB is set).

Stateless: run as many as needed on one task queue. Third-party and our pure modules pass
through the workflow sandbox so a burst of new leads does not re-import them per workflow.

Graceful drain: leaving `async with worker` (SIGTERM in `neuroseller worker` cancels the main task)
stops polling at once, lets in-flight workflow tasks and activities finish for up to
`WORKER_GRACEFUL_SHUTDOWN_SECONDS`, then cancels what is left; Temporal retries those activities on
another worker (turns are never lost, only delayed). The process exits within that bound plus a
second or two.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.brain.llm import make_model
from activities.brain.turn import TurnActivities
from activities.proactive.plan import PlanActivities
from activities.proactive.reach import ReachActivities
from activities.profiles import ProfileStore
from catalog.schema import Catalog
from neuroseller.settings import Settings
from workflows.campaign import CampaignWorkflow
from workflows.lead import LeadWorkflow
from workflows.types import BrainConfig

PASSTHROUGH = ("pydantic", "pydantic_core", "annotated_types", "workflows", "catalog", "neuroseller", "rapidfuzz",
               "snowballstemmer", "pymorphy3", "phonenumbers", "email_validator", "number_parser")


def sandbox_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH))


def build_worker(
    client: Client,
    settings: Settings,
    *,
    catalog: Callable[[], Catalog],
    profiles: ProfileStore | None = None,
    task_queue: str | None = None,
    extra_activities: Sequence[Callable[..., Any]] = (),
    model: Any = None,
    options: dict[str, Any] | None = None,
) -> Worker:
    """A worker for `task_queue` with the lead workflow, the turn activities and any extra activities."""
    from activities.brain import morph, reader
    from activities.brain.reader import reading

    reading.configure(settings.reader_features, str(settings.reader_cache_dir) if settings.reader_cache_dir else None)
    morph.warm_up()  # the dictionary loads here, not inside a customer's first turn
    reader.read("")  # so does the reader (trained here once per corpus, then read from ~/.cache/neuroseller/reader)
    chat_model = model if model is not None else make_model(settings)
    turn = TurnActivities(
        catalog=catalog,
        profiles=profiles or ProfileStore(settings.profiles_dir),
        model=chat_model,
        secrets=settings.secret_values(),
        brain=BrainConfig(provider=getattr(chat_model, "provider", "llm") if chat_model else "rules",
                          timeout_seconds=settings.llm_timeout_seconds, max_attempts=settings.llm_max_attempts),
    )
    plan = PlanActivities(turn.profiles, settings.shop_timezone)  # no-spam policy (issue 11)
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=[LeadWorkflow, CampaignWorkflow],
        activities=[*turn.all(), plan.plan_proactive, *ReachActivities(client).all(), *extra_activities],
        workflow_runner=sandbox_runner(),
        **(options if options is not None else worker_options(settings)),
    )


def worker_options(settings: Settings) -> dict[str, Any]:
    """The knobs that decide how many dialogues one worker holds (README: Capacity and load)."""
    slots = settings.worker_max_concurrent_activities
    return {
        "max_concurrent_activities": slots,  # all our activities are async: slots, not threads
        "max_concurrent_local_activities": slots,
        "max_concurrent_workflow_tasks": settings.worker_max_concurrent_workflow_tasks,
        # every open lead stays in the cache: an evicted lead replays its whole history on its next turn
        "max_cached_workflows": settings.worker_max_cached_workflows,
        "graceful_shutdown_timeout": timedelta(seconds=settings.worker_graceful_shutdown_seconds),
    }
