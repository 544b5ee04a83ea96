"""Fixtures every Telegram test uses: a migrated scratch database and the fake Telegram network edge."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from activities.crm.db.database import Database
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram_env import migrated_database


@pytest.fixture(scope="module")
async def db() -> AsyncIterator[Database]:
    async with migrated_database() as database:
        yield database


@pytest.fixture
def server() -> FakeTelegram:
    return FakeTelegram()
