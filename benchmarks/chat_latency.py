"""Message → reply latency of real LeadWorkflows, next to Temporal's own floor on the same server.

Scenarios: N dialogues started at once (bursts of 10 and 100) and 100 customers at human pace
(a message every 5–10 s), with the `rules` brain and with an OpenAI-protocol model server of fixed
latency. The floor is a bare workflow whose update runs one regular activity per turn: what any
Temporal design pays. Prints p50/p95/p99 and turns/s; the machine is noisy, so compare ratios.

    python -m benchmarks.chat_latency [--quick] [--sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

from activities.profiles import ProfileStore
from benchmarks.floor import FloorWorkflow, floor_echo
from catalog.loader import load_csv
from neuroseller.settings import Settings
from workers.client import connect, lead_input, send_message
from workers.devserver import DevServer, free_port
from workers.worker import build_worker, sandbox_runner
from workflows.types import IncomingMessage

ROOT = Path(__file__).resolve().parent.parent
TURNS = ["Здравствуйте!", "Сколько стоит палатка на двоих?", "Беру одну", "Анна, +7 912 345-67-89"]


# ---- measurement ---------------------------------------------------------------------------------


@dataclass
class Figures:
    name: str
    latencies_ms: list[float]
    seconds: float

    def pct(self, p: float) -> float:
        xs = sorted(self.latencies_ms)
        if not xs:
            return float("nan")
        return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]

    def row(self) -> str:
        rate = len(self.latencies_ms) / self.seconds if self.seconds else 0
        return (f"{self.name:<44} {len(self.latencies_ms):>6} {self.pct(50):>8.0f} {self.pct(95):>8.0f} "
                f"{self.pct(99):>8.0f} {rate:>8.1f}")


async def run_floor(client: Client, task_queue: str, dialogues: int, turns: int, pace: tuple[float, float] | None,
                    rng: random.Random) -> Figures:
    lat: list[float] = []

    async def one(i: int) -> None:
        wid = f"floor-{uuid.uuid4().hex[:10]}"
        for t in range(turns):
            if pace:
                await asyncio.sleep(rng.uniform(0, pace[1]) if t == 0 else rng.uniform(*pace))
            started = time.perf_counter()
            op = WithStartWorkflowOperation(FloorWorkflow.run, id=wid, task_queue=task_queue,
                                            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
            await client.execute_update_with_start_workflow(FloorWorkflow.turn, f"turn {t}",
                                                            start_workflow_operation=op)
            lat.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(dialogues)))
    return Figures("", lat, time.perf_counter() - started)


async def run_leads(client: Client, settings: Settings, task_queue: str, dialogues: int,
                    pace: tuple[float, float] | None, rng: random.Random) -> Figures:
    lat: list[float] = []
    tag = uuid.uuid4().hex[:6]

    async def one(i: int) -> None:
        inp = lead_input(settings, channel="bench", chat_id=f"{tag}-{i}", task_queue=task_queue, persist=False)
        for t, text in enumerate(TURNS):
            if pace:  # customers arrive spread over one pace interval, then write every 5–10 s
                await asyncio.sleep(rng.uniform(0, pace[1]) if t == 0 else rng.uniform(*pace))
            started = time.perf_counter()
            await send_message(client, inp, IncomingMessage(text=text, message_id=f"{tag}-{i}-{t}"))
            lat.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(dialogues)))
    return Figures("", lat, time.perf_counter() - started)


async def main(quick: bool, sqlite: bool) -> None:
    from tests.fakes.openai_server import FakeOpenAIServer  # the loopback model server of the tests

    rng = random.Random(7)
    catalog = load_csv(ROOT / "catalog/sample/catalog.csv")
    var = Path(tempfile.mkdtemp(prefix="nsbench-")) if sqlite else None
    bursts = [10, 30] if quick else [10, 100]
    paced = 20 if quick else 100
    pace = (1.0, 2.0) if quick else (5.0, 10.0)
    rows: list[str] = []
    async with DevServer(port=free_port(), ui_port=None, var_dir=var) as server, \
            FakeOpenAIServer(delay_seconds=0.3) as model_server:
        model_server.script = _model_reply
        client = await connect(server.address)
        base = Settings(_env_file=None, profiles_dir=ROOT / "profiles", llm_timeout_seconds=10)
        llm = base.model_copy(update={"llm_provider": "openai", "openai_base_url": model_server.base_url,
                                      "llm_model": "bench"})
        from pydantic import SecretStr
        llm = llm.model_copy(update={"openai_api_key": SecretStr("sk-bench-not-a-secret")})
        profiles = ProfileStore(base.profiles_dir)
        floor_tq, rules_tq, llm_tq = (f"bench-{x}-{uuid.uuid4().hex[:4]}" for x in ("floor", "rules", "llm"))
        floor_worker = Worker(client, task_queue=floor_tq, workflows=[FloorWorkflow], activities=[floor_echo],
                              workflow_runner=sandbox_runner(), max_concurrent_workflow_tasks=200,
                              max_concurrent_activities=200)
        from activities.brain.llm import make_model

        async with floor_worker, \
                build_worker(client, base, catalog=lambda: catalog, profiles=profiles, task_queue=rules_tq), \
                build_worker(client, llm, catalog=lambda: catalog, profiles=profiles, task_queue=llm_tq,
                             model=make_model(llm)):
            async def scenario(n: int, pace_s: tuple[float, float] | None, label: str) -> list[Figures]:
                """The floor, the rules brain and the model on the same load, named for the table."""
                floor = await run_floor(client, floor_tq, n, len(TURNS), pace_s, rng)
                rules = await run_leads(client, base, rules_tq, n, pace_s, rng)
                model = await run_leads(client, llm, llm_tq, n, pace_s, rng)
                for fig, who in ((floor, "floor"), (rules, "leads rules"), (model, "leads model 300 ms")):
                    fig.name = f"{who}: {n} {label}" + (" (1 activity/turn)" if fig is floor else "")
                return [floor, rules, model]

            await run_floor(client, floor_tq, 2, 2, None, rng)  # warm-up
            await run_leads(client, base, rules_tq, 2, None, rng)
            for n in bursts:
                floor, rules, model = await scenario(n, None, "at once")
                rows += [floor.row(), rules.row(), model.row(),
                         f"{'':<44} p95 ratio rules/floor {rules.pct(95) / floor.pct(95):.2f}, "
                         f"model/(floor + 300 ms) {model.pct(95) / (floor.pct(95) + 300):.2f}"]
            rows += [fig.row() for fig in await scenario(paced, pace, "at human pace")]
    print(f"\nserver: dev server ({'SQLite' if sqlite else 'in-memory'}), {len(TURNS)} turns per dialogue, "
          f"pace {pace[0]:g}–{pace[1]:g} s")
    print(f"{'scenario':<44} {'turns':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'turns/s':>8}")
    for row in rows:
        print(row)


def _model_reply(request: dict) -> str:
    """A well-behaved model: names the first catalog SKU it was shown through slots, ends with a question."""
    import re

    text = " ".join(m.get("content", "") for m in request.get("messages", []) if isinstance(m.get("content"), str))
    sku = re.search(r"\b([A-Z][A-Z0-9]+-[A-Z0-9-]+)\b", text)
    if sku:
        return f"{{name:{sku.group(1)}}} — {{price:{sku.group(1)}}}, {{stock:{sku.group(1)}}}. Оформим заказ?"
    return "Подскажите, что вы ищете?"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller bursts and a faster pace")
    parser.add_argument("--sqlite", action="store_true", help="the dev server on SQLite instead of memory")
    opts = parser.parse_args()
    asyncio.run(main(opts.quick, opts.sqlite))
