"""The send activities against Telethon's real client with only the MTProto sender faked."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from telethon import errors, functions, types
from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.channels.telegram.send import (
    MAX_MESSAGE,
    TelegramSender,
    random_id_for,
    render_card,
    split_text,
    typing,
)
from activities.crm.db.database import Database
from tests.fakes.telegram import FakeTelegram, flood
from tests.fakes.telegram_env import OPERATORS_CHAT, connected, store_of, tg_settings
from workflows.types import Customer, OperatorCard, OutboundMessage, SendResult, TranscriptEntry


@pytest.fixture
async def sender(server: FakeTelegram, db: Database) -> AsyncIterator[TelegramSender]:
    settings = tg_settings(server, db)
    async with connected(server, settings) as tg:
        yield TelegramSender(tg, store_of(db), operators_chat=OPERATORS_CHAT, ui_base_url="http://ui.test")


def customer(user_id: int = 501) -> Customer:
    return Customer(user_id=user_id, access_hash=user_id * 7 + 3, name="Анна", username="anna")


def outbound(text: str = "Здравствуйте! Чем помочь?", *, key: str | None = None, user_id: int = 501) -> OutboundMessage:
    return OutboundMessage(lead_id=f"lead-tg-{user_id}", channel="tg", chat_id=str(user_id),
                           customer=customer(user_id), key=key or f"k-{uuid.uuid4().hex}", text=text)


# ---- splitting ---------------------------------------------------------------------------------


def test_short_text_is_one_part() -> None:
    assert split_text("  Привет!  ") == ["Привет!"]
    assert split_text("   ") == []


def test_long_text_splits_at_sentence_ends_under_the_limit() -> None:
    sentence = "Палатка Альпика вмещает трёх человек и весит 2,4 кг. "
    text = sentence * 200
    parts = split_text(text)
    assert len(parts) > 1
    assert all(len(p.encode("utf-16-le")) // 2 <= MAX_MESSAGE for p in parts)
    assert all(p.endswith(".") for p in parts)
    assert " ".join(parts) == text.strip()


def test_a_sentence_longer_than_a_message_is_cut_at_a_space() -> None:
    words = "слово " * 1500
    parts = split_text(words, limit=1000)
    assert all(len(p) <= 1000 for p in parts)
    assert " ".join(parts).split() == words.split()


def test_emoji_count_as_two_units() -> None:
    parts = split_text("😀" * 30, limit=20)
    assert all(len(p) <= 10 for p in parts) and "".join(parts) == "😀" * 30


def test_random_id_is_stable_per_key_and_part() -> None:
    assert random_id_for("k", 0) == random_id_for("k", 0)
    assert random_id_for("k", 0) != random_id_for("k", 1)


# ---- sending -----------------------------------------------------------------------------------


async def test_reply_is_sent_once_as_plain_text_to_the_stored_peer(sender, server) -> None:
    msg = outbound("Цена *без* разметки: _1 990 ₽_")
    result = await sender.channel_send(msg)
    again = await sender.channel_send(msg)  # a retried activity
    assert result.ok and result.message_ids and again.message_ids == result.message_ids
    [req] = server.sent(501)
    assert req.message == "Цена *без* разметки: _1 990 ₽_" and not req.entities
    assert req.peer == types.InputPeerUser(501, 501 * 7 + 3) and req.no_webpage


async def test_long_reply_goes_out_in_parts_and_a_retry_resumes_after_the_last_sent(sender, server) -> None:
    text = "Это предложение про палатки. " * 400
    msg = outbound(text)
    parts = split_text(text)
    # the second part hits a flood wait: the first is already in the ledger
    original = server._send
    calls = {"n": 0}

    def flaky(request, s):
        calls["n"] += 1
        if calls["n"] == 2:
            raise flood(seconds=1)
        return original(request, s)

    server._send = flaky
    with pytest.raises(ApplicationError):
        await sender.channel_send(msg)
    server._send = original
    await asyncio.sleep(1.1)  # Telethon also remembers the flood wait for this request type
    result = await sender.channel_send(msg)
    assert len(result.message_ids) == len(parts)
    assert server.texts(501) == parts


async def test_flood_wait_retries_after_exactly_the_seconds_telegram_asked(sender, server) -> None:
    server.fail[functions.messages.SendMessageRequest].append(flood(seconds=37))
    with pytest.raises(ApplicationError) as caught:
        await sender.channel_send(outbound())
    assert caught.value.next_retry_delay == timedelta(seconds=37)
    assert caught.value.type == "FloodWaitError" and not caught.value.non_retryable


@pytest.mark.parametrize("error", [errors.UserIsBlockedError, errors.PeerFloodError,
                                   errors.UserPrivacyRestrictedError, errors.InputUserDeactivatedError])
async def test_customer_who_cannot_be_written_to_is_unreachable_not_an_error(sender, server, error) -> None:
    server.fail[functions.messages.SendMessageRequest].append(error(request=None))
    result = await sender.channel_send(outbound())
    assert result == SendResult(ok=False, unreachable=True, reason=error.__name__)


async def test_a_request_telegram_will_never_accept_is_not_retried(sender, server) -> None:
    server.fail[functions.messages.SendMessageRequest].append(errors.MessageEmptyError(request=None))
    with pytest.raises(ApplicationError) as caught:
        await sender.channel_send(outbound())
    assert caught.value.non_retryable


async def test_answer_lost_after_telegram_sent_it_is_not_sent_again(sender, server, db) -> None:
    """The process died between Telegram accepting the message and the ledger recording it."""
    msg = outbound("Ваш заказ принят.")
    rid = random_id_for(msg.key, 0)
    await store_of(db).claim(msg.key, 0, lead_id=msg.lead_id, chat_id=msg.chat_id, random_id=rid)
    server.sent_random_ids.add(rid)  # Telegram has it already
    result = await sender.channel_send(msg)
    assert result.ok and result.message_ids == [0]
    assert server.sent(501) and all(r.random_id == rid for r in server.sent(501))
    assert len(server.sent_random_ids) == 1


async def test_empty_text_sends_nothing(sender, server) -> None:
    assert await sender.channel_send(outbound("   ")) == SendResult(ok=True)
    assert server.sent() == []


async def test_peer_without_access_hash_in_the_message_comes_from_the_store(sender, server, db) -> None:
    await store_of(db).remember_peer(-1000000001234, 4242, "shopgroup")
    await store_of(db).remember_peer(602, 6060, "bob")
    await sender.channel_send(OutboundMessage(lead_id="lead-tg--1000000001234", channel="tg", chat_id="-1000000001234",
                                              key="grp-1", text="Всем привет"))
    await sender.channel_send(OutboundMessage(lead_id="lead-tg-602", channel="tg", chat_id="602",
                                              key="u-602", text="Привет, Боб"))
    await sender.channel_send(OutboundMessage(lead_id="lead-tg--77", channel="tg", chat_id="-77",
                                              key="chat-77", text="Привет, группа"))
    peers = [r.peer for r in server.sent()]
    assert peers == [types.InputPeerChannel(1234, 4242), types.InputPeerUser(602, 6060), types.InputPeerChat(77)]


async def test_unknown_peer_fails_without_retrying(sender) -> None:
    with pytest.raises(ApplicationError) as caught:
        await sender.channel_send(OutboundMessage(lead_id="x", channel="tg", chat_id="909", key="x", text="hi"))
    assert caught.value.non_retryable and caught.value.type == "UnknownPeer"


async def test_typing_indicator_runs_until_the_block_ends_and_never_fails_it(sender, server) -> None:
    peer = types.InputPeerUser(501, 1)
    async with typing(sender.client, peer):
        await asyncio.sleep(0.05)
    assert len(server.typing(501)) == 1
    server.fail[functions.messages.SetTypingRequest].append(errors.UserIsBlockedError(request=None))
    async with typing(sender.client, peer):
        await asyncio.sleep(0.01)
    async with typing(sender.client, None):
        pass


# ---- operators' chat ---------------------------------------------------------------------------


def card(**kw: object) -> OperatorCard:
    base: dict[str, object] = {
        "lead_id": "lead-tg-501", "key": f"lead-tg-501:card:{uuid.uuid4().hex}", "reason": "human_request",
        "customer": customer(), "chat_id": "501", "channel": "tg",
        "last_messages": [TranscriptEntry(role="customer", text="Позовите менеджера"),
                          TranscriptEntry(role="bot", text="Передаю менеджеру")],
        "cart": ["Палатка Альпика × 1 = 5 990 ₽"]}
    base.update(kw)
    return OperatorCard.model_validate(base)


async def test_escalation_card_names_the_customer_and_links_everything(sender, server, db) -> None:
    result = await sender.notify_operators(card())
    [req] = server.sent(OPERATORS_CHAT)
    text = req.message
    assert "Анна (@anna)" in text and "https://t.me/anna" in text and "human_request" in text
    assert "Палатка Альпика × 1 = 5 990 ₽" in text and "👤 Позовите менеджера" in text
    assert "http://ui.test/namespaces/default/workflows/lead-tg-501" in text and "/take lead-tg-501" in text
    assert await store_of(db).lead_for_post(OPERATORS_CHAT, result.message_ids[0]) == "lead-tg-501"


async def test_forwarded_customer_message_is_remembered_for_replies(sender, server, db) -> None:
    result = await sender.notify_operators(card(forwarded_text="А когда доставка?", reason="forwarded"))
    assert "А когда доставка?" in server.texts(OPERATORS_CHAT)[0]
    assert await store_of(db).lead_for_post(OPERATORS_CHAT, result.message_ids[0]) == "lead-tg-501"


async def test_card_without_operators_chat_or_writable_chat_never_marks_the_customer_unreachable(
        sender, server) -> None:
    server.fail[functions.messages.SendMessageRequest].append(errors.ChatWriteForbiddenError(request=None))
    result = await sender.notify_operators(card())
    assert not result.unreachable and not result.ok
    sender.operators_chat = None
    assert (await sender.notify_operators(card())).reason == "no operators chat configured"


def test_card_for_a_customer_without_username_links_by_id_and_marks_renotify() -> None:
    text = render_card(card(customer=Customer(user_id=9, name=None), renotify=True, cart=[], last_messages=[]),
                       "")
    assert "tg://user?id=9" in text and "Повторно" in text and "Temporal" not in text


# ---- through Temporal: the retry really waits for Telegram ------------------------------------


@workflow.defn(sandboxed=False)
class SendOnce:
    @workflow.run
    async def run(self, msg: OutboundMessage) -> SendResult:
        return await workflow.execute_activity(
            "channel_send", msg, result_type=SendResult, task_queue="telegram-send-test",
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=5))


async def test_flood_wait_through_temporal_sends_once_after_the_wait(temporal_env, sender, server) -> None:
    client: Client = temporal_env.client
    server.fail[functions.messages.SendMessageRequest].append(flood(seconds=2))
    msg = outbound("После паузы")
    async with Worker(client, task_queue="telegram-send-test", workflows=[SendOnce],
                      activities=sender.activities):
        loop = asyncio.get_running_loop()
        started = loop.time()
        result = await client.execute_workflow(SendOnce.run, msg, id=f"send-{uuid.uuid4().hex}",
                                               task_queue="telegram-send-test")
        waited = loop.time() - started
    assert result.ok and server.texts(501) == ["После паузы"]
    assert waited >= 2.0


def test_card_shows_the_cart_with_total_and_interest_apart() -> None:
    from decimal import Decimal

    text = render_card(card(cart=["Палатка Альпика × 2 = 11 980 ₽"], cart_total=Decimal("11980"), currency="RUB",
                            interest=["Коврик самонадувающийся"]), "")
    assert "Корзина:\n• Палатка Альпика × 2 = 11 980 ₽\nИтого: 11 980 ₽" in text
    assert "Интересовался: Коврик самонадувающийся" in text
    empty = render_card(card(cart=[], interest=["Палатка двухместная «Трек 2»"]), "")
    assert "Корзина: пусто" in empty and "Итого" not in empty
    assert "Интересовался: Палатка двухместная «Трек 2»" in empty
    pending = render_card(card(cart_confirmed=False, cart_total=Decimal("5990"), currency="RUB"), "")
    assert "Заказ (ещё не подтверждён):" in pending and "Итого: 5 990 ₽" in pending
