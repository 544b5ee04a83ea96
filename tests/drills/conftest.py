"""Failure drills: each test breaks one real part of the system and checks the customer never notices
more than a delay. `pytest tests/drills -v` ends with a table of drills and outcomes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from activities.crm.db.database import Database
from activities.crm.db.scratch import scratch_database
from neuroseller.settings import Settings
from workers.client import connect
from workers.devserver import DevServer, free_port

ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass
class DrillRecord:
    name: str
    observed: str = ""
    outcome: str = "not run"


_RECORDS: dict[str, DrillRecord] = {}


@pytest.fixture
def drill(request: pytest.FixtureRequest) -> DrillRecord:
    """The row of this drill in the summary table; the test writes what it observed."""
    doc = (request.function.__doc__ or request.function.__name__).strip().splitlines()[0]
    record = _RECORDS.setdefault(request.node.nodeid, DrillRecord(doc))
    return record


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    record = _RECORDS.get(item.nodeid)
    if record is None:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        record.outcome = "passed" if report.passed else ("skipped" if report.skipped else "FAILED")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _RECORDS:
        return
    terminalreporter.section("failure drills")
    width = max(len(r.name) for r in _RECORDS.values())
    terminalreporter.write_line(f"{'drill':<{width}}  {'outcome':<7}  observed")
    for record in _RECORDS.values():
        terminalreporter.write_line(f"{record.name:<{width}}  {record.outcome:<7}  {record.observed}")


# ---- real parts --------------------------------------------------------------------------------------


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[DevServer]:
    """A private SQLite-backed dev server: the drills restart it, so it is not the session's shared one."""
    async with DevServer(port=free_port(), ui_port=None, var_dir=tmp_path / "var") as srv:
        yield srv


@pytest.fixture
async def client(server: DevServer):
    return await connect(server.address)


@pytest.fixture
async def dsn() -> AsyncIterator[str]:
    async with scratch_database(prefix="neuroseller_drill") as url:
        async with Database(url) as db:
            await db.migrate()
        yield url


@pytest.fixture
def task_queue() -> str:
    return f"drill-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, profiles_dir=ROOT / "profiles")
