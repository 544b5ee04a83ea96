"""LOG_FORMAT=json: one JSON object a line with lead id, channel and turn, PII masked; text stays default."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest

from catalog.loader import load_csv
from neuroseller.logs import bind, channel_of, setup_logging
from neuroseller.settings import Settings
from tests.conftest import ROOT, SAMPLE_CATALOG
from workers.client import lead_input, send_message
from workers.worker import build_worker
from workflows.types import IncomingMessage


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    wf_level = logging.getLogger("temporalio.workflow").level
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)
    logging.getLogger("temporalio.workflow").setLevel(wf_level)
    setup_logging_text_flags()


def setup_logging_text_flags() -> None:
    from temporalio import activity, workflow

    workflow.logger.workflow_info_on_message = True
    activity.logger.activity_info_on_message = True


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_the_bound_lead_and_mask_pii(restore_logging):
    out = io.StringIO()
    setup_logging("INFO", "json", out)
    log = logging.getLogger("neuroseller.test")
    with bind(lead_id="lead-tg-42", turn=3):
        log.info("customer left %s", "+7 912 345-67-89", extra={"note": "mail anna@example.com"})
    log.warning("no lead here")
    first, second = lines(out)
    assert first["lead_id"] == "lead-tg-42" and first["channel"] == "tg" and first["turn"] == 3
    assert first["level"] == "INFO" and first["logger"] == "neuroseller.test" and "time" in first
    assert "345-67-89" not in first["message"] and "anna@example.com" not in first["note"]
    assert second["lead_id"] is None and second["message"] == "no lead here"


def test_text_is_the_default_and_reads_like_before(restore_logging):
    out = io.StringIO()
    setup_logging("INFO", Settings(_env_file=None).log_format, out)
    logging.getLogger("neuroseller.test").info("card 4111 1111 1111 1111 typed")
    line = out.getvalue().strip()
    assert " INFO neuroseller.test: card " in line and "4111 1111 1111 1111" not in line
    assert not line.startswith("{")


def test_channel_of_lead_ids():
    assert channel_of("lead-tg-123") == "tg" and channel_of("lead-phone-+79120000000") == "phone"
    assert channel_of("campaign-1") is None


async def test_each_turn_is_one_json_record_with_lead_channel_and_turn(temporal_env, restore_logging):
    out = io.StringIO()
    setup_logging("INFO", "json", out)
    settings = Settings(_env_file=None, llm_provider="rules", profiles_dir=ROOT / "profiles")
    catalog = load_csv(SAMPLE_CATALOG)
    tq = f"logs-{uuid.uuid4().hex[:6]}"
    async with build_worker(temporal_env.client, settings, catalog=lambda: catalog, task_queue=tq):
        inp = lead_input(settings, channel="tg", chat_id=uuid.uuid4().hex[:8], task_queue=tq, persist=False)
        await send_message(temporal_env.client, inp, IncomingMessage(text="Сколько стоит палатка на двоих?"))
        await send_message(temporal_env.client, inp, IncomingMessage(text="Беру, мой телефон +7 912 345-67-89"))
    turns = [r for r in lines(out) if r["logger"] == "temporalio.workflow" and r["lead_id"] == inp.state.lead_id]
    assert [r["turn"] for r in turns] == [1, 2]
    assert {r["channel"] for r in turns} == {"tg"}
    assert turns[0]["temporal_workflow"]["workflow_id"] == inp.state.lead_id
    assert "answered in" in turns[1]["message"] and "({" not in turns[1]["message"]  # info is in fields, not text
    assert "345-67-89" not in out.getvalue()


def test_per_turn_records_stay_out_of_a_text_terminal(restore_logging):
    setup_logging("INFO", "text", io.StringIO())
    assert not logging.getLogger("temporalio.workflow").isEnabledFor(logging.INFO)
    setup_logging("INFO", "json", io.StringIO())
    assert logging.getLogger("temporalio.workflow").isEnabledFor(logging.INFO)
