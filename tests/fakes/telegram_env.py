"""Shared set-up of the Telegram tests: a scratch PostgreSQL database, settings, a connected client."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from telethon import TelegramClient
from temporalio.client import Client

from activities.channels.telegram.store import TelegramStore
from activities.crm.db.database import Database
from activities.crm.db.scratch import scratch_database
from neuroseller.settings import Settings
from tests.fakes.telegram import FakeTelegram
from workers.telegram_gateway import TelegramGateway, build_telethon_client, open_gateway
from workflows.types import LeadState, TranscriptEntry

OPERATORS_CHAT = -4001


@asynccontextmanager
async def migrated_database() -> AsyncIterator[Database]:
    async with scratch_database(prefix="neuroseller_tg") as dsn, Database(dsn) as db:
        await db.migrate()
        yield db


def tg_settings(server: FakeTelegram, db: Database, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "telegram_api_id": 12345, "telegram_api_hash": "0123456789abcdef", "database_url": db.dsn,
        "telegram_session": server.session_string(), "telegram_operators_chat": OPERATORS_CHAT,
        "telegram_allowed_chats": "", "llm_provider": "rules", "public_ui_url": "http://ui.test",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def fake_client(server: FakeTelegram, settings: Settings) -> TelegramClient:
    return server.attach(build_telethon_client(settings, session=server.session_string()))


@asynccontextmanager
async def connected(server: FakeTelegram, settings: Settings) -> AsyncIterator[TelegramClient]:
    tg = fake_client(server, settings)
    await tg.connect()
    try:
        yield tg
    finally:
        await tg.disconnect()


def store_of(db: Database) -> TelegramStore:
    return TelegramStore(db)


def uid() -> int:
    return random.randint(10_000_000, 99_999_999)


@asynccontextmanager
async def gateway(temporal_env, server: FakeTelegram, db: Database, settings: Settings,
                  **kw) -> AsyncIterator[TelegramGateway]:
    async with open_gateway(settings, temporal_env.client, fake_client(server, settings), store_of(db),
                            **kw) as gw:
        yield gw


async def settle(gw: TelegramGateway, condition: Callable[[], bool] = lambda: True, timeout: float = 20) -> None:
    """Let Telethon's update loop hand updates over, then wait for the gateway and `condition`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        await asyncio.sleep(0.05)
        await gw.drain()
        if condition() and not gw.marks.pending() and gw.tg._updates_queue.empty():
            return
        assert loop.time() < deadline, "timed out waiting for the gateway"


async def lead_state(client: Client, chat_id: int) -> LeadState:
    return await client.get_workflow_handle(f"lead-tg-{chat_id}").query("state", result_type=LeadState)


async def transcript(client: Client, chat_id: int) -> list[TranscriptEntry]:
    return await client.get_workflow_handle(f"lead-tg-{chat_id}").query(
        "transcript", result_type=list[TranscriptEntry])


async def assert_each_bot_message_sent_once(client: Client, server: FakeTelegram, chat_id: int) -> None:
    bot = [e.text for e in await transcript(client, chat_id) if e.role in ("bot", "operator")]
    assert server.texts(chat_id) == bot
