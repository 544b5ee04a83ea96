"""The Telegram gateway end to end: real Telethon updates in, the real LeadWorkflow, replies out.

Only the MTProto sender is faked (`tests/fakes/telegram.py`); updates travel through Telethon's
update loop and message box to the gateway's registered handlers, exactly as from Telegram.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from telethon import errors, functions, types
from temporalio.service import RPCError, RPCStatusCode

from activities.channels.telegram.send import _sent_id
from activities.crm.db.database import Database
from activities.profiles import ProfileStore
from catalog.loader import load_csv
from neuroseller.settings import Settings
from tests.conftest import ROOT, SAMPLE_CATALOG
from tests.fakes.telegram import FakeTelegram, flood
from tests.fakes.telegram_env import (
    assert_each_bot_message_sent_once,
    fake_client,
    gateway,
    lead_state,
    settle,
    store_of,
    tg_settings,
    transcript,
    uid,
)
from workers.client import send_message
from workers.telegram_gateway import TelegramGateway, build_telethon_client, customer_of, message_kind
from workers.worker import build_worker

CATALOG = load_csv(SAMPLE_CATALOG)




@pytest.fixture
def group_id() -> int:
    """An allowed basic group; ids differ per test because the Temporal server is shared."""
    return uid()


@pytest.fixture
def settings(server: FakeTelegram, db: Database, group_id: int) -> Settings:
    tag = uuid.uuid4().hex[:6]
    return tg_settings(server, db, task_queue=f"leads-{tag}", telegram_task_queue=f"telegram-{tag}",
                       profiles_dir=ROOT / "profiles", telegram_allowed_chats=f"-{group_id},@shopfans")


@pytest.fixture
async def lead_worker(temporal_env, settings: Settings) -> AsyncIterator[None]:
    async with build_worker(temporal_env.client, settings, catalog=lambda: CATALOG,
                            profiles=ProfileStore(settings.profiles_dir)):
        yield


# ---- inbound ----------------------------------------------------------------------------------


async def test_private_message_is_answered_in_the_same_chat_with_typing(temporal_env, server, db, settings,
                                                                       lead_worker) -> None:
    anna = server.user(uid(), "Анна", username="anna_k", last_name="Петрова")
    async with gateway(temporal_env, server, db, settings) as gw:
        server.writes(anna, "Сколько стоит палатка на двоих?")
        await settle(gw, lambda: bool(server.texts(anna.id)))
    assert server.typing(anna.id), "typing indicator while the reply is prepared"
    first_typing = server.requests.index(server.typing(anna.id)[0])
    first_send = server.requests.index(server.sent(anna.id)[0])
    assert first_typing < first_send
    state = await lead_state(temporal_env.client, anna.id)
    assert state.customer.user_id == anna.id and state.customer.access_hash == anna.access_hash
    assert state.customer.username == "anna_k" and state.customer.name == "Анна Петрова"
    assert [e.text for e in state.transcript if e.role == "customer"] == ["Сколько стоит палатка на двоих?"]
    await assert_each_bot_message_sent_once(temporal_env.client, server, anna.id)
    assert gw.stats["accepted"] == 1


async def test_only_private_chats_and_addressed_allowed_groups_are_answered(temporal_env, server, db, settings,
                                                                           lead_worker, group_id) -> None:
    bob = server.user(uid(), "Боб")
    robot = server.user(uid(), "Робот", bot=True)
    stranger_group, allowed = server.group(9009), server.group(group_id)
    async with gateway(temporal_env, server, db, settings) as gw:
        server.writes(bob, "Есть палатки?", chat=stranger_group, mentioned=True)
        server.writes(bob, "Есть палатки?", chat=allowed)  # not addressed to us
        server.writes(robot, "Я бот, купи палатку")
        server.writes(bob, "Ответь себе", out=True)  # our own message (another device)
        await settle(gw)
        assert server.texts() == []
        assert gw.stats["ignored_chat_not_allowed"] == 1 and gw.stats["ignored_not_addressed"] == 1
        assert gw.stats["ignored_bot"] == 1 and gw.stats["accepted"] == 0
        server.writes(bob, "@shop сколько стоит палатка?", chat=allowed, mentioned=True)
        await settle(gw, lambda: bool(server.texts(-group_id)))
    assert server.texts(-group_id) and not server.texts(bob.id)
    state = await lead_state(temporal_env.client, -group_id)
    assert state.customer.user_id == bob.id


async def test_group_allowed_by_username_and_reply_in_groups_setting(temporal_env, server, db, settings,
                                                                    lead_worker, group_id) -> None:
    settings = settings.model_copy(update={"telegram_reply_in_groups": True})
    fans = types.Chat(id=3002, title="Фанаты", photo=types.ChatPhotoEmpty(), participants_count=5,
                      date=datetime.now(UTC), version=1)
    # basic groups carry no username: the allowlist name is matched on channels/supergroups
    assert not TelegramGateway.chat_allowed(type("G", (), {"allowed_ids": set(), "allowed_names": {"shopfans"}})(),
                                            -3002, fans)
    channel = types.Channel(id=555, title="Фанаты", photo=types.ChatPhotoEmpty(), date=datetime.now(UTC),
                            username="ShopFans", access_hash=42, megagroup=True)
    assert TelegramGateway.chat_allowed(type("G", (), {"allowed_ids": set(), "allowed_names": {"shopfans"}})(),
                                        -1000000000555, channel)
    carl = server.user(uid(), "Карл")
    async with gateway(temporal_env, server, db, settings) as gw:
        server.writes(carl, "Есть спальники?", chat=server.group(group_id))  # not addressed: setting says so
        await settle(gw, lambda: bool(server.texts(-group_id)))
    assert server.texts(-group_id)


async def test_messages_of_one_chat_are_handled_in_order_while_other_chats_proceed(
        temporal_env, server, db, settings, lead_worker) -> None:
    slow, quick = server.user(uid(), "Медленный"), server.user(uid(), "Быстрый")
    gate = asyncio.Event()
    order: list[str] = []

    async def deliver(client, inp, msg):
        if msg.text == "раз":
            await gate.wait()  # the first message of `slow` is stuck (a slow model, say)
        order.append(msg.text)
        result = await send_message(client, inp, msg)
        if msg.text == "другой чат":
            gate.set()
        return result

    async with gateway(temporal_env, server, db, settings, deliver=deliver) as gw:
        for text in ("раз", "два", "три"):
            server.writes(slow, text)
        server.writes(quick, "другой чат")
        await settle(gw, lambda: len(order) == 4)
    assert order == ["другой чат", "раз", "два", "три"]
    customer = [e.text for e in await transcript(temporal_env.client, slow.id) if e.role == "customer"]
    assert customer == ["раз", "два", "три"]
    await assert_each_bot_message_sent_once(temporal_env.client, server, slow.id)


async def test_the_same_telegram_message_delivered_twice_is_answered_once(temporal_env, server, db, settings,
                                                                         lead_worker) -> None:
    dora = server.user(uid(), "Дора")
    async with gateway(temporal_env, server, db, settings) as gw:
        server.writes(dora, "Сколько стоит спальник?")
        await settle(gw, lambda: bool(server.texts(dora.id)))
        sent = len(server.texts(dora.id))
        server.redeliver(0)  # Telegram repeats the update: the message box drops it (same pts)
        _, update, users, _ = server.log[0]
        update._entities = {u.id: u for u in users}
        await gw.tg._dispatch_update(update)  # and even if it reached the handlers again
        await settle(gw)
    assert len(server.texts(dora.id)) == sent
    customer = [e for e in await transcript(temporal_env.client, dora.id) if e.role == "customer"]
    assert len(customer) == 1


async def test_edits_media_and_voice_notes_get_an_answer(temporal_env, server, db, settings, lead_worker) -> None:
    eva = server.user(uid(), "Ева")
    photo = types.MessageMediaPhoto(photo=types.Photo(id=1, access_hash=2, file_reference=b"", date=datetime.now(UTC),
                                                      sizes=[], dc_id=2))

    def document(*attributes, mime: str = "application/pdf"):
        return types.MessageMediaDocument(document=types.Document(
            id=3, access_hash=4, file_reference=b"", date=datetime.now(UTC), mime_type=mime, size=10, dc_id=2,
            attributes=list(attributes)))

    voice = document(types.DocumentAttributeAudio(duration=3, voice=True), mime="audio/ogg")
    sticker = document(types.DocumentAttributeSticker(alt="👍", stickerset=types.InputStickerSetEmpty()),
                       mime="image/webp")
    seen: list[tuple[str, str, str]] = []

    async def deliver(client, inp, msg):
        seen.append((msg.kind, msg.text, msg.message_id or ""))
        return await send_message(client, inp, msg)

    async with gateway(temporal_env, server, db, settings, deliver=deliver) as gw:
        first = server.writes(eva, "Сколько стоит палатка?")
        await settle(gw, lambda: len(seen) == 1)
        server.edits(eva, first, "Сколько стоит спальник?")
        server.writes(eva, "вот такую", media=photo)
        server.writes(eva, "", media=voice)
        server.writes(eva, "", media=sticker)
        server.writes(eva, "файл", media=document())
        await settle(gw, lambda: len(seen) == 6)
    kinds = [k for k, _, _ in seen]
    assert kinds == ["text", "edited", "photo", "voice", "sticker", "document"]
    assert seen[1][1] == "Сколько стоит спальник?" and f"{eva.id}:{first.id}:edit:" in seen[1][2]
    assert seen[2][1] == "вот такую"
    assert any("текстом" in t for t in server.texts(eva.id)), "a voice note gets a polite request for text"
    await assert_each_bot_message_sent_once(temporal_env.client, server, eva.id)


# ---- outbound failures --------------------------------------------------------------------------


async def test_blocked_customer_makes_the_lead_unreachable_without_a_crash_loop(temporal_env, server, db, settings,
                                                                                lead_worker) -> None:
    fil = server.user(uid(), "Филипп")
    server.fail[functions.messages.SendMessageRequest].append(errors.UserIsBlockedError(request=None))
    async with gateway(temporal_env, server, db, settings) as gw:
        server.writes(fil, "Сколько стоит палатка?")
        await settle(gw)
        state = await lead_state(temporal_env.client, fil.id)
        assert state.unreachable and state.lead.status == "unreachable"
        attempts = len(server.sent(fil.id))
        server.writes(fil, "ау")
        await settle(gw)
    assert len(server.sent(fil.id)) == attempts == 1, "no retries, no further sends to an unreachable lead"


async def test_flood_wait_delays_the_reply_and_sends_it_once(temporal_env, server, db, settings,
                                                             lead_worker) -> None:
    gena = server.user(uid(), "Гена")
    server.fail[functions.messages.SendMessageRequest].append(flood(seconds=1))
    async with gateway(temporal_env, server, db, settings) as gw:
        server.writes(gena, "Сколько стоит палатка?")
        await settle(gw, lambda: bool(server.texts(gena.id)))
    assert len(server.sent(gena.id)) == len(server.texts(gena.id)) + 1
    await assert_each_bot_message_sent_once(temporal_env.client, server, gena.id)


# ---- restarts and catch-up ----------------------------------------------------------------------


async def test_gateway_restart_mid_dialogue_loses_nothing_and_sends_nothing_twice(
        temporal_env, server, db, settings, lead_worker) -> None:
    ira = server.user(uid(), "Ира")
    async with gateway(temporal_env, server, db, settings) as gw:
        server.writes(ira, "Сколько стоит палатка?")
        await settle(gw, lambda: bool(server.texts(ira.id)))
    saved, _ = await store_of(db).load_state(gw.account)
    asked = max(pts for pts, update, *_ in server.log
                if getattr(update.message, "message", "") == "Сколько стоит палатка?")
    # saved on a clean stop, up to the customer's message (our own sent message may be fetched again: it is ignored)
    assert saved is not None and asked <= saved.pts <= server.pts, "state saved on a clean stop"
    # the gateway is down: the customer keeps writing
    server.writes(ira, "А спальник есть?")
    server.writes(ira, "И коврик")
    assert not server.online
    async with gateway(temporal_env, server, db, settings) as gw2:  # a fresh StringSession: no cache, no state
        await settle(gw2, lambda: gw2.stats["accepted"] == 2)
    diffs = [r for r in server.requests if isinstance(r, functions.updates.GetDifferenceRequest)]
    assert diffs[-1].pts == saved.pts, "caught up from the persisted pts"
    customer = [e.text for e in await transcript(temporal_env.client, ira.id) if e.role == "customer"]
    assert customer == ["Сколько стоит палатка?", "А спальник есть?", "И коврик"]
    await assert_each_bot_message_sent_once(temporal_env.client, server, ira.id)


async def test_crash_while_a_message_is_in_flight_redelivers_it_once(temporal_env, server, db, settings,
                                                                    lead_worker) -> None:
    """The process stops after Telegram delivered a message but before Temporal got it."""
    kim = server.user(uid(), "Ким")
    stuck = asyncio.Event()

    async def deliver_then_hang(client, inp, msg):
        if msg.text == "второе":
            stuck.set()
            await asyncio.Event().wait()  # Temporal never gets it in this process
        return await send_message(client, inp, msg)

    async with gateway(temporal_env, server, db, settings, deliver=deliver_then_hang) as gw:
        gw_stop = gw.stop

        async def quick_stop():
            await gw_stop(grace=0.2)

        gw.stop = quick_stop
        server.writes(kim, "первое")
        await settle(gw, lambda: bool(server.texts(kim.id)))
        server.writes(kim, "второе")
        second = server.pts
        await asyncio.wait_for(stuck.wait(), 10)
        assert await gw.save_state()  # saving goes on, but never past the message in flight
        during, _ = await store_of(db).load_state(gw.account)
        assert during.pts < second
    after, _ = await store_of(db).load_state(gw.account)
    assert after.pts < second <= server.pts, "the stuck message stays ahead of the saved state"
    async with gateway(temporal_env, server, db, settings) as gw2:
        await settle(gw2, lambda: gw2.stats["accepted"] == 1)
    customer = [e.text for e in await transcript(temporal_env.client, kim.id) if e.role == "customer"]
    assert customer == ["первое", "второе"]
    await assert_each_bot_message_sent_once(temporal_env.client, server, kim.id)


async def test_catch_up_state_is_persisted_and_restored_into_a_fresh_session(temporal_env, server, db,
                                                                            settings) -> None:
    store = store_of(db)
    tg = fake_client(server, settings)
    gw = TelegramGateway(settings, temporal_env.client, tg, store)
    await gw.start()
    assert await gw.save_state()
    saved, channels = await store.load_state(gw.account)
    assert saved.pts == server.pts and channels == {}
    await store.save_state(gw.account, saved, {777: (55, 9999)})
    await gw.stop()
    fresh = fake_client(server, settings)
    gw2 = TelegramGateway(settings, temporal_env.client, fresh, store)
    await gw2.restore_state()
    states = dict(fresh.session.get_update_states())
    assert states[0].pts == saved.pts and states[777].pts == 55
    assert fresh.session.get_input_entity(-1000000000777) == types.InputPeerChannel(777, 9999)


# ---- new subscribers ---------------------------------------------------------------------------


async def test_user_joining_an_allowed_group_is_greeted_once(temporal_env, server, db, settings,
                                                            lead_worker, group_id) -> None:
    settings = settings.model_copy(update={"telegram_greet_new_members": True})
    newbie, group = server.user(uid(), "Новичок"), server.group(group_id)
    async with gateway(temporal_env, server, db, settings) as gw:
        server.joins(newbie, group)
        await settle(gw, lambda: bool(server.texts(newbie.id)))
        server.joins(newbie, group)
        server.joins(server.user(uid(), "Чужой"), server.group(9009))
        server.joins(server.user(uid(), "Бот", bot=True), group)
        await settle(gw)
    assert len(server.texts(newbie.id)) == 1 and "Добро пожаловать" in server.texts(newbie.id)[0]
    assert gw.stats["joined"] == 1 and gw.stats["ignored_join_already_greeted"] == 1
    assert gw.stats["ignored_join_chat_not_allowed"] == 1


async def test_joins_are_not_greeted_when_off_or_from_a_bot_account(temporal_env, db, group_id) -> None:
    bot_server = FakeTelegram(bot=True)
    settings = tg_settings(bot_server, db, telegram_allowed_chats=f"-{group_id}",
                           telegram_greet_new_members=True)
    gw = TelegramGateway(settings, temporal_env.client, fake_client(bot_server, settings), store_of(db))
    await gw.start()
    try:
        bot_server.joins(bot_server.user(uid(), "Новичок"), bot_server.group(group_id))
        await settle(gw, lambda: gw.stats["ignored_join_bot_account"] == 1)
        assert not bot_server.texts()
        gw.me = None
        gw.settings = settings.model_copy(update={"telegram_greet_new_members": False})
        bot_server.joins(bot_server.user(uid(), "Новичок"), bot_server.group(group_id))
        await settle(gw, lambda: gw.stats["ignored_join_greeting_off"] == 1)
    finally:
        await gw.stop()


# ---- resilience and accounts -------------------------------------------------------------------


async def test_temporal_outage_delays_a_message_but_never_drops_it(temporal_env, server, db, settings,
                                                                  lead_worker) -> None:
    lev = server.user(uid(), "Лев")
    outages = [RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b""),
               RPCError("deadline", RPCStatusCode.DEADLINE_EXCEEDED, b"")]

    async def flaky(client, inp, msg):
        if outages:
            raise outages.pop(0)
        return await send_message(client, inp, msg)

    async with gateway(temporal_env, server, db, settings, deliver=flaky) as gw:
        server.writes(lev, "Сколько стоит палатка?")
        await settle(gw, lambda: bool(server.texts(lev.id)))
    assert not outages
    await assert_each_bot_message_sent_once(temporal_env.client, server, lev.id)


async def test_an_oversized_message_is_truncated_and_answered(temporal_env, server, db, settings,
                                                              lead_worker) -> None:
    mia = server.user(uid(), "Мия")
    async with gateway(temporal_env, server, db, settings) as gw:
        server.writes(mia, "я" * 20_001)  # past the workflow's hard limit: the client keeps Telegram's 4096
        server.writes(mia, "Сколько стоит палатка?")
        await settle(gw, lambda: len(server.texts(mia.id)) >= 2)
    assert gw.stats["failed"] == 0


async def test_bot_token_account_signs_in_and_keeps_state_under_the_bot_id(temporal_env, db) -> None:
    bot_server = FakeTelegram(bot=True, me_id=5550001)
    bot_server.logged_in = False
    settings = tg_settings(bot_server, db, telegram_session=None, telegram_bot_token="5550001:AAE-secret")
    gw = TelegramGateway(settings, temporal_env.client,
                         bot_server.attach(build_telethon_client(settings)), store_of(db))
    await gw.start()
    await gw.stop()
    assert gw.account == "bot:5550001" and gw.me.bot
    assert any(isinstance(r, functions.auth.ImportBotAuthorizationRequest) for r in bot_server.requests)
    saved, _ = await store_of(db).load_state("bot:5550001")
    assert saved is not None


async def test_a_session_that_is_not_logged_in_refuses_to_start(temporal_env, db) -> None:
    server = FakeTelegram()
    settings = tg_settings(server, db)
    tg = fake_client(server, settings)
    server.logged_in = False
    gw = TelegramGateway(settings, temporal_env.client, tg, store_of(db))
    with pytest.raises(RuntimeError, match="telegram login"):
        await gw.start()
    await tg.disconnect()


def test_message_kinds_and_customers_from_odd_senders() -> None:
    server = FakeTelegram()
    user = server.user(1, "Ян")
    video = types.MessageMediaDocument(document=types.Document(
        id=3, access_hash=4, file_reference=b"", date=None, mime_type="video/mp4", size=10, dc_id=2,
        attributes=[types.DocumentAttributeVideo(duration=1, w=1, h=1)]))
    geo = types.MessageMediaGeo(geo=types.GeoPoint(long=37.6, lat=55.7, access_hash=0))
    assert message_kind(server.message(user, media=video)) == "video"
    assert message_kind(server.message(user, media=geo)) == "other"
    assert message_kind(server.message(user, "hi")) == "text"
    assert customer_of(types.Channel(id=5, title="c", photo=types.ChatPhotoEmpty(), date=None)).user_id == 5


def test_sent_message_id_is_read_from_any_result_shape() -> None:
    msg = types.Message(id=77, peer_id=types.PeerChannel(1), date=None, message="x")
    assert _sent_id(types.Updates([types.UpdateMessageID(76, random_id=5)], [], [], None, 0), 5) == 76
    assert _sent_id(types.Updates([types.UpdateNewChannelMessage(msg, 1, 1)], [], [], None, 0), 5) == 77
    assert _sent_id(types.Updates([], [], [], None, 0), 5) == 0


async def test_supergroup_allowed_by_username_is_answered_and_its_access_hash_kept(temporal_env, server, db,
                                                                                  settings, lead_worker) -> None:
    channel_id = uid()
    fans = types.Channel(id=channel_id, title="Фанаты", photo=types.ChatPhotoEmpty(), date=datetime.now(UTC),
                         username="ShopFans", access_hash=4242, megagroup=True)
    nina = server.user(uid(), "Нина")
    msg = types.Message(id=5, peer_id=types.PeerChannel(channel_id), date=datetime.now(UTC), mentioned=True,
                        message="@shop есть палатки?", from_id=types.PeerUser(nina.id))
    update = types.UpdateNewChannelMessage(msg, 10, 1)
    update._entities = {nina.id: nina, -(10**12 + channel_id): fans}
    marked = -(10**12 + channel_id)
    async with gateway(temporal_env, server, db, settings) as gw:
        await gw.tg._dispatch_update(update)
        await settle(gw, lambda: bool(server.texts(marked)))
    assert await store_of(db).peer_hash(marked) == 4242
    assert server.sent(marked)[0].peer == types.InputPeerChannel(channel_id, 4242)


async def test_group_profile_can_ask_for_every_message_and_greetings(temporal_env, server, db, settings, tmp_path,
                                                                    lead_worker, group_id) -> None:
    (tmp_path / "fans.toml").write_text(f'chats = ["-{group_id}"]\nreply_in_groups = true\n'
                                        "greet_new_subscribers = true\n", encoding="utf-8")
    settings = settings.model_copy(update={"profiles_dir": tmp_path})
    olya, newbie = server.user(uid(), "Оля"), server.user(uid(), "Новенький")
    async with gateway(temporal_env, server, db, settings) as gw:
        server.writes(olya, "Есть горелки?", chat=server.group(group_id))  # not addressed
        server.joins(newbie, server.group(group_id))
        await settle(gw, lambda: bool(server.texts(-group_id)) and bool(server.texts(newbie.id)))
    assert gw.profile(-group_id, None).name == "fans"
    assert gw.profile(-1, types.Channel(id=1, title="t", photo=types.ChatPhotoEmpty(), date=None,
                                        username="nobody")).name == "default"
