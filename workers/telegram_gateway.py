"""`neuroseller telegram`: the process that owns the Telethon connection.

Inbound: each accepted Telegram message becomes update-with-start on the lead's workflow
(`lead-tg-<chat id>`), one chat at a time in order, many chats at once. Outbound: a Temporal worker
on task queue `telegram` runs the send activities in this process (`activities/channels/telegram/send.py`).
Operators act in their chat (`/take`, `/release`, `/leads`, replies to cards).

Catch-up: a StringSession keeps no update state, so the gateway stores pts/qts/date/seq in
PostgreSQL and loads it into the session before connecting; Telethon then asks Telegram for the
difference. The pts written is the low-water mark of updates handed to Temporal (see
`activities/channels/telegram/watermark.py`), so a crash loses nothing (a message may be delivered
again; its update id makes that a no-op). Only Telethon's public API is used: handlers see every
update (`events.Raw`), the session takes the restored state, `run_until_disconnected` reports a
dead update loop — so a Telethon upgrade cannot silently break the gateway.

A gateway that cannot work ends with an error (`GatewayError`, non-zero exit): a fatal error in the
update loop, or a connection that Telethon could not restore, so a supervisor restarts it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

from telethon import TelegramClient, events, functions, types
from telethon import __version__ as TELETHON_VERSION
from telethon.sessions import StringSession
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from activities.channels.telegram.send import TelegramSender, typing
from activities.channels.telegram.store import TelegramStore, UpdateState
from activities.channels.telegram.watermark import ACCOUNT, Watermark
from activities.crm.db.database import Database
from activities.profiles import ProfileStore
from neuroseller.settings import Settings
from workers.errors import GatewayError
from workers.operator_cli import lead_id_arg
from workflows.profile import Profile
from workflows.search_attributes import LEAD_MODE
from workflows.types import Customer, IncomingMessage, LeadInput, OperatorAction, OperatorMessage, TurnResult

log = logging.getLogger(__name__)

STATE_SAVE_EVERY = 30.0  # seconds; also saved after every delivery that leaves the gateway idle

Deliver = Callable[[Client, LeadInput, IncomingMessage], Awaitable[TurnResult]]


# The Telethon releases this gateway is tested with (both ends run in the suite: tests/telegram/
# test_telethon_versions.py). Outside them it refuses to start rather than fail in the update loop.
TELETHON_MIN = (1, 36)
TELETHON_BELOW = (2, 0)


def check_telethon(version: str | None = None) -> None:
    version = version or TELETHON_VERSION
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    if not (TELETHON_MIN <= parts < TELETHON_BELOW):
        raise GatewayError(f"Telethon {version} is not supported: install telethon>="
                           f"{'.'.join(map(str, TELETHON_MIN))},<{'.'.join(map(str, TELETHON_BELOW))}")


def build_telethon_client(settings: Settings, session: str | None = None) -> TelegramClient:
    check_telethon()
    secret = settings.telegram_session.get_secret_value() if settings.telegram_session else ""
    return TelegramClient(
        StringSession(session if session is not None else secret),
        settings.telegram_api_id or 0,
        settings.telegram_api_hash.get_secret_value() if settings.telegram_api_hash else "",
        catch_up=True,  # load the restored state and ask for the difference on connect
        sequential_updates=True,  # handlers only enqueue; per-chat order is kept by the gateway
        flood_sleep_threshold=0,  # never sleep inside a send: Temporal retries after e.seconds
        # Temporal's retry policy is the one place retries live; and Telethon would otherwise retry
        # RANDOM_ID_DUPLICATE (a 500) five times, when it means "already sent".
        request_retries=1,
        raise_last_call_error=True,
        device_model="neuroseller",
    )


def settings_problem(settings: Settings, *, need_database: bool = True) -> str | None:
    """One line naming the missing environment variable, or None when the gateway can start."""
    if not settings.telegram_api_id:
        return "TELEGRAM_API_ID is not set: get it at https://my.telegram.org → API development tools"
    if not settings.telegram_api_hash:
        return "TELEGRAM_API_HASH is not set: get it at https://my.telegram.org → API development tools"
    if not (settings.telegram_session or settings.telegram_bot_token):
        return ("TELEGRAM_SESSION is not set: run `neuroseller telegram login` and put the printed string "
                "into .env (or set TELEGRAM_BOT_TOKEN for a bot)")
    if need_database and not settings.database_url:
        return "DATABASE_URL is not set: the Telegram gateway keeps its send ledger and update state there"
    return None


def parse_allowlist(raw: str) -> tuple[set[int], set[str]]:
    ids: set[int] = set()
    names: set[str] = set()
    for item in (x.strip() for x in raw.split(",")):
        if not item:
            continue
        if item.lstrip("-").isdigit():
            ids.add(int(item))
        else:
            names.add(item.lstrip("@").lower())
    return ids, names


def message_kind(msg) -> str:
    if msg.sticker:
        return "sticker"
    if msg.voice or msg.video_note:
        return "voice"
    if msg.photo:
        return "photo"
    if msg.video:
        return "video"
    if msg.document:
        return "document"
    if msg.media is not None and not isinstance(msg.media, types.MessageMediaWebPage):
        return "other"
    return "text"


def customer_of(user) -> Customer:
    if not isinstance(user, types.User):
        return Customer(user_id=getattr(user, "id", None))
    name = " ".join(x for x in (user.first_name, user.last_name) if x) or None
    return Customer(user_id=user.id, access_hash=user.access_hash, username=user.username, name=name,
                    is_bot=bool(user.bot))


async def _default_deliver(client: Client, inp: LeadInput, msg: IncomingMessage) -> TurnResult:
    from workers.client import send_message  # imports the workflow; only the gateway process needs it

    return await send_message(client, inp, msg)


def _lead_input(settings: Settings, chat_id: int, customer: Customer) -> LeadInput:
    from workers.client import lead_input

    queue = settings.telegram_task_queue
    return lead_input(settings, channel="tg", chat_id=chat_id, customer=customer, outbound_queue=queue,
                      operators_queue=queue if settings.telegram_operators_chat else None)


class TelegramGateway:
    """Handlers, per-chat ordering and update-state persistence around one Telethon client."""

    def __init__(self, settings: Settings, temporal: Client, tg: TelegramClient, store: TelegramStore, *,
                 deliver: Deliver | None = None) -> None:
        self.settings = settings
        self.temporal = temporal
        self.tg = tg
        self.store = store
        self.deliver = deliver or _default_deliver
        self.allowed_ids, self.allowed_names = parse_allowlist(settings.telegram_allowed_chats)
        self.operators_chat = settings.telegram_operators_chat
        self.profiles = ProfileStore(settings.profiles_dir)
        self.stats: Counter[str] = Counter()  # accepted / joined / ignored_<reason> / failed
        self.me: types.User | None = None
        self.account = ""
        self._tails: dict[int, asyncio.Task] = {}
        self._inflight = 0
        self._save_lock = asyncio.Lock()
        self._closing = False
        self._saver: asyncio.Task | None = None
        self.marks = Watermark()  # updates received and not yet handed over, per pts sequence
        self._tickets: dict[int, tuple[int, int] | None] = {}  # id(update) → its open mark, until claimed
        self._qts, self._seq, self._date = 0, 0, datetime.now(UTC)
        self._channel_hash: dict[int, int] = {}

    # ---- lifecycle ---------------------------------------------------------------------------

    def account_key(self) -> str:
        token = self.settings.telegram_bot_token
        if token:
            return "bot:" + token.get_secret_value().split(":", 1)[0]
        key = self.tg.session.auth_key
        return f"key:{key.key_id}" if key and key.key else "key:none"

    async def start(self) -> None:
        restored = await self.restore_state()
        # handlers run in registration order for each update: open its mark first, close it last
        self.tg.add_event_handler(self._update_arrived, events.Raw)
        self.tg.add_event_handler(self.on_message, events.NewMessage(incoming=True))
        self.tg.add_event_handler(self.on_edit, events.MessageEdited(incoming=True))
        self.tg.add_event_handler(self.on_action, events.ChatAction())
        self.tg.add_event_handler(self._update_dispatched, events.Raw)
        await self.tg.connect()
        if self.settings.telegram_bot_token and not await self.tg.is_user_authorized():
            await self.tg.sign_in(bot_token=self.settings.telegram_bot_token.get_secret_value())
        self.me = await self.tg.get_me()
        if self.me is None:
            raise RuntimeError("the Telegram session is not logged in: run `neuroseller telegram login`")
        if not restored:  # first start of this account: from now on, nothing before is ours to answer
            st = await self.tg(functions.updates.GetStateRequest())
            self.marks.start(ACCOUNT, st.pts)
            self._qts, self._seq, self._date = st.qts, st.seq, st.date
            await self.save_state()
        self._saver = asyncio.create_task(self._save_periodically())
        log.info("telegram gateway up as %s (id %s)", self.me.username or self.me.first_name, self.me.id)

    async def stop(self, grace: float = 10.0) -> None:
        """Stop receiving, give queued messages `grace` seconds to reach Temporal, save the state up
        to the first update that did not get there (the next start fetches it and what follows)."""
        if self._saver:
            self._saver.cancel()
        self._closing = True
        tails = list(self._tails.values())
        if tails:
            _, late = await asyncio.wait(tails, timeout=grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        await self.save_state()
        await self.tg.disconnect()

    async def restore_state(self) -> bool:
        """Load the saved update state into the session (Telethon then asks for the difference)."""
        self.account = self.account or self.account_key()
        own, channels = await self.store.load_state(self.account)
        session = self.tg.session
        if own is not None:
            session.set_update_state(0, types.updates.State(own.pts, own.qts, own.date or datetime.now(UTC),
                                                            own.seq, unread_count=0))
            self.marks.start(ACCOUNT, own.pts)
            self._qts, self._seq, self._date = own.qts, own.seq, own.date or self._date
        for cid, (pts, access_hash) in channels.items():
            session.set_update_state(cid, types.updates.State(pts, 0, datetime.now(UTC), 0, unread_count=0))
            self.marks.start(cid, pts)
            if access_hash:
                self._channel_hash[cid] = access_hash
                session.process_entities(types.contacts.ResolvedPeer(
                    None, [], [types.InputPeerChannel(cid, access_hash)]))
        if own is not None:
            log.info("restored Telegram update state pts=%s; catching up on missed messages", own.pts)
        return own is not None

    async def save_state(self) -> bool:
        """Persist the update state up to the last update every one before which reached Temporal."""
        async with self._save_lock:
            safe = self.marks.safe()
            pts = safe.get(ACCOUNT)
            if not pts:
                return False
            channels = {cid: (cpts, self._channel_hash.get(cid)) for cid, cpts in safe.items() if cid != ACCOUNT}
            await self.store.save_state(self.account, UpdateState(pts, self._qts, self._date, self._seq), channels)
            return True

    # ---- update marks: every update is open from arrival until it reached Temporal ---------------

    async def _update_arrived(self, update) -> None:
        self._tickets[id(update)] = self.marks.open(update)
        qts = getattr(update, "qts", None)
        if isinstance(qts, int):
            self._qts = max(self._qts, qts)
        date = getattr(getattr(update, "message", None), "date", None)
        if isinstance(date, datetime) and date > self._date:
            self._date = date

    def _claim(self, update) -> tuple[int, int] | None:
        """A job takes over the update's mark: it closes when the message has reached Temporal."""
        return self._tickets.pop(id(update), None) if update is not None else None

    async def _update_dispatched(self, update) -> None:
        if id(update) in self._tickets:  # no job took it (ignored, answered inline): handed over now
            self.marks.close(self._tickets.pop(id(update)))

    async def _save_periodically(self) -> None:
        while True:
            await asyncio.sleep(STATE_SAVE_EVERY)
            try:
                await self.save_state()
            except Exception:  # PostgreSQL down: try again next time, never stop the gateway
                log.exception("could not save Telegram update state")

    async def drain(self) -> None:
        """Wait until every queued message has been handed to Temporal (tests, shutdown)."""
        while self._tails:
            await asyncio.gather(*list(self._tails.values()), return_exceptions=True)

    # ---- per-chat ordering -------------------------------------------------------------------

    def _enqueue(self, chat_id: int, job: Callable[[], Awaitable[None]], update=None) -> None:
        """Run `job` after the chat's previous job; chats do not wait for each other. The update's
        mark stays open until the job is done, and forever if it is cancelled (the next start
        fetches that update again)."""
        previous = self._tails.get(chat_id)
        self._inflight += 1
        ticket = self._claim(update)

        async def run() -> None:
            try:
                if previous is not None:
                    await asyncio.gather(previous, return_exceptions=True)
                await job()
                self.marks.close(ticket)
            except asyncio.CancelledError:
                raise
            except Exception:  # a rejected message: retrying it after a restart would not help
                self.stats["failed"] += 1
                self.marks.close(ticket)
                log.exception("handling a Telegram update for chat %s failed", chat_id)
            finally:
                self._inflight -= 1
                if self._tails.get(chat_id) is task:
                    del self._tails[chat_id]
                if not self._inflight:
                    try:
                        await self.save_state()
                    except Exception:
                        log.exception("could not save Telegram update state")

        task = asyncio.create_task(run())
        self._tails[chat_id] = task

    # ---- inbound -----------------------------------------------------------------------------

    def chat_allowed(self, chat_id: int, chat) -> bool:
        username = (getattr(chat, "username", None) or "").lower()
        return chat_id in self.allowed_ids or (bool(username) and username in self.allowed_names)

    def profile(self, chat_id: int, chat) -> Profile:
        """The chat's sales profile (by id, then @username), for reply_in_groups / greet_new_subscribers."""
        profile = self.profiles.resolve(None, str(chat_id))
        username = getattr(chat, "username", None)
        if username and str(chat_id) not in profile.chats:
            profile = self.profiles.resolve(None, f"@{username}")
        return profile

    def _ignore(self, reason: str, chat_id: int) -> None:
        self.stats[f"ignored_{reason}"] += 1
        log.debug("ignored a message in %s: %s", chat_id, reason)

    def _refuse_while_closing(self, event) -> bool:
        if self._closing:  # arrived during shutdown: its mark stays open, the next start fetches it
            self._claim(getattr(event, "original_update", None))
        return self._closing

    async def on_message(self, event) -> None:
        if not self._refuse_while_closing(event):
            await self.incoming(event.message, update=event.original_update)

    async def on_edit(self, event) -> None:
        if not self._refuse_while_closing(event):
            await self.incoming(event.message, edited=True, update=event.original_update)

    async def incoming(self, msg, *, edited: bool = False, update=None) -> None:
        chat_id = msg.chat_id
        if self.operators_chat is not None and chat_id == self.operators_chat:
            if not edited:
                self._enqueue(chat_id, lambda: self.operator_command(msg), update)
            return
        sender = msg.sender
        if msg.out or (self.me and msg.sender_id == self.me.id):
            return self._ignore("own", chat_id)
        if getattr(sender, "bot", False):
            return self._ignore("bot", chat_id)
        if not msg.is_private:
            if msg.post:
                return self._ignore("channel_post", chat_id)
            if not self.chat_allowed(chat_id, msg.chat):
                return self._ignore("chat_not_allowed", chat_id)
            if not (msg.mentioned or self.settings.telegram_reply_in_groups
                    or self.profile(chat_id, msg.chat).reply_in_groups):
                return self._ignore("not_addressed", chat_id)
            chat = msg.chat
            if isinstance(chat, types.Channel) and chat.access_hash:
                self._channel_hash[chat.id] = chat.access_hash
                await self.store.remember_peer(chat_id, chat.access_hash, chat.username)
        if sender is not None:
            customer = customer_of(sender)
        else:  # not in the update's entities: the message box's cache still knows the access hash
            input_sender = msg.input_sender
            customer = Customer(user_id=msg.sender_id, access_hash=getattr(input_sender, "access_hash", None))
        kind = message_kind(msg)
        key = f"{chat_id}:{msg.id}"
        if edited:
            stamp = int(msg.edit_date.timestamp()) if msg.edit_date else 0
            key, kind = f"{key}:edit:{stamp}", "edited"
        incoming = IncomingMessage(text=msg.message or "", message_id=key, kind=kind, customer=customer,
                                   sent_at=msg.edit_date if edited else msg.date)
        self.stats["accepted"] += 1
        peer = msg.input_chat
        self._enqueue(chat_id, lambda: self.hand_over(chat_id, customer, incoming, peer), update)

    async def hand_over(self, chat_id: int, customer: Customer, incoming: IncomingMessage,
                        peer) -> TurnResult:
        """Deliver one message to its lead, retrying while Temporal is unreachable (never dropping it)."""
        inp = _lead_input(self.settings, chat_id, customer)
        delay = 0.5
        async with typing(self.tg, peer):
            while True:
                try:
                    return await self.deliver(self.temporal, inp, incoming)
                except RPCError as e:
                    if e.status not in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED,
                                        RPCStatusCode.RESOURCE_EXHAUSTED):
                        raise
                    log.warning("Temporal unavailable (%s); retrying message %s in %.1fs", e,
                                incoming.message_id, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30.0)

    async def on_action(self, event) -> None:
        """New-subscriber trigger: greet a user who joined an allowed group/channel, once."""
        if not (event.user_joined or event.user_added) or self._refuse_while_closing(event):
            return
        if not self.chat_allowed(event.chat_id, event.chat):
            return self._ignore("join_chat_not_allowed", event.chat_id)
        if not (self.settings.telegram_greet_new_members
                or self.profile(event.chat_id, event.chat).greet_new_subscribers):
            return self._ignore("join_greeting_off", event.chat_id)
        if self.me is not None and self.me.bot:  # bots cannot start a private chat with anyone
            return self._ignore("join_bot_account", event.chat_id)
        for user in event.users:
            if not isinstance(user, types.User) or user.bot or user.deleted or user.is_self:
                continue
            if user.access_hash is None or user.min:
                self._ignore("join_no_access", event.chat_id)
                continue
            if not await self.store.mark_greeted(user.id, event.chat_id):
                self._ignore("join_already_greeted", event.chat_id)
                continue
            customer = customer_of(user)
            await self.store.remember_peer(user.id, user.access_hash, user.username)
            joined = IncomingMessage(kind="joined", text="", message_id=f"joined:{user.id}",
                                     customer=customer)
            self.stats["joined"] += 1
            self._enqueue(user.id, lambda uid=user.id, c=customer, m=joined: self.hand_over(
                uid, c, m, types.InputPeerUser(c.user_id, c.access_hash)), event.original_update)

    # ---- operators' chat ---------------------------------------------------------------------

    async def _say(self, msg, text: str) -> None:
        try:
            await self.tg.send_message(await msg.get_input_chat(), text, reply_to=msg.id, parse_mode=None,
                                       link_preview=False)
        except Exception:
            log.exception("could not answer in the operators' chat")

    async def operator_command(self, msg) -> None:
        text = (msg.message or "").strip()
        sender = msg.sender
        operator = (customer_of(sender).name or (f"@{sender.username}" if getattr(sender, "username", None)
                                                 else None)) if sender else None
        operator = operator or f"operator {msg.sender_id}"
        if text.startswith("/"):
            command, _, rest = text.partition(" ")
            command = command[1:].split("@", 1)[0].lower()
            if command in ("take", "release"):
                if not rest.strip():
                    return await self._say(msg, f"/{command} <lead>, например /{command} lead-tg-123")
                lead = lead_id_arg(rest.split()[0])
                name = "operator_takeover" if command == "take" else "operator_release"
                if await self._signal(msg, lead, name, OperatorAction(operator=operator)):
                    done = (f"✅ {operator} ведёт {lead}: бот молчит, сообщения клиента придут сюда"
                            if command == "take" else f"🤖 {lead} возвращён боту")
                    await self._say(msg, done)
            elif command == "leads":
                await self._say(msg, await self.open_escalations())
            elif command in ("help", "start"):
                await self._say(msg, OPERATOR_HELP)
            return
        reply_to = msg.reply_to.reply_to_msg_id if msg.reply_to else None
        if reply_to is None:
            return
        lead = await self.store.lead_for_post(msg.chat_id, reply_to)
        if lead is None:
            return
        if not text:
            return await self._say(msg, "Клиенту можно отправить только текст.")
        relay = OperatorMessage(operator=operator, text=text, message_id=f"ops:{msg.chat_id}:{msg.id}")
        await self._signal(msg, lead, "operator_message", relay)

    async def _signal(self, msg, lead: str, name: str, arg) -> bool:
        try:
            await self.temporal.get_workflow_handle(lead).signal(name, arg)
        except RPCError as e:
            if e.status != RPCStatusCode.NOT_FOUND:
                raise
            await self._say(msg, f"Лид {lead} не найден или уже закрыт")
            return False
        return True

    async def open_escalations(self, limit: int = 30) -> str:
        query = 'WorkflowType = "LeadWorkflow" AND ExecutionStatus = "Running" AND Escalated = true'
        lines = []
        async for wf in self.temporal.list_workflows(query, limit=limit):
            mode = wf.typed_search_attributes.get(LEAD_MODE) or "bot"
            lines.append(f"• {wf.id} — {'ведёт человек' if mode == 'human' else 'ждёт оператора'}")
        return "Открытые эскалации:\n" + "\n".join(lines) if lines else "Открытых эскалаций нет"


OPERATOR_HELP = """Команды операторов:
/take <лид> — взять диалог: бот замолкает, сообщения клиента пересылаются сюда
/release <лид> — вернуть диалог боту
/leads — открытые эскалации
Ответ (reply) на карточку или пересланное сообщение уходит клиенту от имени магазина."""


@contextlib.asynccontextmanager
async def open_gateway(settings: Settings, client: Client, telethon_client: TelegramClient,
                       store: TelegramStore, *,
                       deliver: Deliver | None = None) -> AsyncIterator[TelegramGateway]:
    """Connected gateway with its `telegram` worker running; stopped (state saved) on exit."""
    gateway = TelegramGateway(settings, client, telethon_client, store, deliver=deliver)
    await gateway.start()
    sender = TelegramSender(telethon_client, store, operators_chat=settings.telegram_operators_chat,
                            ui_base_url=settings.ui_base_url, namespace=settings.temporal_namespace)
    try:
        # One account, one send rate, across every lead and campaign: Telegram treats bursts as spam (issue 11).
        async with Worker(client, task_queue=settings.telegram_task_queue, activities=sender.activities,
                          max_task_queue_activities_per_second=settings.telegram_sends_per_second or None,
                          # SIGTERM: a send in flight finishes (its ledger row completes) before we go
                          graceful_shutdown_timeout=timedelta(seconds=settings.worker_graceful_shutdown_seconds)):
            yield gateway
    finally:
        await gateway.stop()


async def run_gateway(settings: Settings, client: Client | None = None, telethon_client=None, *,
                      database: Database | None = None, deliver: Deliver | None = None) -> None:
    """Run until Telegram disconnects or the task is cancelled (`neuroseller telegram`, `neuroseller up`)."""
    if client is None:
        from workers.client import connect

        address = settings.temporal_address or f"localhost:{settings.temporal_port}"
        client = await connect(address, settings.temporal_namespace)
    owns_db = database is None
    if database is None:
        if settings.database_url is None:
            print(settings_problem(settings), file=sys.stderr)
            raise SystemExit(2)
        database = Database(settings.database_url.get_secret_value())
    await database.migrate()
    tg = telethon_client or build_telethon_client(settings)
    try:
        async with _unreachable_is_fatal(), open_gateway(settings, client, tg, TelegramStore(database),
                                                         deliver=deliver):
            try:
                await tg.run_until_disconnected()  # re-raises a fatal error of Telethon's update loop
            except (asyncio.CancelledError, GatewayError):
                raise
            except Exception as err:
                raise GatewayError(f"the Telegram update loop failed: {type(err).__name__}: {err}") from err
            raise GatewayError("Telegram disconnected and Telethon could not reconnect")
    finally:
        if owns_db:
            await database.close()


@contextlib.asynccontextmanager
async def _unreachable_is_fatal() -> AsyncIterator[None]:
    """Telegram unreachable at start (after Telethon's own retries): fail, so a supervisor retries."""
    try:
        yield
    except (ConnectionError, OSError) as err:
        raise GatewayError(f"cannot connect to Telegram: {type(err).__name__}: {err}") from err


# ---- CLI ---------------------------------------------------------------------------------------


async def telegram_command(args: argparse.Namespace, settings: Settings) -> int:
    if problem := settings_problem(settings):
        print(problem, file=sys.stderr)
        raise SystemExit(2)
    check_telethon()
    await run_gateway(settings)
    return 0  # pragma: no cover - run_gateway ends by cancellation (0) or GatewayError (1)


def register(subparsers) -> None:
    """`neuroseller telegram` (the gateway) and `neuroseller telegram login`."""
    from workers.telegram_login import login_command

    parser = subparsers.add_parser("telegram", help="run the Telegram gateway (Telethon + queue `telegram`)")
    parser.set_defaults(func=telegram_command)
    sub = parser.add_subparsers(dest="telegram_command")
    login = sub.add_parser("login", help="log in interactively and print TELEGRAM_SESSION")
    login.set_defaults(func=login_command)
