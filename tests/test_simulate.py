"""`neuroseller simulate`: dialogues in, one JSON line per dialogue out, through real workflows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from neuroseller.settings import Settings
from tests.conftest import ROOT, SAMPLE_CATALOG
from workers.cli import main
from workers.devserver import free_port
from workers.simulate import SimulateError, read_dialogues, simulate, summary

DIALOGUES = [
    {"dialogue_id": "buy-ru", "turns": ["Здравствуйте!", "Сколько стоит палатка на двоих?", "Беру",
                                        "Иван, +7 (999) 111-22-33"], "user": {"name": "Иван", "username": "ivan"}},
    {"dialogue_id": "unknown", "turns": ["Сколько стоит байдарка?"], "extra": "ignored"},
    {"dialogue_id": "en", "turns": ["Hi! How much is the headlamp?", "I'll take 2", "john@example.com"],
     "chat_id": "42"},
    {"dialogue_id": "chat", "turns": ["Привет", "Спасибо, пока"]},
]


def write_dialogues(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def test_bad_dialogue_lines_are_named(tmp_path: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"dialogue_id": "a", "turns": ["hi"]}\n{not json}\n{"turns": ["x"]}\n', encoding="utf-8")
    with pytest.raises(SimulateError) as err:
        read_dialogues(bad)
    assert "bad.jsonl:2" in str(err.value) and "bad.jsonl:3" in str(err.value) and "dialogue_id" in str(err.value)
    with pytest.raises(SimulateError):
        read_dialogues(tmp_path / "missing.jsonl")


async def test_simulate_writes_one_result_per_dialogue(temporal_env, tmp_path: Path):
    address = temporal_env.client.service_client.config.target_host
    settings = Settings(_env_file=None, temporal_address=address, profiles_dir=ROOT / "profiles")
    out = tmp_path / "out.jsonl"
    results = await simulate(settings, write_dialogues(tmp_path / "d.jsonl", DIALOGUES), catalog_path=SAMPLE_CATALOG,
                             out_path=out, concurrency=3, llm="rules")
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [x["dialogue_id"] for x in lines] == ["buy-ru", "unknown", "en", "chat"]
    buy = lines[0]
    assert buy["workflow_id"].startswith("lead-sim-buy-ru")
    assert len(buy["turns"]) == 4 and all(t["latency_ms"] > 0 for t in buy["turns"])
    assert "7 990 ₽" in buy["turns"][1]["replies"][0]
    assert buy["lead"]["contact"] == "+79991112233" and buy["lead"]["name"] == "Иван"
    assert buy["lead"]["status"] == "checkout" and buy["lead"]["currency"] == "RUB" and buy["lead"]["amount"] == 7990
    unknown = lines[1]
    assert unknown["turns"][0]["escalated"] and unknown["turns"][0]["escalation_reason"] == "unknown_item"
    assert unknown["escalations"][0]["reason"] == "unknown_item"
    en = lines[2]
    assert en["lead"]["contact"] == "john@example.com" and en["lead"]["status"] == "checkout"
    assert lines[3]["lead"] is None
    assert "4 dialogues" in summary(results)


def test_simulate_cli_starts_its_own_server(tmp_path: Path):
    dialogues = write_dialogues(tmp_path / "d.jsonl", DIALOGUES[:2])
    out = tmp_path / "r.jsonl"
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "TEMPORAL_PORT": str(free_port()),
           "HOME": str(tmp_path),
           # the reader's trained model is a per-user cache (`make test` builds it): keep finding it
           "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")}
    proc = subprocess.run([sys.executable, "-m", "workers.cli", "simulate", str(dialogues), "--catalog",
                           str(SAMPLE_CATALOG), "--out", str(out), "--llm", "rules"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "2 dialogues" in proc.stdout
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2


def test_cli_reports_a_broken_catalog_in_one_line(tmp_path: Path, capsys):
    bad = tmp_path / "c.csv"
    bad.write_text("sku,name,price,currency,stock\nA,Thing,abc,RUB,1\n", encoding="utf-8")
    assert main(["catalog", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "c.csv:2" in err and "price" in err and "Traceback" not in err
    assert main(["catalog", "check", str(SAMPLE_CATALOG)]) == 0


def test_cli_reports_a_broken_profile_key(tmp_path: Path, capsys):
    bad = tmp_path / "p.toml"
    bad.write_text('aggressivness = 0.5\n', encoding="utf-8")
    assert main(["profile", "check", str(bad)]) == 2
    assert "aggressivness" in capsys.readouterr().err
    bad.write_text('aggressiveness = 3\n', encoding="utf-8")
    assert main(["profile", "check", str(bad)]) == 2
    assert "aggressiveness" in capsys.readouterr().err
    assert main(["profile", "check", str(ROOT / "profiles" / "default.toml")]) == 0


async def test_empty_and_oversized_messages_are_answered(temporal_env, tmp_path: Path):
    address = temporal_env.client.service_client.config.target_host
    settings = Settings(_env_file=None, temporal_address=address, profiles_dir=ROOT / "profiles")
    rows = [{"dialogue_id": "edge", "turns": ["", "🙂", "x" * 30000, "Сколько стоит термос?"]}]
    results = await simulate(settings, write_dialogues(tmp_path / "e.jsonl", rows), catalog_path=SAMPLE_CATALOG,
                             out_path=tmp_path / "o.jsonl", llm="rules")
    turns = results[0]["turns"]
    assert all(t["replies"] and "error" not in t for t in turns)
    assert "1 990 ₽" in turns[-1]["replies"][0]
