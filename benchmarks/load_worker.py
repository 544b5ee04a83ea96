"""A worker process for the load benchmark: the real lead worker (or the floor's) with Prometheus on.

Run by `benchmarks.load` as a child process so its CPU seconds and RSS are its own; Temporal's SDK
metrics (sticky cache hits/misses/evictions, schedule-to-start latencies, free slots) are served on
`--metrics-port` and scraped by the benchmark at the end of each scenario.

    python -m benchmarks.load_worker --address 127.0.0.1:7233 --task-queue q --kind lead --brain rules
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from pydantic import SecretStr
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from benchmarks.floor import FloorWorkflow, floor_echo
from neuroseller.settings import Settings
from workers.worker import build_worker, sandbox_runner, worker_options

ROOT = Path(__file__).resolve().parent.parent


def settings_for(args: argparse.Namespace) -> Settings:
    update: dict = {"task_queue": args.task_queue, "profiles_dir": ROOT / "profiles", "llm_timeout_seconds": 10,
                    "persist_leads": False}
    if args.max_cached is not None:
        update["worker_max_cached_workflows"] = args.max_cached
    if args.brain == "openai":
        update |= {"llm_provider": "openai", "openai_base_url": args.base_url, "llm_model": "bench",
                   "openai_api_key": SecretStr("sk-bench-not-a-secret")}
    return Settings(_env_file=None).model_copy(update=update)


async def main(args: argparse.Namespace) -> None:
    runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(
        bind_address=f"127.0.0.1:{args.metrics_port}")))
    client = await Client.connect(args.address, data_converter=pydantic_data_converter, runtime=runtime)
    settings = settings_for(args)
    options = worker_options(settings)
    if args.autoscale_pollers:  # experiment: pollers that grow with the backlog instead of a fixed 5
        from temporalio.worker import PollerBehaviorAutoscaling

        options |= {"workflow_task_poller_behavior": PollerBehaviorAutoscaling(),
                    "activity_task_poller_behavior": PollerBehaviorAutoscaling()}
    if args.kind == "floor":
        worker = Worker(client, task_queue=args.task_queue, workflows=[FloorWorkflow], activities=[floor_echo],
                        workflow_runner=sandbox_runner(), **options)
    else:
        from catalog.loader import load_csv

        catalog = load_csv(ROOT / "catalog/sample/catalog.csv")
        worker = build_worker(client, settings, catalog=lambda: catalog, options=options)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with worker:
        print("ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--kind", choices=["lead", "floor"], default="lead")
    parser.add_argument("--brain", choices=["rules", "openai"], default="rules")
    parser.add_argument("--base-url")
    parser.add_argument("--metrics-port", type=int, required=True)
    parser.add_argument("--max-cached", type=int)
    parser.add_argument("--autoscale-pollers", action="store_true")
    asyncio.run(main(parser.parse_args()))
