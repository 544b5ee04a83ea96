"""What the no-spam policy costs and how fast a campaign reaches leads, on a private dev server.

- `proactive` update latency (decision + catalog-rendered text + delivery), next to a plain
  `message` turn of the same leads: the policy's local activity is the difference.
- An unpaced campaign over N leads (sends_per_second = 0): leads reached per second, i.e. the
  ceiling before CAMPAIGN_SENDS_PER_SECOND / TELEGRAM_SENDS_PER_SECOND throttle it on purpose.
- The account-wide limit: the same unpaced campaign when the leads send through a gateway-like
  worker started with `max_task_queue_activities_per_second` (as the Telegram gateway is): the
  observed send rate should sit at the limit, whatever the campaign asks for.

    python -m benchmarks.proactive [--leads 100]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from temporalio import activity
from temporalio.worker import Worker

from activities.proactive.reach import segment_query
from activities.profiles import ProfileStore
from benchmarks.chat_latency import Figures
from catalog.loader import load_csv
from neuroseller.settings import Settings
from workers.client import connect, lead_input, send_message
from workers.devserver import DevServer, free_port
from workers.worker import build_worker
from workflows.campaign import RUN_PLACEHOLDER, CampaignWorkflow
from workflows.lead import LeadWorkflow
from workflows.proactive_types import Audience, CampaignSpec, ProactiveRequest
from workflows.types import IncomingMessage, OutboundMessage, SendResult

ROOT = Path(__file__).resolve().parent.parent


async def main(leads: int) -> None:
    profiles = Path(tempfile.mkdtemp())
    (profiles / "default.toml").write_text('name = "default"\n[proactive]\nquiet_start = "00:00"\n'
                                           'quiet_end = "00:00"\nmax_per_day = 50\nmax_per_week = 50\n')
    server = DevServer(port=free_port(), ui_port=None, var_dir=None)
    await server.start()
    try:
        client = await connect(server.address)
        tq = f"bench-{uuid.uuid4().hex[:6]}"
        settings = Settings(_env_file=None, profiles_dir=profiles, task_queue=tq, persist_leads=False,
                            shop_timezone="UTC")
        catalog = load_csv(ROOT / "catalog" / "sample" / "catalog.csv")
        async with build_worker(client, settings, catalog=lambda: catalog, profiles=ProfileStore(profiles)):
            channel = f"b{uuid.uuid4().hex[:5]}"
            inputs = [lead_input(settings, channel=channel, chat_id=str(i), persist=False) for i in range(leads)]
            await asyncio.gather(*(send_message(client, inp, IncomingMessage(text="Привет")) for inp in inputs))

            async def timed(coro) -> float:
                start = time.perf_counter()
                await coro
                return (time.perf_counter() - start) * 1000

            turn = [await timed(send_message(client, inp, IncomingMessage(text="Сколько стоит палатка на двоих?")))
                    for inp in inputs]
            offer = [await timed(client.get_workflow_handle(inp.state.lead_id).execute_update(
                LeadWorkflow.proactive, ProactiveRequest(key=f"b{i}", text_ru="{name:TENT-2P}: {price:TENT-2P}")))
                for i, inp in enumerate(inputs)]
            query = segment_query(f"Channel = '{channel}'", tq)
            for _ in range(150):  # visibility is eventually consistent
                if (await client.count_workflows(query)).count >= leads:
                    break
                await asyncio.sleep(0.2)
            spec = CampaignSpec(name="bench", sends_per_second=0, reply_window_seconds=0, audiences=[Audience(
                query=query, request=ProactiveRequest(key=f"c:{RUN_PLACEHOLDER}", text_ru="{price:TENT-2P}"))])
            start = time.perf_counter()
            result = await client.execute_workflow(CampaignWorkflow.run, spec, id=f"c-{uuid.uuid4().hex[:6]}",
                                                   task_queue=tq)
            seconds = time.perf_counter() - start
    finally:
        await server.stop()
    print(f"{'scenario':<44} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'per s':>8}")
    print(Figures("message turn (rules brain)", turn, sum(turn) / 1000).row())
    print(Figures("proactive update (policy + render + deliver)", offer, sum(offer) / 1000).row())
    print(f"campaign, unpaced: {result.sent}/{result.targeted} leads in {seconds:.2f} s "
          f"= {result.sent / seconds:.1f}/s")
    await rate_limited(profiles, limit=5.0, leads=30)


async def rate_limited(profiles: Path, limit: float, leads: int) -> None:
    stamps: list[float] = []

    @activity.defn(name="channel_send")
    async def channel_send(msg: OutboundMessage) -> SendResult:
        stamps.append(time.perf_counter())
        return SendResult(ok=True)

    server = DevServer(port=free_port(), ui_port=None, var_dir=None)
    await server.start()
    try:
        client = await connect(server.address)
        tq, send_q = f"bench-{uuid.uuid4().hex[:6]}", f"send-{uuid.uuid4().hex[:6]}"
        settings = Settings(_env_file=None, profiles_dir=profiles, task_queue=tq, persist_leads=False,
                            shop_timezone="UTC")
        catalog = load_csv(ROOT / "catalog" / "sample" / "catalog.csv")
        async with build_worker(client, settings, catalog=lambda: catalog, profiles=ProfileStore(profiles)), \
                Worker(client, task_queue=send_q, activities=[channel_send],
                       max_task_queue_activities_per_second=limit):
            channel = f"r{uuid.uuid4().hex[:5]}"
            inputs = [lead_input(settings, channel=channel, chat_id=str(i), persist=False, outbound_queue=send_q)
                      for i in range(leads)]
            for inp in inputs:
                await send_message(client, inp, IncomingMessage(text="Привет"))
            query = segment_query(f"Channel = '{channel}'", tq)
            for _ in range(150):
                if (await client.count_workflows(query)).count >= leads:
                    break
                await asyncio.sleep(0.2)
            stamps.clear()
            spec = CampaignSpec(name="limited", sends_per_second=0, reply_window_seconds=0, audiences=[Audience(
                query=query, request=ProactiveRequest(key=f"c:{RUN_PLACEHOLDER}", text_ru="{price:TENT-2P}"))])
            await client.execute_workflow(CampaignWorkflow.run, spec, id=f"c-{uuid.uuid4().hex[:6]}", task_queue=tq)
    finally:
        await server.stop()
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    observed = (len(stamps) - 1) / span if span else float("inf")
    print(f"campaign through a queue limited to {limit:g}/s: {len(stamps)} sends, observed {observed:.1f}/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=100)
    asyncio.run(main(parser.parse_args().leads))
