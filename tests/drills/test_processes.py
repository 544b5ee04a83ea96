"""Drills on our own processes and Temporal's: kill -9 a worker, SIGTERM one, restart the server, run two."""

from __future__ import annotations

import asyncio
import time

from temporalio.api.enums.v1 import EventType

from neuroseller.settings import Settings
from tests.drills.harness import Customer, assert_dialogue_whole, worker_env, workers
from tests.fakes.openai_server import FakeOpenAIServer
from workers.devserver import DevServer
from workers.healthcheck import check


def model_env(srv: FakeOpenAIServer, timeout: float = 3) -> dict[str, object]:
    return {"llm_provider": "openai", "openai_base_url": srv.base_url, "openai_api_key": "sk-drill-not-a-secret",
            "llm_model": "gpt-4o-mini", "llm_timeout_seconds": timeout, "llm_max_attempts": 3}


def with_model(settings: Settings, timeout: float = 3) -> Settings:
    """The lead's own knobs (they travel in its start argument, not in the worker's environment)."""
    return settings.model_copy(update={"llm_provider": "openai", "llm_timeout_seconds": timeout,
                                       "llm_max_attempts": 3})


async def wait_for(condition, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_worker_killed_mid_turn(drill, server: DevServer, client, dsn, task_queue, settings) -> None:
    """kill -9 the worker while the model is answering"""
    async with FakeOpenAIServer() as model:
        env = worker_env(server.address, task_queue, dsn, **model_env(model))
        async with workers(env) as (first,):
            anna = Customer.new(client, with_model(settings), "kill9", task_queue)
            await anna.says("Здравствуйте!")
            model.delay_seconds = 30  # the next answer hangs: the turn is in flight when the worker dies
            asked = len(model.requests)
            turn = asyncio.create_task(anna.says("Сколько стоит палатка на двоих?"))
            await wait_for(lambda: len(model.requests) > asked)
            killed_at = time.monotonic()
            await first.kill9()
            model.delay_seconds = 0
            async with workers(env):
                await turn
                recovered = time.monotonic() - killed_at
                await anna.says("Беру одну")
                summary = await assert_dialogue_whole(anna, dsn)
    drill.observed = f"answered {recovered:.1f} s after the kill (activity timeout 3 s + sticky fallback); {summary}"


async def test_sigterm_drains_the_turn_in_flight(drill, server: DevServer, client, dsn, task_queue,
                                                 settings) -> None:
    """SIGTERM a worker mid-turn: it finishes the model call, then exits"""
    async with FakeOpenAIServer() as model:
        env = worker_env(server.address, task_queue, dsn, **model_env(model, timeout=10))
        async with workers(env) as (first,):
            boris = Customer.new(client, with_model(settings, 10), "drain", task_queue)
            await boris.says("Здравствуйте!")
            model.delay_seconds = 2
            asked = len(model.requests)
            turn = asyncio.create_task(boris.says("Сколько стоит палатка на двоих?"))
            await wait_for(lambda: len(model.requests) > asked)
            exit_seconds = await first.sigterm()
            model.delay_seconds = 0
            async with workers(env):  # the next workflow task needs a worker that still polls
                await turn
                await boris.says("Беру одну")
                summary = await assert_dialogue_whole(boris, dsn)
    assert 1.5 <= exit_seconds <= 10 + 3, "waited for the in-flight model call, within the graceful bound"
    assert len(model.requests) == asked + 2, "the drained call was not repeated (one more for the last turn)"
    drill.observed = (f"exited {exit_seconds:.1f} s after SIGTERM (bound 10 s, exit code {first.proc.returncode}), "
                      f"model call not repeated; {summary}")


async def test_server_restarted_mid_dialogue(drill, server: DevServer, client, dsn, task_queue, settings) -> None:
    """restart the Temporal dev server (SQLite) mid-dialogue"""
    env = worker_env(server.address, task_queue, dsn)
    async with workers(env):
        vera = Customer.new(client, settings, "restart", task_queue)
        await vera.says("Здравствуйте!")
        await vera.says("Сколько стоит палатка на двоих?")
        await server.stop()
        down_at = time.monotonic()
        turn = asyncio.create_task(vera.says("Беру одну"))  # written while the server is down
        await asyncio.sleep(2)
        assert not turn.done()
        await server.start()
        await turn
        recovered = time.monotonic() - down_at
        await vera.says("Анна, +7 912 345-67-89")
        summary = await assert_dialogue_whole(vera, dsn)
        state = await vera.state()
    assert state.turns == 4 and state.cart, "the lead's state survived the restart"
    drill.observed = (f"message written while down answered {recovered:.1f} s after the stop "
                      f"({vera.retries} client retries); {summary}")


async def test_two_workers_share_load_and_one_is_killed(drill, server: DevServer, client, dsn, task_queue,
                                                        settings) -> None:
    """two workers on one task queue, one killed mid-load"""
    async with FakeOpenAIServer(delay_seconds=0.3) as model:
        env = worker_env(server.address, task_queue, dsn, **model_env(model))
        async with workers(env, env) as (a, b):
            probe = Settings(_env_file=None, temporal_address=server.address, task_queue=task_queue)
            for _ in range(50):  # the container healthcheck: pollers of this host on the queue
                if (health := await check(probe, "worker")) is None:
                    break
                await asyncio.sleep(0.2)
            assert health is None, health
            assert await check(probe.model_copy(update={"task_queue": "nobody-polls"}), "worker")
            customers = [Customer.new(client, with_model(settings), f"pair-{i}", task_queue) for i in range(12)]
            script = ["Здравствуйте!", "Сколько стоит палатка на двоих?", "Беру одну", "Анна, +7 912 345-67-89"]

            async def dialogue(c: Customer) -> None:
                for text in script:
                    await c.says(text)

            load = asyncio.gather(*(dialogue(c) for c in customers))
            await wait_for(lambda: sum(len(c.results) for c in customers) >= 12)
            await a.kill9()
            await load
            for c in customers:
                await assert_dialogue_whole(c, dsn)
    pids = set()
    for c in customers:
        async for event in client.get_workflow_handle(c.lead_id).fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                pids.add(event.workflow_task_completed_event_attributes.identity.split("@")[0])
    assert {str(a.pid), str(b.pid)} <= pids, "both workers ran turns"
    drill.observed = (f"both workers ran turns; {len(customers)} dialogues × {len(script)} turns whole after "
                      f"one kill -9 (1 lead row each)")
