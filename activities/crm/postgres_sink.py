"""PostgreSQL sink: always on; the system of record for leads, the dialogue log and events."""

from __future__ import annotations

from activities.crm.db import Database
from workflows.types import PersistBatch


class PostgresSink:
    """Writes the whole batch in one transaction (upsert lead, insert-once messages and events)."""

    name = "postgres"

    def __init__(self, db: Database) -> None:
        self.db = db

    async def write(self, batch: PersistBatch) -> None:
        await self.db.write_batch(batch)

    async def close(self) -> None:
        await self.db.close()
