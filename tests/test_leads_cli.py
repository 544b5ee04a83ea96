"""`neuroseller leads` / `leads export` / `lead` against real PostgreSQL (and the embedded one)."""

from __future__ import annotations

import argparse
import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from activities.crm.db import Database
from activities.crm.db.scratch import scratch_database
from neuroseller.settings import Settings
from workers.leads_cli import parse_since, register
from workflows.types import EventRecord, LeadRecord, LeadStatus, MessageRecord, PersistBatch

NOW = datetime.now(UTC).replace(microsecond=0)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="neuroseller")
    register(p.add_subparsers(dest="command"))
    return p


@pytest.fixture(scope="module")
async def settings() -> AsyncIterator[Settings]:
    async with scratch_database() as dsn:
        async with Database(dsn) as db:
            await db.migrate()
            await db.write_batch(
                PersistBatch(
                    lead=LeadRecord(
                        lead_id="lead-telegram-100",
                        workflow_id="lead-telegram-100",
                        channel="telegram",
                        chat_id="100",
                        name="Анна",
                        phone="+79123456789",
                        contact="+79123456789",
                        items=["TENT-2P"],
                        amount=Decimal("7990"),
                        currency="RUB",
                        status=LeadStatus.CART,
                        dialogue_link="tg://user?id=100",
                        updated_at=NOW - timedelta(hours=2),
                    ),
                    messages=[
                        MessageRecord(
                            key="m1",
                            lead_id="lead-telegram-100",
                            role="customer",
                            text="хочу палатку, звоните +7***89",
                            at=NOW - timedelta(hours=3),
                        ),
                        MessageRecord(
                            key="m2",
                            lead_id="lead-telegram-100",
                            role="bot",
                            text="«Трек 2» — 7 990 ₽",
                            at=NOW - timedelta(hours=3) + timedelta(seconds=5),
                        ),
                    ],
                    events=[
                        EventRecord(
                            key="e1",
                            lead_id="lead-telegram-100",
                            kind="status",
                            data={"from": "new", "to": "cart"},
                            at=NOW - timedelta(hours=2),
                        )
                    ],
                )
            )
            await db.write_batch(
                PersistBatch(
                    lead=LeadRecord(
                        lead_id="lead-telegram-200",
                        workflow_id="lead-telegram-200",
                        channel="telegram",
                        chat_id="200",
                        username="@bob",
                        status=LeadStatus.WON,
                        updated_at=NOW - timedelta(days=10),
                    )
                )
            )
            await db.write_batch(
                PersistBatch(
                    messages=[
                        MessageRecord(
                            key="m9", lead_id="lead-telegram-300", role="customer", text="привет", at=NOW
                        )
                    ]
                )
            )
        yield Settings(_env_file=None, database_url=dsn)


async def run(settings: Settings, *argv: str) -> tuple[int, str]:
    args = parser().parse_args(list(argv))
    out = io.StringIO()
    code = await args.func(args, settings, out=out)
    return code, out.getvalue()


async def test_leads_table_shows_contacts_newest_first(settings: Settings) -> None:
    code, out = await run(settings, "leads")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["id", "status", "name", "contact", "amount", "updated", "(UTC)"]
    assert lines[2].startswith("lead-telegram-100  cart    Анна  +79123456789  7 990.00 RUB")
    assert lines[3].startswith("lead-telegram-200  won")
    assert "@bob" in lines[3]
    assert lines[-1] == "2 lead(s)"


async def test_leads_filters(settings: Settings) -> None:
    assert "lead-telegram-200" not in (await run(settings, "leads", "--since", "7d"))[1]
    assert "lead-telegram-100" not in (await run(settings, "leads", "--status", "won"))[1]
    assert (await run(settings, "leads", "--status", "lost"))[1] == "no leads with status lost\n"


async def test_export_csv(settings: Settings, tmp_path: Path) -> None:
    target = tmp_path / "out" / "leads.csv"
    code, out = await run(settings, "leads", "export", "--csv", str(target), "--status", "cart")
    assert code == 0 and out == f"exported 1 lead(s) to {target}\n"
    with target.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["lead_id"], r["phone"], r["items"]) for r in rows] == [
        ("lead-telegram-100", "'+79123456789", "TENT-2P")  # text to a spreadsheet, never a formula
    ]


async def test_lead_shows_fields_transcript_and_events(settings: Settings) -> None:
    code, out = await run(settings, "lead", "lead-telegram-100")
    assert code == 0
    assert "name:              Анна" in out
    assert "dialogue_link:     tg://user?id=100" in out
    assert "customer: хочу палатку, звоните +7***89" in out
    assert "bot: «Трек 2» — 7 990 ₽" in out
    assert "status from=new to=cart" in out


async def test_lead_before_buying_intent_and_unknown(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = await run(settings, "lead", "lead-telegram-300")
    assert code == 0 and "no buying intent yet" in out and "customer: привет" in out
    assert (await run(settings, "lead", "nobody"))[0] == 1
    assert "no lead 'nobody'" in capsys.readouterr().err


async def test_without_database_url_the_embedded_server_is_used(tmp_path: Path) -> None:
    code, out = await run(Settings(_env_file=None, var_dir=tmp_path), "leads")
    assert (code, out) == (0, "no leads\n")
    assert (tmp_path / "pg" / "data" / "PG_VERSION").exists()
    assert not (tmp_path / "pg" / "dsn").exists()  # started for the command, stopped after it


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7d", datetime(2026, 11, 3, tzinfo=UTC)),
        ("24h", datetime(2026, 11, 9, tzinfo=UTC)),
        ("30m", datetime(2026, 11, 9, 23, 30, tzinfo=UTC)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T09:00+03:00", datetime(2026, 11, 1, 6, tzinfo=UTC)),
    ],
)
def test_parse_since(value: str, expected: datetime) -> None:
    assert parse_since(value, now=datetime(2026, 11, 10, tzinfo=UTC)) == expected


def test_bad_since_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["leads", "--since", "last week"])
    assert "expected 7d, 24h" in capsys.readouterr().err
