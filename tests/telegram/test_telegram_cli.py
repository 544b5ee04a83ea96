"""`neuroseller telegram`, `telegram login`, and the operator commands `takeover` / `release` / `say`."""

from __future__ import annotations

import argparse
import asyncio
import io
import uuid

import pytest
from telethon import TelegramClient
from telethon.sessions import StringSession

from activities.profiles import ProfileStore
from catalog.loader import load_csv
from neuroseller.settings import Settings
from tests.conftest import ROOT, SAMPLE_CATALOG
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram_env import fake_client, tg_settings, uid
from workers import operator_cli, telegram_gateway, telegram_login
from workers.client import lead_input, send_message
from workers.errors import GatewayError
from workers.telegram_gateway import parse_allowlist, run_gateway, settings_problem, telegram_command
from workers.worker import build_worker
from workflows.types import IncomingMessage, LeadState, Mode


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="neuroseller")
    subs = root.add_subparsers(dest="command")
    telegram_gateway.register(subs)
    operator_cli.register(subs)
    return root


def test_subcommands_are_registered() -> None:
    p = parser()
    assert p.parse_args(["telegram"]).func is telegram_command
    assert p.parse_args(["telegram", "login"]).func is telegram_login.login_command
    args = p.parse_args(["takeover", "42", "--operator", "Оля", "--note", "VIP"])
    assert (args.func, args.lead, args.operator, args.note) == (operator_cli.takeover, "42", "Оля", "VIP")
    assert p.parse_args(["say", "lead-tg-1", "Добрый", "день"]).text == ["Добрый", "день"]
    assert p.parse_args(["release", "7"]).func is operator_cli.release


@pytest.mark.parametrize(("missing", "variable"), [
    ({"telegram_api_id": None}, "TELEGRAM_API_ID"),
    ({"telegram_api_hash": None}, "TELEGRAM_API_HASH"),
    ({"telegram_session": None, "telegram_bot_token": None}, "TELEGRAM_SESSION"),
    ({"database_url": None}, "DATABASE_URL"),
])
async def test_missing_setting_prints_one_line_naming_it_and_exits_2(missing, variable, capsys) -> None:
    values = {"telegram_api_id": 1, "telegram_api_hash": "h", "telegram_session": "s",
              "database_url": "postgresql://x/y", **missing}
    settings = Settings(_env_file=None, **values)
    with pytest.raises(SystemExit) as exited:
        await telegram_command(argparse.Namespace(), settings)
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(variable) and "\n" not in err


async def test_login_without_api_credentials_exits_2(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        await telegram_login.login_command(argparse.Namespace(), Settings(_env_file=None, telegram_api_id=None))
    assert exited.value.code == 2 and capsys.readouterr().err.startswith("TELEGRAM_API_ID")


def test_settings_problem_accepts_a_bot_token_and_the_allowlist_parses_ids_and_names() -> None:
    s = Settings(_env_file=None, telegram_api_id=1, telegram_api_hash="h", telegram_bot_token="1:abc",
                 database_url="postgresql://x/y")
    assert settings_problem(s) is None
    assert parse_allowlist(" -100, @Shop_Fans ,, 42") == ({-100, 42}, {"shop_fans"})


async def test_login_asks_phone_code_and_prints_the_session_for_env() -> None:
    server = FakeTelegram()
    server.logged_in = False
    tg = server.attach(TelegramClient(StringSession(), 1, "hash"))
    answers = iter(["+7 999 123-45-67", "11111", "12345"])  # one wrong code first
    out = io.StringIO()
    session = await telegram_login.login(Settings(_env_file=None), client=tg, ask=lambda _: next(answers),
                                         ask_secret=lambda _: "unused", out=out)
    assert StringSession(session).auth_key.key == server.auth_key.key
    assert f"TELEGRAM_SESSION={session}" in out.getvalue()


async def _running_gateway(temporal_env, db, server: FakeTelegram | None = None):
    server = server or FakeTelegram()
    target = temporal_env.client.service_client.config.target_host
    settings = tg_settings(server, db, temporal_address=target, telegram_task_queue=f"tg-{uuid.uuid4().hex[:6]}")
    tg = fake_client(server, settings)
    task = asyncio.create_task(run_gateway(settings, telethon_client=tg))
    for _ in range(200):
        if tg.is_connected() and len(tg.list_event_handlers()) >= 5:
            break
        await asyncio.sleep(0.05)
    assert tg.is_connected()
    return tg, task


async def test_a_connection_that_does_not_come_back_ends_the_gateway_with_an_error(temporal_env, db) -> None:
    """A lost connection Telethon could not restore is a failure (a supervisor restarts on it), not exit 0."""
    tg, task = await _running_gateway(temporal_env, db)
    await tg.disconnect()
    with pytest.raises(GatewayError, match="could not reconnect"):
        await asyncio.wait_for(task, 15)


async def test_a_dead_update_loop_ends_the_gateway_with_its_reason(temporal_env, db) -> None:
    """The session revoked (logged out from another device): Telethon's update loop gives up; so does
    the gateway, naming why, instead of exiting 0 as if all were well."""
    from telethon import errors, functions

    server = FakeTelegram()
    tg, task = await _running_gateway(temporal_env, db, server)
    server.fail[functions.updates.GetDifferenceRequest].append(errors.AuthKeyUnregisteredError(None))
    await tg.catch_up()
    with pytest.raises(GatewayError, match="update loop failed: AuthKeyUnregisteredError"):
        await asyncio.wait_for(task, 15)


def test_unsupported_telethon_refuses_to_start_with_a_non_zero_exit(monkeypatch, caplog, capsys) -> None:
    import workers.telegram_gateway as gateway_module

    monkeypatch.setattr(gateway_module, "TELETHON_VERSION", "1.30.2")
    for key, value in {"TELEGRAM_API_ID": "1", "TELEGRAM_API_HASH": "h", "TELEGRAM_SESSION": "s",
                       "DATABASE_URL": "postgresql://u@127.0.0.1:1/x"}.items():
        monkeypatch.setenv(key, value)
    from workers.cli import main

    assert main(["telegram"]) == 1
    assert "Telethon 1.30.2 is not supported" in caplog.text + capsys.readouterr().err
    with pytest.raises(GatewayError, match=r"Telethon 2\.0\.1 is not supported"):
        gateway_module.check_telethon("2.0.1")
    gateway_module.check_telethon("1.36.0")


async def test_operator_cli_takes_over_says_and_releases(temporal_env, capsys) -> None:
    client = temporal_env.client
    tq = f"cli-{uuid.uuid4().hex[:6]}"
    settings = Settings(_env_file=None, llm_provider="rules", profiles_dir=ROOT / "profiles", task_queue=tq)
    catalog = load_csv(SAMPLE_CATALOG)
    chat = uid()
    async with build_worker(client, settings, catalog=lambda: catalog, profiles=ProfileStore(settings.profiles_dir)):
        inp = lead_input(settings, channel="tg", chat_id=chat, persist=False)
        await send_message(client, inp, IncomingMessage(text="Здравствуйте", message_id="1"))
        handle = client.get_workflow_handle(f"lead-tg-{chat}")
        args = parser().parse_args(["takeover", str(chat), "--operator", "Оля"])
        assert await args.func(args, settings, client=client) == 0

        async def state() -> LeadState:
            return await handle.query("state", result_type=LeadState)

        assert (await state()).mode == Mode.HUMAN and (await state()).operator == "Оля"
        args = parser().parse_args(["say", f"lead-tg-{chat}", "Добрый", "день!", "--operator", "Оля"])
        assert await args.func(args, settings, client=client) == 0
        assert [e.text for e in (await state()).transcript if e.role == "operator"] == ["Добрый день!"]
        args = parser().parse_args(["say", str(chat), " "])
        assert await args.func(args, settings, client=client) == 2
        args = parser().parse_args(["release", str(chat)])
        assert await args.func(args, settings, client=client) == 0
        assert (await state()).mode == Mode.BOT
    out = capsys.readouterr().out
    assert "taken over by Оля" in out and "handed back to the bot" in out


async def test_operator_cli_connects_to_the_configured_server(temporal_env) -> None:
    target = temporal_env.client.service_client.config.target_host
    client = await operator_cli._client(Settings(_env_file=None, temporal_address=target), None)
    assert client.service_client.config.target_host == target


async def test_gateway_without_any_database_names_database_url(temporal_env, capsys) -> None:
    settings = Settings(_env_file=None, telegram_api_id=1, telegram_api_hash="h", telegram_session="s")
    with pytest.raises(SystemExit) as exited:
        await run_gateway(settings, client=temporal_env.client)
    assert exited.value.code == 2 and capsys.readouterr().err.startswith("DATABASE_URL")
