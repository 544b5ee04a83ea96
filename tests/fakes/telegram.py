"""The network edge of Telethon, faked: a tiny in-memory Telegram for one account.

`FakeTelegram.attach(client)` replaces only the client's MTProto sender (the object that would
serialise requests onto the socket). Everything above it runs unpatched: `TelegramClient.__call__`
/ `_call` (request resolution, flood-wait bookkeeping), the update loop, the message box (pts, gaps,
getDifference), event builders and our handlers. The fake answers with real TL objects
(`UpdateShortSentMessage`, `updates.Difference`, …), records every request, raises scripted RPC
errors (`FloodWaitError`, `UserIsBlockedError`, …), and keeps an update log so a client that
connects later catches up from its pts like it would against Telegram.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections import defaultdict
from datetime import UTC, datetime

from telethon import errors, functions, types
from telethon.crypto import AuthKey
from telethon.sessions import StringSession


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class FakeSender:
    """Stands in for `MTProtoSender`: same methods the client calls, answers from `FakeTelegram`."""

    def __init__(self, server: FakeTelegram, updates_queue: asyncio.Queue) -> None:
        self.server = server
        self.queue = updates_queue
        self.auth_key = server.auth_key
        self._connected = False
        self._disconnected: asyncio.Future | None = None

    async def connect(self, connection) -> bool:
        if self._connected:
            return False
        self._connected = True
        self._disconnected = asyncio.get_running_loop().create_future()
        self.server.online.append(self)
        return True

    def is_connected(self) -> bool:
        return self._connected

    def _transport_connected(self) -> bool:
        return self._connected

    async def disconnect(self) -> None:
        self._connected = False
        if self in self.server.online:
            self.server.online.remove(self)
        if self._disconnected and not self._disconnected.done():
            self._disconnected.set_result(None)

    @property
    def disconnected(self) -> asyncio.Future:
        if self._disconnected is None:
            self._disconnected = asyncio.get_running_loop().create_future()
        return asyncio.shield(self._disconnected)

    def _keepalive_ping(self, ping_id: int) -> None:
        pass

    def send(self, request, ordered: bool = False) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        try:
            future.set_result(self.server.handle(request, self))
        except Exception as e:  # noqa: BLE001 - the fake reports any failure back to the caller
            future.set_exception(e)
        return future


class FakeTelegram:
    """One account's view of Telegram: its pts log, the users and chats it knows, what it was sent."""

    def __init__(self, *, me_id: int = 777000111, username: str = "shop", bot: bool = False) -> None:
        self.me = types.User(id=me_id, access_hash=9_111_222_333, first_name="Shop", username=username,
                             is_self=True, bot=bot)
        self.auth_key = AuthKey(os.urandom(256))
        self.pts = 100
        self.date = now()
        self._ids = itertools.count(1)
        self.log: list[tuple[int, object, list, list]] = []  # (pts, update, users, chats)
        self.requests: list = []
        self.fail: dict[type, list[Exception]] = defaultdict(list)
        self.online: list[FakeSender] = []
        self.sent_random_ids: set[int] = set()
        self.delivered: list[tuple[int, str, int]] = []  # (peer id, text, message id) Telegram accepted
        self.logged_in = True
        self.code_hash = "code-hash"
        self.latency = 0.0  # seconds `SendMessageRequest` takes (per-chat ordering tests)

    # ---- the client side -----------------------------------------------------------------------

    def session_string(self) -> str:
        session = StringSession()
        session.set_dc(2, "149.154.167.51", 443)
        session.auth_key = self.auth_key
        return session.save()

    def attach(self, client):
        client._sender = FakeSender(self, client._updates_queue)
        return client

    # ---- what the shop sent ----------------------------------------------------------------------

    def sent(self, peer_id: int | None = None) -> list[functions.messages.SendMessageRequest]:
        out = [r for r in self.requests if isinstance(r, functions.messages.SendMessageRequest)]
        if peer_id is not None:
            out = [r for r in out if _peer_id(r.peer) == peer_id]
        return out

    def texts(self, peer_id: int | None = None) -> list[str]:
        """Messages that reached Telegram (refused requests are only in `requests`)."""
        return [text for pid, text, _ in self.delivered if peer_id is None or pid == peer_id]

    def message_id(self, peer_id: int, contains: str) -> int:
        """Id of the last message sent to `peer_id` whose text contains `contains`."""
        return [mid for pid, text, mid in self.delivered if pid == peer_id and contains in text][-1]

    def typing(self, peer_id: int) -> list:
        return [r for r in self.requests
                if isinstance(r, functions.messages.SetTypingRequest) and _peer_id(r.peer) == peer_id]

    # ---- what customers do ---------------------------------------------------------------------

    def user(self, user_id: int, first_name: str = "Анна", *, username: str | None = None, bot: bool = False,
             last_name: str | None = None) -> types.User:
        return types.User(id=user_id, access_hash=user_id * 7 + 3, first_name=first_name, last_name=last_name,
                          username=username, bot=bot)

    def group(self, chat_id: int, title: str = "Покупатели") -> types.Chat:
        return types.Chat(id=chat_id, title=title, photo=types.ChatPhotoEmpty(), participants_count=3,
                          date=self.date, version=1)

    def message(self, user: types.User, text: str = "", *, chat: types.Chat | None = None, media=None,
                mentioned: bool = False, reply_to: int | None = None, out: bool = False) -> types.Message:
        mid = next(self._ids)
        peer = types.PeerChat(chat.id) if chat else types.PeerUser(user.id)
        return types.Message(
            id=mid, peer_id=peer, date=now(), message=text, out=out, mentioned=mentioned, media=media,
            from_id=types.PeerUser(self.me.id if out else user.id) if (chat or out) else None,
            reply_to=types.MessageReplyHeader(reply_to_msg_id=reply_to) if reply_to else None)

    def writes(self, user: types.User, text: str = "", **kw) -> types.Message:
        """A customer sends a message: logged with the next pts and pushed to connected clients."""
        msg = self.message(user, text, **kw)
        chats = [kw["chat"]] if kw.get("chat") else []
        self.push(types.UpdateNewMessage(msg, self._next_pts(), 1), [user], chats)
        return msg

    def edits(self, user: types.User, msg: types.Message, text: str) -> types.Message:
        edited = types.Message(id=msg.id, peer_id=msg.peer_id, date=msg.date, message=text, out=False,
                               from_id=msg.from_id, edit_date=now())
        self.push(types.UpdateEditMessage(edited, self._next_pts(), 1), [user], [])
        return edited

    def joins(self, user: types.User, chat: types.Chat) -> None:
        update = types.UpdateChatParticipantAdd(chat_id=chat.id, user_id=user.id, inviter_id=user.id,
                                                date=now(), version=2)
        self._send_updates(types.Updates([update], [user], [chat], now(), 0))

    def push(self, update, users: list, chats: list) -> None:
        self.log.append((update.pts, update, users, chats))
        self._send_updates(types.Updates([update], users, chats, now(), 0))

    def redeliver(self, index: int = -1) -> None:
        """Telegram sends an already delivered update again (it happens around reconnects)."""
        _, update, users, chats = self.log[index]
        self._send_updates(types.Updates([update], users, chats, now(), 0))

    def _send_updates(self, updates) -> None:
        for sender in self.online:
            sender.queue.put_nowait(updates)

    def _next_pts(self) -> int:
        self.pts += 1
        return self.pts

    # ---- the server ----------------------------------------------------------------------------

    def handle(self, request, sender: FakeSender):
        if isinstance(request, functions.InvokeWithLayerRequest):
            return None  # InitConnection(GetConfig) on connect: the answer is not used
        self.requests.append(request)
        if self.fail[type(request)]:
            raise self.fail[type(request)].pop(0)
        if isinstance(request, functions.users.GetUsersRequest):
            if not self.logged_in:
                raise errors.AuthKeyUnregisteredError(request)
            return [self.me if isinstance(i, types.InputUserSelf) else types.UserEmpty(getattr(i, "user_id", 0))
                    for i in request.id]
        if isinstance(request, functions.updates.GetStateRequest):
            if not self.logged_in:
                raise errors.AuthKeyUnregisteredError(request)
            return types.updates.State(pts=self.pts, qts=0, date=now(), seq=0, unread_count=0)
        if isinstance(request, functions.updates.GetDifferenceRequest):
            return self._difference(request)
        if isinstance(request, functions.messages.SendMessageRequest):
            return self._send(request, sender)
        if isinstance(request, functions.messages.SetTypingRequest):
            return True
        if isinstance(request, functions.auth.SendCodeRequest):
            return types.auth.SentCode(type=types.auth.SentCodeTypeApp(5), phone_code_hash=self.code_hash)
        if isinstance(request, functions.auth.SignInRequest):
            if request.phone_code != "12345":
                raise errors.PhoneCodeInvalidError(request)
            self.logged_in = True
            return types.auth.Authorization(user=self.me)
        if isinstance(request, functions.auth.ImportBotAuthorizationRequest):
            self.logged_in = True
            return types.auth.Authorization(user=self.me)
        raise NotImplementedError(f"FakeTelegram has no answer for {type(request).__name__}")

    def _difference(self, request):
        missed = [entry for entry in self.log if entry[0] > request.pts]
        if not missed:
            return types.updates.DifferenceEmpty(date=now(), seq=0)
        messages = [u.message for _, u, _, _ in missed if isinstance(u, types.UpdateNewMessage)]
        others = [u for _, u, _, _ in missed if not isinstance(u, types.UpdateNewMessage)]
        users = {u.id: u for _, _, us, _ in missed for u in us}
        chats = {c.id: c for _, _, _, cs in missed for c in cs}
        return types.updates.Difference(
            new_messages=messages, new_encrypted_messages=[], other_updates=others, chats=list(chats.values()),
            users=list(users.values()), state=types.updates.State(self.pts, 0, now(), 0, 0))

    def _send(self, request, sender: FakeSender):
        if request.random_id in self.sent_random_ids:
            raise errors.RandomIdDuplicateError(request)
        self.sent_random_ids.add(request.random_id)
        mid = next(self._ids)
        self.delivered.append((_peer_id(request.peer), request.message, mid))
        pts = self._next_pts()
        own = types.Message(id=mid, peer_id=_peer(request.peer), date=now(), message=request.message, out=True,
                            from_id=types.PeerUser(self.me.id))
        self.log.append((pts, types.UpdateNewMessage(own, pts, 1), [], []))
        result = types.UpdateShortSentMessage(out=True, id=mid, pts=pts, pts_count=1, date=now())
        # Like MTProtoSender._store_own_updates: the client's message box sees its own pts move.
        echo = types.UpdateShortSentMessage(out=True, id=mid, pts=pts, pts_count=1, date=now())
        echo._self_outgoing = True
        sender.queue.put_nowait(echo)
        return result


def _peer(input_peer):
    if isinstance(input_peer, types.InputPeerUser):
        return types.PeerUser(input_peer.user_id)
    if isinstance(input_peer, types.InputPeerChat):
        return types.PeerChat(input_peer.chat_id)
    if isinstance(input_peer, types.InputPeerChannel):
        return types.PeerChannel(input_peer.channel_id)
    raise TypeError(input_peer)


def _peer_id(input_peer) -> int:
    if isinstance(input_peer, types.InputPeerUser):
        return input_peer.user_id
    if isinstance(input_peer, types.InputPeerChat):
        return -input_peer.chat_id
    if isinstance(input_peer, types.InputPeerChannel):
        return -(10**12 + input_peer.channel_id)
    return 0


def flood(request_type=functions.messages.SendMessageRequest, seconds: int = 3) -> errors.FloodWaitError:
    return errors.FloodWaitError(request=request_type, capture=seconds)
