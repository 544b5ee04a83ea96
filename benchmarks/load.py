"""Load at human pace: many open dialogues through the real worker process and dev server.

Each customer writes every 5–30 s (randomised) for `--duration` seconds; a burst scenario starts N
new dialogues at the same instant. Brains: `rules`, and an OpenAI-protocol server of fixed latency
(300 ms, 1 s) that serves requests concurrently. Each scenario runs Temporal's floor first (a bare
workflow whose update runs one regular activity, same dialogues and pace), so every figure is also a
ratio. The worker is a child process (`benchmarks.load_worker`): its CPU seconds, RSS and the SDK's
own metrics (sticky cache hits/misses/evictions, schedule-to-start) are its alone.

    python -m benchmarks.load --dialogues 10,100 --brains rules,300,1000 --duration 60
    python -m benchmarks.load --dialogues 1000 --brains rules --duration 120 --burst 0
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from benchmarks.floor import FloorWorkflow
from neuroseller.settings import Settings
from workers.client import connect, lead_input, send_message
from workers.devserver import DevServer, free_port
from workflows.types import IncomingMessage

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ["Здравствуйте!", "Сколько стоит палатка на двоих?", "А спальник есть?", "Беру палатку",
          "Какая доставка?", "Анна, +7 912 345-67-89", "А фонарик налобный сколько?", "Спасибо, подумаю"]
CLK = os.sysconf("SC_CLK_TCK")
AUTOSCALE = False  # --autoscale-pollers


# ---- the processes' own counters ------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (and its reaped children) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / CLK


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all processes, all cores)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def scrape(port: int) -> dict[str, float]:
    """Sum of each metric of the worker's Prometheus endpoint over its labels."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][\w:]*)(?:\{[^}]*\})?\s+([-\d.eE+naNinf]+)$", line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(2))
    return out


@dataclass
class WorkerProcess:
    proc: asyncio.subprocess.Process
    metrics_port: int

    @property
    def pid(self) -> int:
        return self.proc.pid


@dataclass
class InProcessWorker:
    """The old benchmark's layout: the worker shares the process (and event loop) of the load and the
    model server; kept to measure what that costs."""

    pid: int
    metrics_port: int


@contextlib.asynccontextmanager
async def in_process_worker(client: Client, metrics_port: int, task_queue: str, kind: str, brain: str,
                            base_url: str | None, max_cached: int | None) -> AsyncIterator[InProcessWorker]:
    from benchmarks.load_worker import settings_for
    from workers.worker import build_worker, sandbox_runner, worker_options

    args = argparse.Namespace(task_queue=task_queue, brain=brain, base_url=base_url, max_cached=max_cached)
    settings = settings_for(args)
    if kind == "floor":
        from temporalio.worker import Worker

        from benchmarks.floor import floor_echo
        worker = Worker(client, task_queue=task_queue, workflows=[FloorWorkflow], activities=[floor_echo],
                        workflow_runner=sandbox_runner(), **worker_options(settings))
    else:
        from catalog.loader import load_csv

        catalog = load_csv(ROOT / "catalog/sample/catalog.csv")
        worker = build_worker(client, settings, catalog=lambda: catalog)
    async with worker:
        yield InProcessWorker(os.getpid(), metrics_port)


@contextlib.asynccontextmanager
async def worker_process(address: str, task_queue: str, kind: str, brain: str, base_url: str | None,
                         max_cached: int | None) -> AsyncIterator[WorkerProcess]:
    port = free_port()
    cmd = [sys.executable, "-m", "benchmarks.load_worker", "--address", address, "--task-queue", task_queue,
           "--kind", kind, "--brain", brain, "--metrics-port", str(port)]
    if base_url:
        cmd += ["--base-url", base_url]
    if max_cached is not None:
        cmd += ["--max-cached", str(max_cached)]
    if AUTOSCALE:
        cmd.append("--autoscale-pollers")
    proc = await asyncio.create_subprocess_exec(*cmd, cwd=ROOT, stdout=asyncio.subprocess.PIPE)
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    if line.strip() != b"ready":
        raise RuntimeError(f"worker did not start: {line!r}")
    try:
        yield WorkerProcess(proc, port)
    finally:
        proc.terminate()
        await proc.wait()


# ---- load ----------------------------------------------------------------------------------------


@dataclass
class Run:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    server_cpu: float = 0.0
    worker_cpu: float = 0.0
    worker_rss_mb: float = 0.0
    events_per_turn: float = float("nan")
    actions_per_turn: float = float("nan")
    bytes_per_turn: float = float("nan")
    metrics: dict[str, float] = field(default_factory=dict)
    errors: int = 0
    others_cores: float = 0.0  # cores busy with processes outside this benchmark (other users of the machine)

    def pct(self, p: float) -> float:
        xs = sorted(self.latencies_ms)
        return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))] if xs else float("nan")

    @property
    def turns(self) -> int:
        return len(self.latencies_ms)

    @property
    def rate(self) -> float:
        return self.turns / self.seconds if self.seconds else 0.0

    def row(self) -> str:
        per = max(self.turns, 1)
        return (f"{self.name:<34} {self.turns:>6} {self.rate:>6.2f} {self.pct(50):>7.0f} {self.pct(95):>7.0f} "
                f"{self.pct(99):>7.0f} {1000 * self.server_cpu / per:>7.1f} {1000 * self.worker_cpu / per:>7.1f} "
                f"{self.worker_rss_mb:>6.0f} {self.events_per_turn:>5.1f} {self.actions_per_turn:>5.1f} "
                f"{self.bytes_per_turn:>6.0f} {self.errors:>4} {self.others_cores:>6.2f}")

    def cache_line(self) -> str:
        m = self.metrics
        hit, miss = m.get("temporal_sticky_cache_hit", 0), m.get("temporal_sticky_cache_miss", 0)
        evict = m.get("temporal_sticky_cache_total_forced_eviction", 0)

        def mean(name: str) -> float:  # the SDK's histograms are in milliseconds
            n = m.get(f"{name}_count", 0)
            return m.get(f"{name}_sum", 0) / n if n else float("nan")

        wf_s2s = mean("temporal_workflow_task_schedule_to_start_latency")
        act_s2s = mean("temporal_activity_schedule_to_start_latency")
        wf_exec = mean("temporal_workflow_task_execution_latency")
        return (f"{'':<34} sticky hit {hit:.0f} / miss {miss:.0f}, forced evictions {evict:.0f}; mean wf-task "
                f"sched→start {wf_s2s:.0f} ms, exec {wf_exec:.1f} ms; activity sched→start {act_s2s:.0f} ms")


async def one_turn(client: Client, kind: str, settings: Settings, task_queue: str, wid: str, t: int) -> None:
    if kind == "floor":
        op = WithStartWorkflowOperation(FloorWorkflow.run, id=wid, task_queue=task_queue,
                                        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
        await client.execute_update_with_start_workflow(FloorWorkflow.turn, f"turn {t}", start_workflow_operation=op)
        return
    inp = lead_input(settings, channel="load", chat_id=wid, task_queue=task_queue, persist=False,
                     workflow_id=wid)
    await send_message(client, inp, IncomingMessage(text=SCRIPT[t % len(SCRIPT)], message_id=f"{wid}-{t}"))


async def drive(client: Client, kind: str, settings: Settings, task_queue: str, dialogues: int,
                duration: float, pace: tuple[float, float], burst: bool, rng: random.Random,
                run: Run) -> dict[str, int]:
    """Customers writing at human pace until `duration` is over; a burst: all start at once and write
    without pause (the saturated throughput the floor is compared with)."""
    tag = uuid.uuid4().hex[:6]
    turns: dict[str, int] = {}
    deadline = time.perf_counter() + duration

    async def customer(i: int) -> None:
        wid = f"{kind}-{tag}-{i}"
        t = 0
        await asyncio.sleep(0 if burst else rng.uniform(0, pace[1]))
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                await one_turn(client, kind, settings, task_queue, wid, t)
                run.latencies_ms.append((time.perf_counter() - started) * 1000)
            except Exception:  # noqa: BLE001 - counted and shown in the table, the run goes on
                run.errors += 1
            t += 1
            turns[wid] = t
            if not burst:
                await asyncio.sleep(rng.uniform(*pace))

    await asyncio.gather(*(customer(i) for i in range(dialogues)))
    return turns


BILLED = {  # Temporal Cloud Actions, by the history events that carry them (docs: Temporal Cloud Actions)
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, EventType.EVENT_TYPE_TIMER_STARTED,
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
}


async def history_per_turn(client: Client, turns: dict[str, int], sample: int = 20) -> tuple[float, float, float]:
    """Events, billable Actions and bytes of history per turn, averaged over `sample` dialogues.

    Local activities count one Action per workflow task that records markers, as Temporal Cloud bills them."""
    events = actions = size = total_turns = 0
    for wid, n in list(turns.items())[:sample]:
        marker_task = False
        async for ev in client.get_workflow_handle(wid).fetch_history_events():
            events += 1
            size += ev.ByteSize()
            if ev.event_type in BILLED:
                actions += 1
            elif ev.event_type == EventType.EVENT_TYPE_MARKER_RECORDED and not marker_task:
                actions += 1
                marker_task = True
            elif ev.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                marker_task = False
            elif ev.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                actions += max(ev.activity_task_started_event_attributes.attempt - 1, 0)  # retries
        total_turns += n
    if not total_turns:
        return float("nan"), float("nan"), float("nan")
    return events / total_turns, actions / total_turns, size / total_turns


async def scenario(server: DevServer, client: Client, kind: str, brain: str, model_url: str | None,
                   dialogues: int, duration: float, pace: tuple[float, float], burst: bool,
                   max_cached: int | None, rng: random.Random, metrics_port: int | None = None) -> Run:
    label = "floor (1 activity)" if kind == "floor" else ("rules" if brain == "rules" else f"model {brain} ms")
    run = Run(f"{label}: {dialogues} {'burst' if burst else 'paced'}")
    tq = f"load-{kind}-{uuid.uuid4().hex[:6]}"
    settings = Settings(_env_file=None, profiles_dir=ROOT / "profiles", persist_leads=False,
                        llm_provider="rules" if brain == "rules" else "openai", llm_timeout_seconds=10)
    wbrain = "rules" if brain == "rules" else "openai"
    if metrics_port is not None:  # --in-process
        layout = in_process_worker(client, metrics_port, tq, kind, wbrain, model_url, max_cached)
    else:
        layout = worker_process(server.address, tq, kind, wbrain, model_url, max_cached)
    async with layout as worker:
        await one_turn(client, kind, settings, tq, f"warm-{uuid.uuid4().hex[:6]}", 0)  # imports, first task
        before = scrape(worker.metrics_port)
        s0, w0, started = cpu_seconds(server.proc.pid), cpu_seconds(worker.pid), time.perf_counter()
        m0, me0 = machine_busy(), cpu_seconds(os.getpid())
        sampler = asyncio.create_task(_sample_rss(worker.pid, run))
        turns = await drive(client, kind, settings, tq, dialogues, duration, pace, burst, rng, run)
        run.seconds = time.perf_counter() - started
        run.server_cpu = cpu_seconds(server.proc.pid) - s0
        run.worker_cpu = cpu_seconds(worker.pid) - w0
        ours = run.server_cpu + (cpu_seconds(os.getpid()) - me0) + (run.worker_cpu if worker.pid != os.getpid() else 0)
        run.others_cores = max(0.0, (machine_busy() - m0 - ours) / run.seconds)
        sampler.cancel()
        after = scrape(worker.metrics_port)
        run.metrics = {k: v - before.get(k, 0.0) for k, v in after.items()}
        run.events_per_turn, run.actions_per_turn, run.bytes_per_turn = await history_per_turn(client, turns)
        await _terminate(client, turns)
    return run


async def _sample_rss(pid: int, run: Run) -> None:
    while True:
        run.worker_rss_mb = max(run.worker_rss_mb, rss_mb(pid))
        await asyncio.sleep(1)


async def _terminate(client: Client, turns: dict[str, int]) -> None:
    """Close the scenario's workflows so the next scenario starts on an idle server."""
    sem = asyncio.Semaphore(50)

    async def one(wid: str) -> None:
        async with sem:
            with contextlib.suppress(Exception):
                await client.get_workflow_handle(wid).terminate("load benchmark done")

    await asyncio.gather(*(one(w) for w in turns))


async def _connect(address: str) -> Client:
    """The dev server's port opens before its frontend is healthy: retry for a few seconds."""
    for _ in range(50):
        try:
            return await connect(address)
        except RuntimeError:
            await asyncio.sleep(0.2)
    return await connect(address)


async def preload(server: DevServer, client: Client, n: int, metrics_port: int | None) -> None:
    """`n` leads with one turn each, left open on the server (the old benchmark's 800 earlier workflows)."""
    settings = Settings(_env_file=None, profiles_dir=ROOT / "profiles", persist_leads=False)
    tq = f"load-preload-{uuid.uuid4().hex[:6]}"
    layout = (in_process_worker(client, metrics_port, tq, "lead", "rules", None, None) if metrics_port is not None
              else worker_process(server.address, tq, "lead", "rules", None, None))
    started = time.perf_counter()
    async with layout:
        sem = asyncio.Semaphore(50)

        async def one(i: int) -> None:
            async with sem:
                await one_turn(client, "lead", settings, tq, f"preload-{tq}-{i}", 0)

        await asyncio.gather(*(one(i) for i in range(n)))
    print(f"preloaded {n} open leads in {time.perf_counter() - started:.0f} s", flush=True)


HEADER = (f"{'scenario':<34} {'turns':>6} {'msg/s':>6} {'p50':>7} {'p95':>7} {'p99':>7} {'srv ms':>7} "
          f"{'wrk ms':>7} {'RSS MB':>6} {'ev/t':>5} {'act/t':>5} {'B/t':>6} {'err':>4} {'other':>6}")


async def main(opts: argparse.Namespace) -> None:
    from tests.fakes.openai_server import FakeOpenAIServer  # the loopback model server of the tests

    global AUTOSCALE
    AUTOSCALE = opts.autoscale_pollers
    rng = random.Random(opts.seed)
    pace = tuple(float(x) for x in opts.pace.split(","))
    brains = [b for b in opts.brains.split(",") if b]  # "" = the floor only
    var = Path(opts.sqlite) if opts.sqlite else None
    print(f"load: dialogues {opts.dialogues}, brains {opts.brains}, {opts.duration:g} s per scenario, pace "
          f"{pace[0]:g}–{pace[1]:g} s, burst {opts.burst}, dev server {'SQLite' if var else 'in-memory'}, "
          f"max_cached {opts.max_cached or 'default'}, "
          f"worker {'in the load process' if opts.in_process else 'own process'}"
          f", preload {opts.preload}, pollers {'autoscaling' if opts.autoscale_pollers else 'fixed'}, "
          f"{os.cpu_count()} cores", flush=True)
    print(HEADER, flush=True)
    async with DevServer(port=free_port(), ui_port=None, var_dir=var) as server:
        metrics_port = None
        if opts.in_process:
            from temporalio.contrib.pydantic import pydantic_data_converter
            from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

            metrics_port = free_port()
            runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(
                bind_address=f"127.0.0.1:{metrics_port}")))
            client = await Client.connect(server.address, data_converter=pydantic_data_converter, runtime=runtime)
        else:
            client = await _connect(server.address)
        if opts.preload:
            await preload(server, client, opts.preload, metrics_port)
        for n in (int(x) for x in opts.dialogues.split(",")):
            floor = await scenario(server, client, "floor", "rules", None, n, opts.duration, pace, False,
                                   opts.max_cached, rng, metrics_port)
            print(floor.row(), flush=True)
            print(floor.cache_line(), flush=True)
            for brain in brains:
                delay = 0.0 if brain == "rules" else int(brain) / 1000
                async with FakeOpenAIServer(delay_seconds=delay) as model:
                    run = await scenario(server, client, "lead", brain, model.base_url, n, opts.duration, pace,
                                         False, opts.max_cached, rng, metrics_port)
                print(run.row(), flush=True)
                print(run.cache_line(), flush=True)
                floor_p95 = floor.pct(95) + delay * 1000
                print(f"{'':<34} ratios: p95 / (floor p95 + model) {run.pct(95) / floor_p95:.2f}, "
                      f"msg/s / floor {run.rate / floor.rate:.2f}, worker CPU/turn / floor "
                      f"{(run.worker_cpu / max(run.turns, 1)) / (floor.worker_cpu / max(floor.turns, 1)):.2f}",
                      flush=True)
        if opts.burst:  # N new dialogues at once, then flat out: the saturated msg/s of floor and leads
            burst: list[Run] = []
            for kind, brain in (("floor", "rules"), ("lead", "rules")):
                run = await scenario(server, client, kind, brain, None, opts.burst, min(opts.duration, 30), pace,
                                     True, opts.max_cached, rng, metrics_port)
                print(run.row(), flush=True)
                print(run.cache_line(), flush=True)
                burst.append(run)
            print(f"{'':<34} saturated msg/s rules / floor {burst[1].rate / burst[0].rate:.2f}", flush=True)
    print("srv ms / wrk ms: CPU milliseconds per turn of the Temporal server / the worker process; "
          "ev/t, act/t, B/t: history events, Temporal Cloud Actions and history bytes per turn; msg/s sustained "
          "over the scenario; other: cores busy with other processes on the machine during the scenario (noise)",
          flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dialogues", default="10,100", help="comma-separated open dialogue counts")
    parser.add_argument("--brains", default="rules,300,1000", help="rules and/or model latencies in ms")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load per scenario")
    parser.add_argument("--pace", default="5,30", help="seconds between a customer's messages: min,max")
    parser.add_argument("--burst", type=int, default=100, help="new dialogues started at once (0: none)")
    parser.add_argument("--max-cached", type=int, help="worker max_cached_workflows (default: the setting)")
    parser.add_argument("--sqlite", help="directory for a SQLite-backed dev server instead of in-memory")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--in-process", action="store_true",
                        help="run the workers inside this process, as benchmarks.chat_latency does")
    parser.add_argument("--autoscale-pollers", action="store_true",
                        help="workers poll with PollerBehaviorAutoscaling instead of a fixed number of pollers")
    parser.add_argument("--preload", type=int, default=0, help="open leads started (one turn) before the load")
    asyncio.run(main(parser.parse_args()))
