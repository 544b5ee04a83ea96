"""How the pieces of issue 9 fit: labelled shops scored, the model's own reading acted on, the brain
configuration read at run time, an opt-out honoured on later turns."""

from __future__ import annotations

import argparse
import json
import uuid
from pathlib import Path

import pytest
from pydantic import SecretStr

from activities.brain.llm import make_model
from activities.brain.llm.base import split_reading
from activities.profiles import ProfileStore
from catalog.loader import load_csv
from neuroseller.settings import Settings
from tests.conftest import ROOT, SAMPLE_CATALOG
from tests.fakes.openai_server import FakeOpenAIServer
from workers.client import lead_input, send_message
from workers.eval_cli import cmd_eval_intents, cmd_evaluate
from workers.worker import build_worker
from workflows.lead import LeadWorkflow
from workflows.types import IncomingMessage

CATALOG = load_csv(SAMPLE_CATALOG)


@pytest.mark.parametrize(("completion", "text", "intents", "phone", "email"), [
    ('Оформим?\nREADING: {"intents": ["buy", "weather"], "items": ["палатка"], "contact": null}',
     "Оформим?", ["buy"], None, None),
    ('Ok?\nREADING: {"intents": [], "contact": "+7 916 123-45-67"}', "Ok?", [], "+79161234567", None),
    ('Ok?\nREADING: {"intents": [], "contact": "Anna@Example.com"}', "Ok?", [], None, "Anna@example.com"),
    ("Ok?\nREADING: {broken", "Ok?", None, None, None),
    ("Just text?", "Just text?", None, None, None),
])
def test_split_reading_table(completion: str, text: str, intents: list[str] | None, phone: str | None,
                             email: str | None) -> None:
    body, reading = split_reading(completion)
    assert body == text
    if intents is None:
        assert reading is None
    else:
        assert reading is not None and reading.intents == intents
        assert (reading.phone, reading.email) == (phone, email)


def settings_for(temporal_env, **kw: object) -> Settings:
    address = temporal_env.client.service_client.config.target_host
    return Settings(_env_file=None, temporal_address=address, profiles_dir=ROOT / "profiles", **kw)


async def test_the_models_reading_escalates_and_leaves_a_contact(temporal_env):
    reply = ('Понял вас. Оформим заказ?\nREADING: {"intents": ["legal_threat"], "items": [], '
             '"contact": "+7 916 123 45 67"}')
    async with FakeOpenAIServer(script=lambda req: reply) as srv:
        settings = settings_for(temporal_env, llm_provider="openai", openai_api_key=SecretStr("sk-test-123456"),
                                openai_base_url=srv.base_url, llm_timeout_seconds=5)
        tq = f"u-{uuid.uuid4().hex[:6]}"
        async with build_worker(temporal_env.client, settings, catalog=lambda: CATALOG,
                                profiles=ProfileStore(settings.profiles_dir), task_queue=tq,
                                model=make_model(settings)):
            rules_settings = settings.model_copy(update={"llm_provider": "rules"})
            inp = lead_input(rules_settings, channel="test", chat_id=uuid.uuid4().hex[:10], task_queue=tq,
                             persist=False)  # started as rules: the worker's model still answers
            r = await send_message(temporal_env.client, inp, IncomingMessage(text="ну ок"))
            assert r.replies == ["Понял вас. Оформим заказ?"]
            assert srv.requests and "READING:" not in r.replies[0]
            state = await temporal_env.client.get_workflow_handle(inp.state.lead_id).query(LeadWorkflow.state)
            assert any(e.reason == "legal_threat" for e in state.escalations)
            assert state.lead.phone == "+79161234567" and state.lead.contact == "+79161234567"


async def test_after_an_opt_out_thanks_get_no_push(temporal_env):
    settings = settings_for(temporal_env, llm_provider="rules")
    tq = f"u-{uuid.uuid4().hex[:6]}"
    async with build_worker(temporal_env.client, settings, catalog=lambda: CATALOG, task_queue=tq):
        inp = lead_input(settings, channel="test", chat_id=uuid.uuid4().hex[:10], task_queue=tq, persist=False)
        await send_message(temporal_env.client, inp, IncomingMessage(text="Сколько стоит палатка на двоих?"))
        r = await send_message(temporal_env.client, inp, IncomingMessage(text="хватит слать мне акции"))
        assert r.replies and "?" not in r.replies[-1]
        r = await send_message(temporal_env.client, inp, IncomingMessage(text="спасибо"))
        assert all("?" not in x for x in r.replies)


def write_shop(folder: Path) -> Path:
    folder.mkdir()
    (folder / "catalog.csv").write_text(SAMPLE_CATALOG.read_text(encoding="utf-8"), encoding="utf-8")
    lines = [
        {"dialogue_id": "buy", "turns": ["Сколько стоит палатка на двоих?", "Беру, мой номер +7 916 123-45-67"],
         "labels": {"buying": True, "contact": "+79161234567"}},
        {"dialogue_id": "kayak", "turns": ["Есть байдарки?"],
         "labels": {"escalations": ["unknown_item"], "unknown_items": ["байдарка"]}},
        {"dialogue_id": "stop", "turns": ["хватит мне писать, отпишите меня"], "labels": {"opt_out": True}},
    ]
    (folder / "dialogues.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines),
                                            encoding="utf-8")
    return folder


async def test_evaluate_scores_a_labelled_shop(temporal_env, tmp_path: Path, capsys):
    shop = write_shop(tmp_path / "shop")
    settings = settings_for(temporal_env)
    code = await cmd_evaluate(argparse.Namespace(shops=[str(shop)], thresholds=None, llm="rules", details=True),
                              settings)
    out = capsys.readouterr().out
    assert "leads with the right contact 1/1" in out and "opt-outs honoured 1/1" in out
    assert "unknown items handled 1/1" in out and "invented figures 0" in out
    assert code == 0, out
    strict = tmp_path / "strict.toml"
    strict.write_text("[thresholds]\nnext_step = 1.01\n", encoding="utf-8")
    code = await cmd_evaluate(argparse.Namespace(shops=[str(shop)], thresholds=str(strict), llm="rules",
                                                 details=False), settings)
    assert code == 1 and "BELOW THRESHOLD" in capsys.readouterr().out


async def test_eval_intents_prints_precision_and_recall(tmp_path: Path, capsys):
    data = tmp_path / "t.jsonl"
    data.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in [
        {"text": "сколько стоит палатка", "lang": "ru", "intents": ["price"]},
        {"text": "позовите живого человека", "lang": "ru", "intents": ["human_request"]},
        {"text": "a bare item name", "lang": "en", "intents": []},
    ]), encoding="utf-8")
    code = await cmd_eval_intents(argparse.Namespace(file=str(data), features="ngram", errors=True), Settings())
    out = capsys.readouterr().out
    assert code == 0 and "human_request" in out and "micro" in out and "exact match" in out


async def test_simulate_with_labels_prints_the_sales_metrics_and_fails_below_thresholds(temporal_env, tmp_path: Path,
                                                                                        capsys):
    from workers.cli import cmd_simulate

    shop = write_shop(tmp_path / "shop")
    settings = settings_for(temporal_env)
    args = argparse.Namespace(dialogues=str(shop / "dialogues.jsonl"), catalog=str(shop / "catalog.csv"),
                              out=str(tmp_path / "out.jsonl"), profile=None, llm="rules", concurrency=2,
                              labels=True, thresholds=None)
    assert await cmd_simulate(args, settings) == 0
    out = capsys.readouterr().out
    assert "leads with the right contact 1/1" in out and "BELOW THRESHOLD" not in out
    strict = tmp_path / "strict.toml"
    strict.write_text("[thresholds]\nnext_step = 1.01\n", encoding="utf-8")
    args.thresholds = str(strict)
    assert await cmd_simulate(args, settings) == 1
    assert "BELOW THRESHOLD" in capsys.readouterr().out
