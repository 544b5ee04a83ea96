"""Escalation to people: cards in the operators' chat, /take → silence → relay both ways → /release."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from telethon import types

from activities.crm.db.database import Database
from activities.profiles import ProfileStore
from catalog.loader import load_csv
from neuroseller.settings import Settings
from tests.conftest import ROOT, SAMPLE_CATALOG
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram_env import (
    OPERATORS_CHAT,
    gateway,
    lead_state,
    settle,
    tg_settings,
    transcript,
    uid,
)
from workers.worker import build_worker
from workflows.types import Mode

CATALOG = load_csv(SAMPLE_CATALOG)




@pytest.fixture
def settings(server: FakeTelegram, db: Database) -> Settings:
    tag = uuid.uuid4().hex[:6]
    return tg_settings(server, db, task_queue=f"leads-{tag}", telegram_task_queue=f"telegram-{tag}",
                       profiles_dir=ROOT / "profiles")


@pytest.fixture
async def lead_worker(temporal_env, settings: Settings) -> AsyncIterator[None]:
    async with build_worker(temporal_env.client, settings, catalog=lambda: CATALOG,
                            profiles=ProfileStore(settings.profiles_dir)):
        yield


async def eventually(check, timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, "condition never became true"
        await asyncio.sleep(0.1)


def ops_group(server: FakeTelegram) -> types.Chat:
    return server.group(-OPERATORS_CHAT, "Операторы")


async def test_takeover_silences_the_bot_and_relays_both_ways_until_release(temporal_env, server, db, settings,
                                                                            lead_worker) -> None:
    client = temporal_env.client
    anna, olga = server.user(uid(), "Анна", username="anna"), server.user(uid(), "Ольга")
    lead = f"lead-tg-{anna.id}"
    ops = ops_group(server)
    async with gateway(temporal_env, server, db, settings) as gw:
        # 1. the customer asks for a human: the card lands in the operators' chat
        server.writes(anna, "Позовите менеджера, пожалуйста")
        await settle(gw, lambda: any(lead in t for t in server.texts(OPERATORS_CHAT)))
        card = next(t for t in server.texts(OPERATORS_CHAT) if lead in t)
        assert "Анна (@anna)" in card and "https://t.me/anna" in card and f"/take {lead}" in card
        assert f"http://ui.test/namespaces/default/workflows/{lead}" in card
        assert (await lead_state(client, anna.id)).escalated

        # 2. /leads lists it (visibility is eventually consistent)
        await eventually(lambda: _has(gw.open_escalations(), lead))
        server.writes(olga, "/leads", chat=ops)
        await settle(gw, lambda: any("Открытые эскалации" in t for t in server.texts(OPERATORS_CHAT)))

        # 3. /take: the bot goes silent, customer messages are forwarded to the operators
        server.writes(olga, f"/take {lead}", chat=ops)
        await settle(gw, lambda: any("Ольга ведёт" in t for t in server.texts(OPERATORS_CHAT)))
        state = await lead_state(client, anna.id)
        assert state.mode == Mode.HUMAN and state.operator == "Ольга"
        replies_before = len(server.texts(anna.id))
        server.writes(anna, "Когда будет доставка?")
        await settle(gw, lambda: any("Когда будет доставка?" in t for t in server.texts(OPERATORS_CHAT)))
        assert len(server.texts(anna.id)) == replies_before, "hard mute while a human owns the chat"

        # 4. the operator answers by replying to the forwarded message (and to the card)
        forwarded = server.message_id(OPERATORS_CHAT, "Когда будет доставка?")
        server.writes(olga, "Завтра до 18:00, курьер позвонит.", chat=ops, reply_to=forwarded)
        await settle(gw, lambda: "Завтра до 18:00, курьер позвонит." in server.texts(anna.id))
        card_id = server.message_id(OPERATORS_CHAT, f"/take {lead}")
        server.writes(olga, "Могу ещё чем-то помочь?", chat=ops, reply_to=card_id)
        await settle(gw, lambda: "Могу ещё чем-то помочь?" in server.texts(anna.id))

        # 5. /release: the bot answers again
        server.writes(olga, f"/release {anna.id}", chat=ops)
        await settle(gw, lambda: any("возвращён боту" in t for t in server.texts(OPERATORS_CHAT)))
        assert (await lead_state(client, anna.id)).mode == Mode.BOT
        before = len(server.texts(anna.id))
        server.writes(anna, "Сколько стоит палатка?")
        await settle(gw, lambda: len(server.texts(anna.id)) > before)
    roles = [(e.role, e.text) for e in await transcript(client, anna.id) if e.role == "operator"]
    assert roles == [("operator", "Завтра до 18:00, курьер позвонит."), ("operator", "Могу ещё чем-то помочь?")]


async def _has(listing, lead: str) -> bool:
    return lead in await listing


async def test_commands_outside_the_operators_chat_are_customer_messages(temporal_env, server, db, settings,
                                                                         lead_worker) -> None:
    mallory = server.user(uid(), "Мэллори")
    async with gateway(temporal_env, server, db, settings) as gw:
        server.writes(mallory, f"/take lead-tg-{mallory.id}")
        await settle(gw, lambda: bool(server.texts(mallory.id)))
    state = await lead_state(temporal_env.client, mallory.id)
    assert state.mode == Mode.BOT, "a customer cannot take over anything"
    assert not server.texts(OPERATORS_CHAT) or all("ведёт" not in t for t in server.texts(OPERATORS_CHAT))


async def test_operator_chat_mistakes_get_a_short_answer_and_change_nothing(temporal_env, server, db, settings,
                                                                           lead_worker) -> None:
    olga, ops = server.user(uid(), "Ольга"), ops_group(server)
    photo = types.MessageMediaPhoto(photo=types.Photo(id=1, access_hash=2, file_reference=b"", date=None,
                                                      sizes=[], dc_id=2))
    async with gateway(temporal_env, server, db, settings) as gw:
        server.writes(olga, "/take", chat=ops)
        server.writes(olga, "/take lead-tg-404", chat=ops)
        server.writes(olga, "/help", chat=ops)
        server.writes(olga, "/leads@shop_bot", chat=ops)
        server.writes(olga, "/unknown", chat=ops)
        server.writes(olga, "просто болтаем", chat=ops)
        server.writes(olga, "ответ в никуда", chat=ops, reply_to=999_999)
        await gw.store.remember_post(OPERATORS_CHAT, 555_555, "lead-tg-1", "card")
        server.writes(olga, "", chat=ops, reply_to=555_555, media=photo)
        await settle(gw, lambda: len(server.texts(OPERATORS_CHAT)) == 5)
    texts = server.texts(OPERATORS_CHAT)
    assert texts[0].startswith("/take <lead>") and "не найден" in texts[1] and "/release" in texts[2]
    assert texts[3] in ("Открытых эскалаций нет",) or texts[3].startswith("Открытые эскалации")
    assert "только текст" in texts[4]
