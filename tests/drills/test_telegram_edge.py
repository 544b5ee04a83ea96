"""Drills at the Telegram edge: FloodWait, the gateway restarted while customers write, a slow model.

The gateway runs here with real Telethon objects over the fake MTProto sender (Telegram itself is the
only faked part, as in tests/telegram/); the lead worker is a real `neuroseller worker` process.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telethon import functions

from activities.crm.db.database import Database
from neuroseller.settings import Settings
from tests.drills.harness import ROOT, worker_env, workers
from tests.drills.test_processes import model_env
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.telegram import FakeTelegram, flood
from tests.fakes.telegram_env import (
    assert_each_bot_message_sent_once,
    fake_client,
    lead_state,
    settle,
    store_of,
    tg_settings,
    transcript,
    uid,
)
from workers.devserver import DevServer
from workers.telegram_gateway import open_gateway


@pytest.fixture
async def db(dsn: str) -> AsyncIterator[Database]:
    async with Database(dsn) as database:
        yield database


@pytest.fixture
def telegram() -> FakeTelegram:
    return FakeTelegram()


def gateway_settings(telegram: FakeTelegram, db: Database, server: DevServer, task_queue: str,
                     **overrides: object) -> Settings:
    return tg_settings(telegram, db, temporal_address=server.address, task_queue=task_queue,
                       telegram_task_queue=f"tg-{uuid.uuid4().hex[:6]}", profiles_dir=ROOT / "profiles",
                       **overrides)


def gateway(settings: Settings, client, telegram: FakeTelegram, db: Database):
    return open_gateway(settings, client, fake_client(telegram, settings), store_of(db))


async def customer_lines(client, chat_id: int) -> list[str]:
    return [e.text for e in await transcript(client, chat_id) if e.role == "customer"]


async def test_flood_wait_from_telegram(drill, server: DevServer, client, dsn, db, task_queue, telegram) -> None:
    """FloodWait from Telegram on a reply"""
    settings = gateway_settings(telegram, db, server, task_queue)
    ann = telegram.user(uid(), "Аня")
    async with workers(worker_env(server.address, task_queue, dsn)), gateway(settings, client, telegram, db) as gw:
        telegram.fail[functions.messages.SendMessageRequest].append(flood(seconds=2))
        telegram.writes(ann, "Сколько стоит палатка на двоих?")
        await settle(gw, lambda: bool(telegram.texts(ann.id)), timeout=40)
        telegram.writes(ann, "Беру одну")
        await settle(gw, lambda: len(telegram.texts(ann.id)) >= 2, timeout=40)
        assert len(telegram.sent(ann.id)) == len(telegram.texts(ann.id)) + 1, "one refused request, no resend"
        assert await customer_lines(client, ann.id) == ["Сколько стоит палатка на двоих?", "Беру одну"]
        await assert_each_bot_message_sent_once(client, telegram, ann.id)
    drill.observed = f"reply waited out FloodWait 2 s and went once; {len(telegram.texts(ann.id))} replies, no repeat"


async def test_gateway_restarted_while_customers_write(drill, server: DevServer, client, dsn, db, task_queue,
                                                       telegram) -> None:
    """Telegram gateway restarted, messages arriving while it is down"""
    settings = gateway_settings(telegram, db, server, task_queue)
    ira, oleg = telegram.user(uid(), "Ира"), telegram.user(uid(), "Олег")
    async with workers(worker_env(server.address, task_queue, dsn)):
        async with gateway(settings, client, telegram, db) as gw:
            telegram.writes(ira, "Сколько стоит палатка на двоих?")
            await settle(gw, lambda: bool(telegram.texts(ira.id)), timeout=40)
        telegram.writes(ira, "А спальник есть?")  # the gateway is down
        telegram.writes(oleg, "Здравствуйте, есть фонарик налобный?")
        telegram.writes(ira, "Беру палатку")
        assert not telegram.online
        async with gateway(settings, client, telegram, db) as gw2:
            await settle(gw2, lambda: gw2.stats["accepted"] == 3, timeout=40)
            telegram.writes(oleg, "Беру")
            await settle(gw2, lambda: gw2.stats["accepted"] == 4, timeout=40)
        assert await customer_lines(client, ira.id) == ["Сколько стоит палатка на двоих?", "А спальник есть?",
                                                        "Беру палатку"]
        assert await customer_lines(client, oleg.id) == ["Здравствуйте, есть фонарик налобный?", "Беру"]
        for who in (ira, oleg):
            await assert_each_bot_message_sent_once(client, telegram, who.id)
            assert len(telegram.texts(who.id)) >= len(await customer_lines(client, who.id))
    drill.observed = "3 messages written while down caught up from the saved pts, each answered once"


async def test_slow_model_gets_a_holding_message(drill, server: DevServer, client, dsn, db, task_queue, telegram,
                                                 tmp_path: Path) -> None:
    """model slower than the reply deadline: holding message, escalation, then the answer"""
    profiles = tmp_path / "profiles"
    shutil.copytree(ROOT / "profiles", profiles)
    default = profiles / "default.toml"
    default.write_text(re.sub(r"(?m)^reply_deadline_seconds\s*=.*$", "reply_deadline_seconds = 1.5",
                              default.read_text()))
    async with FakeOpenAIServer(delay_seconds=4) as model:
        settings = gateway_settings(telegram, db, server, task_queue, llm_provider="openai", llm_timeout_seconds=10)
        env = worker_env(server.address, task_queue, dsn, **model_env(model, timeout=10), profiles_dir=profiles)
        kim = telegram.user(uid(), "Ким")
        async with workers(env), gateway(settings, client, telegram, db) as gw:
            telegram.writes(kim, "Сколько стоит палатка на двоих?")
            await settle(gw, lambda: len(telegram.texts(kim.id)) >= 2, timeout=40)
            model.delay_seconds = 0
            telegram.writes(kim, "Беру одну")
            await settle(gw, lambda: len(telegram.texts(kim.id)) >= 3, timeout=40)
            state = await lead_state(client, kim.id)
            texts = telegram.texts(kim.id)
            assert "reply_deadline" in [e.reason for e in state.escalations]
            await assert_each_bot_message_sent_once(client, telegram, kim.id)
    assert texts[0] != texts[1], "the holding message went once, then the answer"
    drill.observed = f"holding message at 1.5 s, the answer after 4 s, escalation reply_deadline; {len(texts)} sends"
