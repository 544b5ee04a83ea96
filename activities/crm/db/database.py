"""PostgreSQL, the system of record: an asyncpg pool, versioned migrations and the lead queries.

Writes are idempotent (upsert by lead id, insert-once by message/event key) because Temporal
retries an activity whose outcome it did not see: a write that reached the server before the
connection broke must be harmless the second time.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from workflows.types import EventRecord, LeadRecord, MessageRecord, PersistBatch

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_MIGRATION_NAME = re.compile(r"^(\d{4})_([\w-]+)\.sql$")
# pg_advisory_xact_lock key: "neuroseller migrations"; any constant shared by all processes works.
_MIGRATION_LOCK = 0x6E65_7572_6F73


class DatabaseError(RuntimeError):
    """The database cannot be used as configured (bad migration file, not connected)."""


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[tuple[int, str, Path]]:
    """(version, name, path) of every `NNNN_name.sql`, in version order; duplicates are an error."""
    found: dict[int, tuple[int, str, Path]] = {}
    for path in sorted(directory.glob("*.sql")):
        m = _MIGRATION_NAME.match(path.name)
        if not m:
            raise DatabaseError(f"migration file name must be NNNN_name.sql: {path.name}")
        version = int(m.group(1))
        if version in found:
            raise DatabaseError(
                f"two migrations with version {version}: {found[version][2].name}, {path.name}"
            )
        found[version] = (version, m.group(2), path)
    return [found[v] for v in sorted(found)]


async def _init_connection(conn: asyncpg.Connection) -> None:
    for pg_type in ("json", "jsonb"):
        await conn.set_type_codec(pg_type, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


_LEAD_COLUMNS = (
    "lead_id",
    "workflow_id",
    "channel",
    "chat_id",
    "name",
    "contact",
    "phone",
    "email",
    "username",
    "request",
    "items",
    "amount",
    "currency",
    "status",
    "stage",
    "escalated",
    "escalation_reason",
    "variant",
    "dialogue_link",
    "ui_link",
    "created_at",
    "updated_at",
)
_LEAD_UPDATABLE = [c for c in _LEAD_COLUMNS if c not in ("lead_id", "created_at")]
_UPSERT_LEAD = (
    f"INSERT INTO leads ({', '.join(_LEAD_COLUMNS)}) VALUES ("
    + ", ".join(f"${i}" for i in range(1, len(_LEAD_COLUMNS) - 1))
    + f", COALESCE(${len(_LEAD_COLUMNS) - 1}, now()), COALESCE(${len(_LEAD_COLUMNS)}, now()))"
    + " ON CONFLICT (lead_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _LEAD_UPDATABLE)
    + ", created_at = LEAST(leads.created_at, EXCLUDED.created_at)"
    # A retried, older snapshot arriving after a newer one must not roll the lead back.
    + " WHERE leads.updated_at <= EXCLUDED.updated_at"
)
_INSERT_MESSAGE = (
    "INSERT INTO messages (key, lead_id, role, text, at) VALUES ($1, $2, $3, $4, COALESCE($5, now()))"
    " ON CONFLICT (key) DO NOTHING"
)
_INSERT_EVENT = (
    "INSERT INTO events (key, lead_id, kind, data, at) VALUES ($1, $2, $3, $4, COALESCE($5, now()))"
    " ON CONFLICT (key) DO NOTHING"
)


def _lead_args(lead: LeadRecord) -> list[Any]:
    data = lead.model_dump()
    data["status"] = str(lead.status)
    data["stage"] = str(lead.stage)
    return [data[c] for c in _LEAD_COLUMNS]


def _lead_from_row(row: asyncpg.Record) -> LeadRecord:
    return LeadRecord.model_validate(dict(row))


class Database:
    """One asyncpg pool per process. Connects lazily, so a worker starts while PostgreSQL is down
    and its activities simply fail (and Temporal retries them) until it is back."""

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 5,
        command_timeout: float = 15.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self.dsn = dsn
        self._pool: asyncpg.Pool | None = None
        self._options = {
            "min_size": min_size,
            "max_size": max_size,
            "command_timeout": command_timeout,
            "timeout": connect_timeout,
        }

    async def connect(self) -> Database:
        if self._pool is None:
            self._pool = await asyncpg.create_pool(self.dsn, init=_init_connection, **self._options)
        return self

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def __aenter__(self) -> Database:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            await self.connect()
        assert self._pool is not None
        return self._pool

    # ---- migrations ----------------------------------------------------------------------------

    async def migrate(self, directory: Path = MIGRATIONS_DIR) -> list[int]:
        """Apply the migrations not yet recorded in `schema_migrations`; returns the versions applied.

        One transaction under an advisory lock: two processes starting together apply each file
        once, and a failing file leaves the schema as it was.
        """
        files = migration_files(directory)
        pool = await self.pool()
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,"
                " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
            applied: list[int] = []
            for version, name, path in files:
                if version in done:
                    continue
                await conn.execute(path.read_text(encoding="utf-8"))
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, name
                )
                applied.append(version)
            return applied

    async def applied_migrations(self) -> list[int]:
        pool = await self.pool()
        return [
            r["version"] for r in await pool.fetch("SELECT version FROM schema_migrations ORDER BY version")
        ]

    # ---- writes --------------------------------------------------------------------------------

    async def write_batch(self, batch: PersistBatch) -> None:
        """Lead, messages and events of one turn in one transaction: all of it lands, or none."""
        pool = await self.pool()
        async with pool.acquire() as conn, conn.transaction():
            if batch.lead is not None:
                await conn.execute(_UPSERT_LEAD, *_lead_args(batch.lead))
            if batch.messages:
                await conn.executemany(
                    _INSERT_MESSAGE, [(m.key, m.lead_id, m.role, m.text, m.at) for m in batch.messages]
                )
            if batch.events:
                await conn.executemany(
                    _INSERT_EVENT, [(e.key, e.lead_id, e.kind, e.data, e.at) for e in batch.events]
                )

    # ---- queries (CLI, tests) ------------------------------------------------------------------

    async def list_leads(
        self, *, status: str | None = None, since: datetime | None = None, limit: int | None = None
    ) -> list[LeadRecord]:
        """Leads, most recently updated first."""
        pool = await self.pool()
        rows = await pool.fetch(
            f"SELECT {', '.join(_LEAD_COLUMNS)} FROM leads"
            " WHERE ($1::text IS NULL OR status = $1) AND ($2::timestamptz IS NULL OR updated_at >= $2)"
            " ORDER BY updated_at DESC, lead_id LIMIT $3",
            status,
            since,
            limit,
        )
        return [_lead_from_row(r) for r in rows]

    async def get_lead(self, lead_id: str) -> LeadRecord | None:
        pool = await self.pool()
        row = await pool.fetchrow(f"SELECT {', '.join(_LEAD_COLUMNS)} FROM leads WHERE lead_id = $1", lead_id)
        return _lead_from_row(row) if row else None

    async def messages(self, lead_id: str) -> list[MessageRecord]:
        pool = await self.pool()
        rows = await pool.fetch(
            "SELECT key, lead_id, role, text, at FROM messages WHERE lead_id = $1 ORDER BY at, seq", lead_id
        )
        return [MessageRecord.model_validate(dict(r)) for r in rows]

    async def events(self, lead_id: str) -> list[EventRecord]:
        pool = await self.pool()
        rows = await pool.fetch(
            "SELECT key, lead_id, kind, data, at FROM events WHERE lead_id = $1 ORDER BY at, seq", lead_id
        )
        return [
            EventRecord.model_validate({**dict(r), "data": {k: str(v) for k, v in r["data"].items()}})
            for r in rows
        ]

    async def count(self, table: str, lead_id: str | None = None) -> int:
        """Row count of leads/messages/events (for checks that nothing was lost or doubled)."""
        if table not in ("leads", "messages", "events"):
            raise DatabaseError(f"unknown table {table!r}")
        pool = await self.pool()
        return int(
            await pool.fetchval(
                f"SELECT count(*) FROM {table} WHERE $1::text IS NULL OR lead_id = $1", lead_id
            )
        )
