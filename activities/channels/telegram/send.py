"""Telegram send activities (`channel_send`, `notify_operators`), run on task queue `telegram` by the
gateway process, which owns the Telethon connection.

Exactly-once sending: every part of a message is claimed in the ledger before its request leaves and
completed after; a retry skips completed parts and re-sends a claimed one with the same `random_id`,
which Telegram refuses to deliver twice (RANDOM_ID_DUPLICATE). Text is sent plain (no parse mode),
so nothing a model or a customer writes can break formatting.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta

from telethon import errors, functions, types, utils
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channels.telegram.store import TelegramStore
from catalog.render import format_money
from workflows.types import Customer, OperatorCard, OutboundMessage, SendResult

log = logging.getLogger(__name__)

MAX_MESSAGE = 4096  # Telegram's limit, counted in UTF-16 code units
TYPING_EVERY = 4.0  # Telegram shows "typing…" for ~5 s per request

# The customer cannot be written to; retrying will not change that, so the lead is marked unreachable.
UNREACHABLE = (
    errors.UserIsBlockedError,
    errors.PeerFloodError,
    errors.UserPrivacyRestrictedError,
    errors.InputUserDeactivatedError,
    errors.UserDeactivatedError,
    errors.YouBlockedUserError,
    errors.ChatWriteForbiddenError,
    errors.UserBannedInChannelError,
    errors.ChannelPrivateError,
)


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")


def split_text(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Parts of at most `limit` units, cut at sentence ends (then spaces, then anywhere)."""
    text = text.strip()
    if not text:
        return []
    if _units(text) <= limit:
        return [text]
    pieces: list[str] = []
    for sentence in (s for s in _SENTENCE_END.split(text) if s.strip()):
        while _units(sentence) > limit:  # one sentence longer than a message: cut at a space
            cut = limit
            while _units(sentence[:cut]) > limit:
                cut -= 1
            space = sentence.rfind(" ", 0, cut)
            cut = space if space > limit // 2 else cut
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        pieces.append(sentence.strip())
    parts: list[str] = []
    for piece in pieces:
        if parts and _units(parts[-1]) + 1 + _units(piece) <= limit:
            parts[-1] = f"{parts[-1]} {piece}"
        else:
            parts.append(piece)
    return parts


def random_id_for(key: str, part: int) -> int:
    """Deterministic `random_id` of one part: the same message always carries the same id."""
    digest = hashlib.sha256(f"{key}#{part}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.asynccontextmanager
async def typing(client, peer) -> AsyncIterator[None]:
    """Show "typing…" to `peer` until the block ends. Never fails the block: typing is cosmetic."""
    if peer is None:
        yield
        return

    async def keep_typing() -> None:
        while True:
            try:
                await client(functions.messages.SetTypingRequest(peer, types.SendMessageTypingAction()))
            except Exception as e:  # noqa: BLE001 - a lost typing indicator must never lose a message
                log.debug("typing indicator failed: %s", e)
                return
            await asyncio.sleep(TYPING_EVERY)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _sent_id(result, random_id: int) -> int:
    if isinstance(result, types.UpdateShortSentMessage):
        return result.id
    for update in getattr(result, "updates", []):
        if isinstance(update, types.UpdateMessageID) and update.random_id == random_id:
            return update.id
    for update in getattr(result, "updates", []):
        if isinstance(update, types.UpdateNewMessage | types.UpdateNewChannelMessage):
            return update.message.id
    return 0


def customer_link(customer: Customer) -> str:
    if customer.username:
        return f"https://t.me/{customer.username}"
    if customer.user_id:
        return f"tg://user?id={customer.user_id}"
    return ""


def render_card(card: OperatorCard, ui_link: str) -> str:
    """The escalation card operators see (plain text)."""
    c = card.customer
    who = c.name or (f"@{c.username}" if c.username else card.chat_id or "?")
    if c.username and c.name:
        who += f" (@{c.username})"
    head = "⏰ Повторно: эскалацию никто не взял" if card.renotify else "🔔 Нужен человек"
    lines = [f"{head} — {card.reason}", f"Клиент: {who}"]
    if link := customer_link(c):
        lines.append(f"Чат: {link}")
    lines.append(f"Лид: {card.lead_id}")
    if card.cart:
        lines.append("Корзина:" if card.cart_confirmed else "Заказ (ещё не подтверждён):")
        lines += [f"• {line}" for line in card.cart]
        if card.cart_total is not None and card.currency:
            lines.append(f"Итого: {format_money(card.cart_total, card.currency, 'ru')}")
    else:
        lines.append("Корзина: пусто")
    if card.interest:
        lines.append("Интересовался: " + "; ".join(card.interest))
    if card.last_messages:
        icons = {"customer": "👤", "bot": "🤖", "operator": "🧑‍💼"}
        lines.append("Последние сообщения:")
        lines += [f"{icons.get(m.role, '•')} {m.text[:300]}" for m in card.last_messages[-6:]]
    if ui_link:
        lines.append(f"Temporal: {ui_link}")
    lines.append(f"/take {card.lead_id} — взять · ответ на карточку уйдёт клиенту · /release {card.lead_id}")
    return "\n".join(lines)


def render_forward(card: OperatorCard) -> str:
    c = card.customer
    who = c.name or (f"@{c.username}" if c.username else card.chat_id)
    return f"💬 {who} · {card.lead_id}\n{card.forwarded_text}\n(ответ на это сообщение уйдёт клиенту)"


class TelegramSender:
    """The gateway's send activities: one instance per process, holding the client and the ledger."""

    def __init__(self, client, store: TelegramStore, *, operators_chat: int | None = None,
                 ui_base_url: str = "http://localhost:8233", namespace: str = "default") -> None:
        self.client = client
        self.store = store
        self.operators_chat = operators_chat
        self.ui_base_url = ui_base_url.rstrip("/")
        self.namespace = namespace

    @property
    def activities(self) -> list:
        return [self.channel_send, self.notify_operators]

    async def input_peer(self, chat_id: str | int, customer: Customer | None = None):
        """The peer to write to, without the session's entity cache (which a StringSession lacks)."""
        cid = int(chat_id)
        if customer and customer.user_id == cid and customer.access_hash is not None:
            return types.InputPeerUser(cid, customer.access_hash)
        real_id, kind = utils.resolve_id(cid)
        if kind is types.PeerChat:
            return types.InputPeerChat(real_id)
        stored = await self.store.peer_hash(cid)
        if stored is not None:
            return (types.InputPeerUser(real_id, stored) if kind is types.PeerUser
                    else types.InputPeerChannel(real_id, stored))
        try:
            return await self.client.get_input_entity(cid)
        except ValueError as e:
            raise ApplicationError(f"no access hash for Telegram peer {cid}", type="UnknownPeer",
                                   non_retryable=True) from e

    async def send_text(self, peer, *, key: str, text: str, lead_id: str, chat_id: str) -> SendResult:
        """Send `text` once per `key`, whatever retries happen; errors mapped to Temporal's terms."""
        parts = split_text(text)
        if not parts:
            return SendResult(ok=True)
        done = await self.store.sent_parts(key)
        ids: list[int] = []
        try:
            for i, chunk in enumerate(parts):
                prev = done.get(i)
                if prev is not None and prev.message_id is not None:
                    ids.append(prev.message_id)
                    continue
                rid = prev.random_id if prev is not None else random_id_for(key, i)
                if prev is None:
                    await self.store.claim(key, i, lead_id=lead_id, chat_id=chat_id, random_id=rid)
                try:
                    result = await self.client(functions.messages.SendMessageRequest(
                        peer=peer, message=chunk, random_id=rid, no_webpage=True))
                    mid = _sent_id(result, rid)
                except errors.RandomIdDuplicateError:
                    mid = 0  # an earlier attempt sent it and its answer was lost: sent, id unknown
                await self.store.complete(key, i, mid)
                ids.append(mid)
        except (errors.FloodWaitError, errors.SlowModeWaitError) as e:
            log.warning("Telegram asks to wait %ss before sending %s", e.seconds, key)
            raise ApplicationError(f"flood wait {e.seconds}s", type=type(e).__name__,
                                   next_retry_delay=timedelta(seconds=e.seconds)) from e
        except UNREACHABLE as e:
            log.warning("lead %s is unreachable on Telegram: %s", lead_id, type(e).__name__)
            return SendResult(ok=False, message_ids=ids, unreachable=True, reason=type(e).__name__)
        except errors.BadRequestError as e:  # a request Telegram will never accept: do not retry it
            raise ApplicationError(f"Telegram refused the message: {e}", type=type(e).__name__,
                                   non_retryable=True) from e
        return SendResult(ok=True, message_ids=ids)

    @activity.defn(name="channel_send")
    async def channel_send(self, msg: OutboundMessage) -> SendResult:
        peer = await self.input_peer(msg.chat_id, msg.customer)
        return await self.send_text(peer, key=msg.key, text=msg.text, lead_id=msg.lead_id,
                                    chat_id=msg.chat_id)

    @activity.defn(name="notify_operators")
    async def notify_operators(self, card: OperatorCard) -> SendResult:
        """Post an escalation card (or a forwarded customer message) in the operators' chat."""
        if self.operators_chat is None:
            return SendResult(ok=False, reason="no operators chat configured")
        forward = card.forwarded_text is not None
        ui_link = card.ui_link or f"{self.ui_base_url}/namespaces/{self.namespace}/workflows/{card.lead_id}"
        text = render_forward(card) if forward else render_card(card, ui_link)
        peer = await self.input_peer(self.operators_chat)
        result = await self.send_text(peer, key=f"ops:{card.key}", text=text, lead_id=card.lead_id,
                                      chat_id=str(self.operators_chat))
        for mid in result.message_ids:
            if mid:
                await self.store.remember_post(self.operators_chat, mid, card.lead_id,
                                               "forward" if forward else "card")
        # The operators' chat being unwritable says nothing about the customer: never "unreachable".
        return result.model_copy(update={"unreachable": False})
