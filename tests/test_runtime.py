"""The embedded runtime: `neuroseller up`/`chat` in-process, the dev server's one-line errors."""

from __future__ import annotations

import argparse
import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from activities.crm.db import Database
from activities.crm.db.scratch import scratch_database
from neuroseller.settings import Settings
from tests.conftest import ROOT, SAMPLE_CATALOG
from workers import cli
from workers.chat import state_line
from workers.devserver import DevServer, DevServerError, free_port


async def lines(*texts: str) -> AsyncIterator[str]:
    for t in texts:
        yield t


def runtime_settings(tmp_path: Path, dsn: str | None) -> Settings:
    return Settings(_env_file=None, var_dir=tmp_path / "var", temporal_port=free_port(), temporal_ui_port=free_port(),
                    catalog_path=SAMPLE_CATALOG, profiles_dir=ROOT / "profiles",
                    database_url=SecretStr(dsn) if dsn else None, crm_sinks="csv",
                    crm_csv_path=tmp_path / "leads.csv")


async def test_up_runs_server_worker_and_chat_and_the_lead_survives_a_restart(tmp_path: Path, capsys):
    async with scratch_database() as dsn:
        settings = runtime_settings(tmp_path, dsn)
        args = argparse.Namespace(chat_id="anna", profile=None,
                                  lines=lines("Сколько стоит палатка на двоих?", "Беру", "Анна, +7 912 345-67-89",
                                              "/state", "/quit"))
        assert await cli.cmd_up(args, settings) == 0
        out = capsys.readouterr().out
        assert "web UI http://localhost:" in out
        assert "7 990 ₽" in out and "status checkout" in out
        # started again on the same var/: the same lead continues where it was
        args = argparse.Namespace(chat_id="anna", profile=None, lines=lines("/state", "А горелка есть?", "/quit"))
        assert await cli.cmd_chat(args, settings) == 0
        out = capsys.readouterr().out
        assert "status checkout" in out.split("you>")[0] or "status checkout" in out
        async with Database(dsn) as db:
            lead = await db.get_lead("lead-local-anna")
            assert lead is not None and lead.phone == "+79123456789" and lead.status.value == "checkout"
            assert await db.count("messages", "lead-local-anna") >= 6
        assert "lead-local-anna" in (tmp_path / "leads.csv").read_text(encoding="utf-8")


async def test_chat_new_lead_and_state_commands(tmp_path: Path, capsys):
    settings = runtime_settings(tmp_path, None).model_copy(update={"persist_leads": False})
    async with cli.temporal_server(settings) as address, cli.running_worker(settings, address, None) as client:
        args = argparse.Namespace(chat_id="bob", profile=None,
                                  lines=lines("", "/state", "Hello", "/new", "How much is the thermos?", "/quit"))
        await cli._chat(client, settings, args, persist_db=None)
    out = capsys.readouterr().out
    assert "no lead yet" in out and "new lead lead-local-bob-1" in out and "in stock" in out


async def test_dev_server_errors_are_one_line(tmp_path: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(DevServerError, match=f"port {port}"):
            await DevServer(port=port, ui_port=None, var_dir=tmp_path / "v1").start()
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(DevServerError, match="not a directory"):
        await DevServer(port=free_port(), ui_port=None, var_dir=not_a_dir).start()
    broken = tmp_path / "v2"
    broken.mkdir()
    (broken / "temporal.db").write_text("garbage, not sqlite")
    with pytest.raises(DevServerError, match="not a SQLite database"):
        await DevServer(port=free_port(), ui_port=None, var_dir=broken).start()


def test_up_reports_a_busy_port_in_one_line(tmp_path: Path, capsys, monkeypatch):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        monkeypatch.setenv("TEMPORAL_PORT", str(busy.getsockname()[1]))
        monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
        cli.get_settings.cache_clear()
        try:
            assert cli.main(["up"]) == 2
        finally:
            cli.get_settings.cache_clear()
    err = capsys.readouterr().err
    assert "in use" in err and "Traceback" not in err


def test_bad_setting_names_the_variable(capsys, monkeypatch):
    monkeypatch.setenv("LLM_PROVIDER", "gpt5")
    cli.get_settings.cache_clear()
    try:
        assert cli.main(["catalog", "check"]) == 2
    finally:
        cli.get_settings.cache_clear()
    assert "llm_provider" in capsys.readouterr().err


def test_state_line_reads_well():
    from workflows.types import LeadState

    assert "stage greeting" in state_line(LeadState(lead_id="x", channel="local", chat_id="1"))


async def test_metrics_endpoint_counts_turns(tmp_path: Path):
    import urllib.request

    settings = runtime_settings(tmp_path, None).model_copy(update={"persist_leads": False,
                                                                   "metrics_port": free_port()})
    async with cli.temporal_server(settings) as address, cli.running_worker(settings, address, None) as client:
        args = argparse.Namespace(chat_id="m", profile=None, lines=lines("Сколько стоит термос?", "/quit"))
        await cli._chat(client, settings, args, persist_db=None)
        url = f"http://127.0.0.1:{settings.metrics_port}/metrics"
        body = (await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read())).decode()
    assert 'neuroseller_turns_total{language="ru"}' in body
    assert 'neuroseller_replies_total{provider="rules",verdict="ok"}' in body


async def test_search_attributes_are_registered_on_an_external_server(tmp_path: Path):
    from workers.client import connect
    from workflows.search_attributes import ensure_registered

    class BareServer(DevServer):  # a server that knows none of our attributes, like a fresh cluster
        def command(self) -> list[str]:
            cmd = super().command()
            while "--search-attribute" in cmd:
                i = cmd.index("--search-attribute")
                del cmd[i:i + 2]
            return cmd

    async with BareServer(port=free_port(), ui_port=None, var_dir=None) as server:
        client = await connect(server.address)
        assert "LeadStage" in await ensure_registered(client, "default")
        assert await ensure_registered(client, "default") == []
        settings = runtime_settings(tmp_path, None).model_copy(
            update={"temporal_address": server.address, "persist_leads": False})
        async with cli.running_worker(settings, server.address, None):
            pass
