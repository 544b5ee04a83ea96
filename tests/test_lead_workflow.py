"""LeadWorkflow against the real dev server with the rules brain and the sample catalog."""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import Client

from activities.profiles import ProfileStore
from catalog.loader import load_csv
from neuroseller.settings import Settings
from tests.conftest import ROOT, SAMPLE_CATALOG
from workers.client import lead_input, send_message
from workers.worker import build_worker
from workflows.lead import LeadWorkflow
from workflows.types import IncomingMessage, LeadState


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, llm_provider="rules", profiles_dir=ROOT / "profiles")


async def test_price_question_gets_real_price_and_next_step(temporal_env, settings):
    client: Client = temporal_env.client
    catalog = load_csv(SAMPLE_CATALOG)
    tq = f"t-{uuid.uuid4().hex[:6]}"
    async with build_worker(client, settings, catalog=lambda: catalog, profiles=ProfileStore(settings.profiles_dir),
                            task_queue=tq):
        inp = lead_input(settings, channel="test", chat_id=uuid.uuid4().hex[:8], task_queue=tq, persist=False)
        r = await send_message(client, inp, IncomingMessage(text="Сколько стоит палатка на двоих?"))
        print(r)
        assert r.replies and "?" in r.replies[-1]
        r2 = await send_message(client, inp, IncomingMessage(text="Беру"))
        print(r2)
        r3 = await send_message(client, inp, IncomingMessage(text="Анна, +7 912 345-67-89"))
        print(r3)
        state: LeadState = await client.get_workflow_handle(inp.state.lead_id).query(LeadWorkflow.state)
        print(state.lead)
        assert state.lead.phone == "+79123456789"
