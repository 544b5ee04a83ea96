"""What the Telegram gateway keeps in PostgreSQL (tables in `migrations/0010_telegram.sql`).

- the sent-message ledger that makes `channel_send` idempotent,
- Telegram's update state (pts/qts/date/seq) so a StringSession can catch up after a restart,
- the operators' chat posts (card/forward message id → lead) so replies are relayed,
- peers' access hashes and the users already greeted on joining.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from activities.crm.db.database import Database


@dataclass(frozen=True)
class SentPart:
    part: int
    random_id: int
    message_id: int | None  # None: claimed, the request may or may not have reached Telegram


@dataclass(frozen=True)
class UpdateState:
    pts: int
    qts: int
    date: datetime | None
    seq: int


class TelegramStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- ledger ------------------------------------------------------------------------------

    async def sent_parts(self, key: str) -> dict[int, SentPart]:
        pool = await self.db.pool()
        rows = await pool.fetch("SELECT part, random_id, message_id FROM telegram_sent WHERE key = $1", key)
        return {r["part"]: SentPart(r["part"], r["random_id"], r["message_id"]) for r in rows}

    async def claim(self, key: str, part: int, *, lead_id: str, chat_id: str, random_id: int) -> None:
        """Record that part `part` of `key` is about to be sent (before the request leaves)."""
        pool = await self.db.pool()
        await pool.execute(
            "INSERT INTO telegram_sent (key, part, lead_id, chat_id, random_id) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (key, part) DO NOTHING", key, part, lead_id, chat_id, random_id)

    async def complete(self, key: str, part: int, message_id: int) -> None:
        pool = await self.db.pool()
        await pool.execute("UPDATE telegram_sent SET message_id = $3, sent_at = now()"
                           " WHERE key = $1 AND part = $2", key, part, message_id)

    async def sent_count(self, lead_id: str) -> int:
        pool = await self.db.pool()
        return int(await pool.fetchval(
            "SELECT count(*) FROM telegram_sent WHERE lead_id = $1 AND message_id IS NOT NULL", lead_id))

    # ---- update state ------------------------------------------------------------------------

    async def load_state(self, account: str) -> tuple[UpdateState | None, dict[int, tuple[int, int | None]]]:
        """(account state, {channel id: (pts, access_hash)})."""
        pool = await self.db.pool()
        rows = await pool.fetch("SELECT entity_id, pts, qts, date, seq, access_hash"
                                " FROM telegram_update_state WHERE account = $1", account)
        own: UpdateState | None = None
        channels: dict[int, tuple[int, int | None]] = {}
        for r in rows:
            if r["entity_id"] == 0:
                own = UpdateState(r["pts"], r["qts"], r["date"], r["seq"])
            else:
                channels[r["entity_id"]] = (r["pts"], r["access_hash"])
        return own, channels

    async def save_state(self, account: str, state: UpdateState,
                         channels: dict[int, tuple[int, int | None]]) -> None:
        pool = await self.db.pool()
        rows = [(account, 0, state.pts, state.qts, state.date, state.seq, None)]
        rows += [(account, cid, pts, 0, None, 0, ahash) for cid, (pts, ahash) in channels.items()]
        async with pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                "INSERT INTO telegram_update_state (account, entity_id, pts, qts, date, seq, access_hash)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account, entity_id) DO UPDATE SET"
                " pts = EXCLUDED.pts, qts = EXCLUDED.qts, date = EXCLUDED.date, seq = EXCLUDED.seq,"
                " access_hash = COALESCE(EXCLUDED.access_hash, telegram_update_state.access_hash),"
                " updated_at = now()", rows)

    # ---- operators' chat ---------------------------------------------------------------------

    async def remember_post(self, chat_id: int, message_id: int, lead_id: str, kind: str = "card") -> None:
        pool = await self.db.pool()
        await pool.execute("INSERT INTO telegram_operator_posts (chat_id, message_id, lead_id, kind)"
                           " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                           chat_id, message_id, lead_id, kind)

    async def lead_for_post(self, chat_id: int, message_id: int) -> str | None:
        pool = await self.db.pool()
        return await pool.fetchval("SELECT lead_id FROM telegram_operator_posts WHERE chat_id = $1"
                                   " AND message_id = $2", chat_id, message_id)

    # ---- peers and greetings -----------------------------------------------------------------

    async def remember_peer(self, peer_id: int, access_hash: int | None, username: str | None = None) -> None:
        pool = await self.db.pool()
        await pool.execute(
            "INSERT INTO telegram_peers (peer_id, access_hash, username) VALUES ($1, $2, $3)"
            " ON CONFLICT (peer_id) DO UPDATE SET access_hash = COALESCE(EXCLUDED.access_hash,"
            " telegram_peers.access_hash), username = COALESCE(EXCLUDED.username, telegram_peers.username),"
            " updated_at = now()", peer_id, access_hash, username)

    async def peer_hash(self, peer_id: int) -> int | None:
        pool = await self.db.pool()
        return await pool.fetchval("SELECT access_hash FROM telegram_peers WHERE peer_id = $1", peer_id)

    async def mark_greeted(self, user_id: int, chat_id: int) -> bool:
        """True the first time a user is seen joining (greet them), False ever after."""
        pool = await self.db.pool()
        row = await pool.fetchrow("INSERT INTO telegram_greeted (user_id, chat_id) VALUES ($1, $2)"
                                  " ON CONFLICT (user_id) DO NOTHING RETURNING user_id", user_id, chat_id)
        return row is not None
