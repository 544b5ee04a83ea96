"""Shared set-up of the Telegram tests: a scratch PostgreSQL database, settings, a connected client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from activities.db.database import Database
from activities.db.scratch import scratch_database
from activities.telegram_store import TelegramStore
from neuroseller.settings import Settings
from tests.fakes.telegram import FakeTelegram
from workers.telegram_gateway import GatewayClient, build_telethon_client

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


def fake_client(server: FakeTelegram, settings: Settings) -> GatewayClient:
    return server.attach(build_telethon_client(settings, session=server.session_string()))


@asynccontextmanager
async def connected(server: FakeTelegram, settings: Settings) -> AsyncIterator[GatewayClient]:
    tg = fake_client(server, settings)
    await tg.connect()
    try:
        yield tg
    finally:
        await tg.disconnect()


def store_of(db: Database) -> TelegramStore:
    return TelegramStore(db)
