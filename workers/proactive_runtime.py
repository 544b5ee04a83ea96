"""What a worker process runs for proactive selling besides its Temporal worker: the catalog-trigger
watcher and, when SHOP_EVENTS_PORT is set, the shop events endpoint. `neuroseller up` / `worker`
enter `proactive_services(...)` around their worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.proactive.reach import segment_query
from catalog import triggers
from catalog.schema import Catalog
from neuroseller.settings import Settings
from workflows.proactive_types import Audience, CampaignSpec, ProactiveRequest

log = logging.getLogger(__name__)
TRIGGER_CAMPAIGN = "catalog"


def trigger_spec(found: list[triggers.Trigger], settings: Settings, task_queue: str) -> CampaignSpec:
    """A campaign run whose audiences are the leads watching each changed item."""
    audiences = []
    for trig in found:
        ru, en = triggers.texts(trig)
        audiences.append(Audience(
            query=segment_query(f"WatchedSkus = '{trig.sku.upper()}'", task_queue),
            request=ProactiveRequest(key=triggers.dedupe_key(trig), kind="catalog", source=f"{trig.kind}:{trig.sku}",
                                     text_ru=ru, text_en=en, skus=[trig.sku])))
    return CampaignSpec(name=TRIGGER_CAMPAIGN, audiences=audiences, sends_per_second=settings.campaign_sends_per_second,
                        reply_window_seconds=settings.campaign_reply_window_hours * 3600)


async def announce(client: Client, settings: Settings, old: Catalog, new: Catalog, task_queue: str) -> str | None:
    """Start the trigger run for `old -> new` (once: several workers noticing the same reload share its id)."""
    found = triggers.diff(old, new)
    if not found:
        return None
    wid = f"catalog-{old.version}-{new.version}"
    try:
        await client.start_workflow(
            "CampaignWorkflow", trigger_spec(found, settings, task_queue), id=wid, task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=f"catalog triggers: {', '.join(f'{t.kind} {t.sku}' for t in found)[:200]}")
    except WorkflowAlreadyStartedError:
        return wid
    log.info("catalog triggers %s: %s", wid, ", ".join(f"{t.kind} {t.sku}" for t in found))
    return wid


async def watch_triggers(client: Client, settings: Settings, current: Callable[[], Catalog], task_queue: str,
                         interval: float) -> None:
    """Poll the served catalog; every new version is diffed against the last one this process saw."""
    last = current()
    while True:
        await asyncio.sleep(interval)
        try:
            now = current()
            if now.version != last.version:
                await announce(client, settings, last, now, task_queue)
                last = now
        except Exception as err:  # noqa: BLE001 - a watcher must outlive a Temporal hiccup; it retries next poll
            log.warning("catalog triggers: %s", err)


@contextlib.asynccontextmanager
async def proactive_services(settings: Settings, client: Client, current: Callable[[], Catalog],
                             database: Any = None, task_queue: str | None = None) -> AsyncIterator[None]:
    tasks = []
    if settings.catalog_triggers:
        tasks.append(asyncio.create_task(watch_triggers(
            client, settings, current, task_queue or settings.task_queue, max(settings.catalog_poll_seconds, 0.2))))
    async with contextlib.AsyncExitStack() as stack:
        if settings.shop_events_port and settings.shop_events_secret is None:
            print("warning: SHOP_EVENTS_PORT is set but SHOP_EVENTS_SECRET is not; shop events are not served "
                  "(unsigned events would let anyone fill carts)", flush=True)
        elif settings.shop_events_port:
            from workers.events_http import ShopEvents, ShopEventsServer

            events = ShopEvents(client, settings, database)
            await stack.enter_async_context(
                ShopEventsServer(events, settings.shop_events_host, settings.shop_events_port))
            print(f"shop events on http://{settings.shop_events_host}:{settings.shop_events_port}/events",
                  flush=True)
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
