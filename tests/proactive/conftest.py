"""A worker with the proactive parts, profiles written per test (caps, quiet hours), rules brain."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from temporalio.client import Client

from activities.profiles import ProfileStore
from catalog.loader import load_csv
from catalog.schema import Catalog
from neuroseller.settings import Settings
from tests.conftest import SAMPLE_CATALOG
from workers.client import lead_input, send_message
from workers.worker import build_worker
from workflows.lead import LeadWorkflow
from workflows.types import IncomingMessage, LeadInput, LeadState, TurnResult

NO_QUIET = 'quiet_start = "00:00"\nquiet_end = "00:00"\n'


@dataclass
class Shop:
    client: Client
    settings: Settings
    task_queue: str
    profiles_dir: Path
    catalog: list[Catalog] = field(default_factory=list)

    def profile(self, name: str, body: str) -> str:
        (self.profiles_dir / f"{name}.toml").write_text(f'name = "{name}"\n{body}', encoding="utf-8")
        return name

    def lead(self, profile: str | None = None, chat_id: str | None = None, channel: str = "test",
             **kw: object) -> LeadInput:
        return lead_input(self.settings, channel=channel, chat_id=chat_id or uuid.uuid4().hex[:10],
                          task_queue=self.task_queue, persist=False, profile_name=profile, **kw)

    async def say(self, inp: LeadInput, text: str) -> TurnResult:
        return await send_message(self.client, inp, IncomingMessage(text=text))

    async def state(self, lead_id: str) -> LeadState:
        return await self.client.get_workflow_handle(lead_id).query(LeadWorkflow.state)

    async def until(self, lead_id: str, check: Callable[[LeadState], bool], timeout: float = 15.0) -> LeadState:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            state = await self.state(lead_id)
            if check(state) or asyncio.get_running_loop().time() > deadline:
                return state
            await asyncio.sleep(0.2)


@pytest.fixture(scope="module")
async def shop(temporal_env, tmp_path_factory) -> AsyncIterator[Shop]:
    profiles = tmp_path_factory.mktemp("profiles")
    (profiles / "default.toml").write_text(f'name = "default"\n[proactive]\n{NO_QUIET}', encoding="utf-8")
    tq = f"proactive-{uuid.uuid4().hex[:6]}"
    settings = Settings(_env_file=None, llm_provider="rules", profiles_dir=profiles, shop_timezone="UTC",
                        task_queue=tq, persist_leads=False)
    box = [load_csv(SAMPLE_CATALOG)]
    async with build_worker(temporal_env.client, settings, catalog=lambda: box[0],
                            profiles=ProfileStore(profiles), task_queue=tq):
        yield Shop(temporal_env.client, settings, tq, profiles, box)


async def visible(client: Client, query: str, count: int, timeout: float = 15.0) -> None:
    """Wait for visibility (eventually consistent) to show `count` workflows for `query`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (await client.count_workflows(query)).count != count:
        assert asyncio.get_running_loop().time() < deadline, f"visibility never showed {count} for {query}"
        await asyncio.sleep(0.2)
