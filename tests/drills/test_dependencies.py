"""Drills on what the worker depends on: the model server and PostgreSQL, each behind a proxy we cut."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from tests.drills.harness import Customer, assert_dialogue_whole, worker_env, workers
from tests.drills.proxy import TcpProxy
from tests.drills.test_processes import model_env, with_model
from tests.fakes.openai_server import FakeOpenAIServer
from workers.devserver import DevServer


def through(dsn: str, proxy: TcpProxy) -> str:
    parts = urlsplit(dsn)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


async def test_model_server_down_fails_over_to_rules(drill, server: DevServer, client, dsn, task_queue,
                                                     settings) -> None:
    """model server down: rules reply, lead escalated, model back later"""
    async with FakeOpenAIServer() as model, TcpProxy("127.0.0.1", model.port) as link:
        model_url = f"http://127.0.0.1:{link.port}/v1"
        env = worker_env(server.address, task_queue, dsn, **{**model_env(model), "openai_base_url": model_url})
        async with workers(env):
            gleb = Customer.new(client, with_model(settings).model_copy(update={"llm_max_attempts": 2}),
                                "model-down", task_queue)
            await gleb.says("Здравствуйте!")
            await link.cut()
            asked = len(model.requests)
            started = time.monotonic()
            down = await gleb.says("Сколько стоит палатка на двоих?")
            answered = time.monotonic() - started
            assert down.replies and down.escalated and down.escalation_reason == "llm_failure"
            assert "₽" in down.replies[0], "the rules reply carries the catalog's price"
            assert len(model.requests) == asked
            await link.restore()
            back = await gleb.says("А спальник есть?")
            summary = await assert_dialogue_whole(gleb, dsn)
    assert len(model.requests) > asked, "the model answers again once it is back"
    assert back.replies
    drill.observed = f"rules reply in {answered:.1f} s, escalation llm_failure, model used again after; {summary}"


async def test_postgres_cut_and_restored(drill, server: DevServer, client, dsn, task_queue, settings) -> None:
    """PostgreSQL unreachable mid-dialogue, then back"""
    async with TcpProxy("127.0.0.1", 5432) as link:
        env = worker_env(server.address, task_queue, through(dsn, link))
        async with workers(env):
            dina = Customer.new(client, settings, "pg-cut", task_queue)
            await dina.says("Сколько стоит палатка на двоих?")
            await link.cut()
            cut_at = time.monotonic()
            await dina.says("Беру одну")  # replies never wait for the CRM
            await dina.says("Анна, +7 912 345-67-89")
            replies_while_down = time.monotonic() - cut_at
            await asyncio.sleep(3)  # long enough for the CRM writes to fail and back off
            conn = await asyncpg.connect(dsn)  # directly, not through the cut link
            logged_while_down = await conn.fetchval("SELECT count(*) FROM messages WHERE lead_id = $1 "
                                                    "AND role = 'customer'", dina.lead_id)
            await conn.close()
            assert logged_while_down < 3, "the cut really kept the CRM writes out"
            connections = link.connections
            await link.restore()
            restored_at = time.monotonic()
            summary = await assert_dialogue_whole(dina, dsn)
            caught_up = time.monotonic() - restored_at
    assert link.connections > connections, "the worker reconnected through the restored link"
    drill.observed = (f"2 turns answered while down ({replies_while_down:.1f} s); CRM caught up {caught_up:.1f} s "
                      f"after the restore; {summary}")
