"""Record a lead's history for the replay test (run when the workflow's command sequence changes on purpose)."""
import asyncio
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.profiles import ProfileStore
from catalog.loader import load_csv
from neuroseller.settings import Settings
from tests.conftest import SAMPLE_CATALOG, temporal_binary
from workers.client import lead_input, send_message
from workers.worker import build_worker
from workflows.search_attributes import ALL
from workflows.types import IncomingMessage


async def main() -> str:
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=temporal_binary(),
                                                data_converter=pydantic_data_converter, search_attributes=ALL)
    settings = Settings(_env_file=None, profiles_dir=Path("profiles"))
    catalog = load_csv(SAMPLE_CATALOG)
    async with build_worker(env.client, settings, catalog=lambda: catalog, profiles=ProfileStore(Path("profiles")),
                            task_queue="record"):
        inp = lead_input(settings, channel="test", chat_id="recorded", task_queue="record", persist=False,
                         workflow_id="lead-test-recorded")
        for i, text in enumerate(["Здравствуйте!", "Сколько стоит палатка на двоих?", "Беру", "Сколько стоит байдарка?",
                                  "Анна, +7 912 345-67-89"]):
            await send_message(env.client, inp, IncomingMessage(text=text, message_id=f"rec-{i}"))
        history = await env.client.get_workflow_handle(inp.state.lead_id).fetch_history()
    await env.shutdown()
    return history.to_json()


if __name__ == "__main__":  # PYTHONPATH=. .venv/bin/python tests/histories/record.py
    Path("tests/histories/lead_sale.json").write_text(asyncio.run(main()), encoding="utf-8")
