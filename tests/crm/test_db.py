"""PostgreSQL schema and queries, against the machine's real server (a scratch database per module)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from activities.crm.db import Database, DatabaseError, migration_files
from activities.crm.db.scratch import scratch_database, with_database
from workflows.types import EventRecord, LeadRecord, LeadStatus, MessageRecord, PersistBatch

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
async def dsn() -> AsyncIterator[str]:
    async with scratch_database() as url:
        yield url


@pytest.fixture
async def db(dsn: str) -> AsyncIterator[Database]:
    async with Database(dsn) as database:
        await database.migrate()
        yield database


def lead(lead_id: str = "lead-telegram-1", **fields: object) -> LeadRecord:
    base: dict[str, object] = {
        "lead_id": lead_id,
        "workflow_id": lead_id,
        "channel": "telegram",
        "chat_id": "1",
        "updated_at": T0,
    }
    return LeadRecord.model_validate({**base, **fields})


async def test_migrations_apply_once_and_rerun_is_a_noop(dsn: str) -> None:
    async with Database(dsn) as first:
        await first.migrate()
        assert await first.migrate() == []
        assert await first.applied_migrations() == [v for v, _, _ in migration_files()]


async def test_two_processes_migrating_at_once_apply_each_file_once() -> None:
    async with scratch_database() as url:
        dbs = [await Database(url).connect() for _ in range(3)]
        try:
            results = await asyncio.gather(*(d.migrate() for d in dbs))
            assert sorted(len(r) for r in results) == [0, 0, len(migration_files())]
        finally:
            for d in dbs:
                await d.close()


async def test_a_failing_migration_leaves_the_schema_unchanged(dsn: str, tmp_path: Path) -> None:
    (tmp_path / "0001_ok.sql").write_text("CREATE TABLE mig_probe (id int);")
    (tmp_path / "0002_broken.sql").write_text("CREATE TABLE mig_probe2 (id int); SELECT no_such_column;")
    async with scratch_database() as url, Database(url) as database:
        with pytest.raises(asyncpg.PostgresError):
            await database.migrate(tmp_path)
        pool = await database.pool()
        assert await pool.fetchval("SELECT to_regclass('mig_probe')") is None


@pytest.mark.parametrize("names", [["1_bad.sql"], ["0001_a.sql", "0001_b.sql"]])
def test_migration_file_names_are_checked(tmp_path: Path, names: list[str]) -> None:
    for name in names:
        (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(DatabaseError):
        migration_files(tmp_path)


async def test_batch_written_twice_is_stored_once(db: Database) -> None:
    batch = PersistBatch(
        lead=lead(
            "lead-once",
            name="Анна",
            phone="+79123456789",
            items=["TENT-2"],
            amount=Decimal("5990"),
            currency="RUB",
            status=LeadStatus.CART,
            created_at=T0,
        ),
        messages=[
            MessageRecord(
                key=f"lead-once:{i}",
                lead_id="lead-once",
                role="customer",
                text=f"m{i}",
                at=T0 + timedelta(seconds=i),
            )
            for i in range(3)
        ],
        events=[
            EventRecord(key="lead-once:e1", lead_id="lead-once", kind="status", data={"to": "cart"}, at=T0)
        ],
    )
    for _ in range(3):
        await db.write_batch(batch)
    assert (
        await db.count("leads", "lead-once"),
        await db.count("messages", "lead-once"),
        await db.count("events", "lead-once"),
    ) == (1, 3, 1)
    stored = await db.get_lead("lead-once")
    assert stored is not None
    assert (stored.name, stored.amount, stored.items, stored.status) == (
        "Анна",
        Decimal("5990.00"),
        ["TENT-2"],
        LeadStatus.CART,
    )
    assert [m.text for m in await db.messages("lead-once")] == ["m0", "m1", "m2"]
    assert (await db.events("lead-once"))[0].data == {"to": "cart"}


async def test_an_older_snapshot_retried_late_does_not_roll_the_lead_back(db: Database) -> None:
    await db.write_batch(
        PersistBatch(
            lead=lead("lead-order", status=LeadStatus.CHECKOUT, updated_at=T0 + timedelta(minutes=5))
        )
    )
    await db.write_batch(PersistBatch(lead=lead("lead-order", status=LeadStatus.CART, updated_at=T0)))
    stored = await db.get_lead("lead-order")
    assert stored is not None and stored.status == LeadStatus.CHECKOUT


async def test_list_leads_filters_by_status_and_since(db: Database) -> None:
    await db.write_batch(
        PersistBatch(lead=lead("lead-old", status=LeadStatus.WON, updated_at=T0 - timedelta(days=30)))
    )
    await db.write_batch(PersistBatch(lead=lead("lead-new", status=LeadStatus.WON, updated_at=T0)))
    won = [x.lead_id for x in await db.list_leads(status="won")]
    assert won[:2] == ["lead-new", "lead-old"]
    recent = [x.lead_id for x in await db.list_leads(status="won", since=T0 - timedelta(days=1))]
    assert recent == ["lead-new"]
    assert await db.get_lead("nobody") is None
    with pytest.raises(DatabaseError):
        await db.count("pg_class")


def test_with_database_keeps_host_and_options() -> None:
    assert with_database("postgresql://u@h:5/postgres", "x") == "postgresql://u@h:5/x"
    assert with_database("postgresql://u@h:5", "x") == "postgresql://u@h:5/x"
    assert with_database("postgresql://u@/db?host=/tmp", "x") == "postgresql://u@/x?host=/tmp"
