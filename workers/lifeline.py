"""Child processes that die with their parent, and pid files that know whose process they name.

A `neuroseller up` killed with SIGKILL (OOM, a supervisor, a closed tmux) runs no cleanup, so the
servers it started must notice on their own. On Linux the kernel does it: `PR_SET_PDEATHSIG` asks it
to signal the child when the parent dies. The setting must be made in the child after fork and
before exec, and it is cleared when credentials change, so a tiny launcher (a stdlib-only Python
snippet, no project imports) drops privileges first where asked, then sets the signal, checks the
parent is still the one that started it (it may have died in between), and execs the real program.

Pid files record a process's identity (pid + kernel start time + a marker from its command line),
so a later start can tell "our orphan, from this var/" from "a stranger on the port" — a pid alone
may have been reused.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

_LAUNCHER = r"""
import ctypes, os, signal, sys
sig, parent, uid, gid = (int(v) for v in sys.argv[1:5])
argv = sys.argv[5:]
if gid >= 0:
    os.setgroups([])
    os.setgid(gid)
if uid >= 0:
    os.setuid(uid)
try:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, sig, 0, 0, 0)  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass  # not Linux: the pid file and the next start's take-over still apply
if os.getppid() != parent:
    sys.exit(1)  # the parent died before the signal was armed
os.execv(argv[0], argv)
"""


def with_lifeline(argv: list[str], *, sig: int = signal.SIGTERM, uid: int | None = None,
                  gid: int | None = None) -> list[str]:
    """`argv` wrapped so that the program receives `sig` when this process dies (even by SIGKILL).

    The child must be started from this process's main thread: Linux signals the child when the
    *thread* that forked it exits.
    """
    if not sys.platform.startswith("linux"):
        return argv
    return [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(int(sig)), str(os.getpid()),
            str(-1 if uid is None else uid), str(-1 if gid is None else gid), *argv]


def start_time(pid: int) -> str | None:
    """The kernel's start time of `pid` (clock ticks since boot), None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return "?"
        return "?"  # alive, but no /proc (not Linux): identity by marker only
    return stat.rsplit(")", 1)[1].split()[19]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class PidFile:
    """`<path>` holds {"pid", "start", "marker"} of a process this project started."""

    def __init__(self, path: Path, marker: str) -> None:
        self.path = path
        self.marker = marker

    def write(self, pid: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        owner = os.getpid()
        tmp.write_text(json.dumps({"pid": pid, "start": start_time(pid), "marker": self.marker,
                                   "owner": owner, "owner_start": start_time(owner)}))
        tmp.replace(self.path)

    def clear(self) -> None:
        try:
            self.path.unlink(missing_ok=True)
        except OSError:  # its folder is not a folder: the caller's own checks say so
            pass

    def owner(self) -> int | None:
        """The process that started the recorded one, if it still runs (then it is not an orphan)."""
        rec = self._read()
        pid = _int(rec.get("owner"))
        return pid if pid is not None and _same_process(pid, rec.get("owner_start")) else None

    def live(self) -> int | None:
        """The recorded pid if that very process still runs (same start time, marker in its command)."""
        rec = self._read()
        pid = _int(rec.get("pid"))
        if pid is None or not _same_process(pid, rec.get("start")):
            return None
        line = cmdline(pid)
        return None if line and self.marker not in line else pid

    def _read(self) -> dict:
        try:
            rec = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return rec if isinstance(rec, dict) else {}

    def stop_orphan(self, timeout: float = 10.0) -> int | None:
        """Stop the recorded process if it is still ours; returns its pid (None if nothing ran)."""
        pid = self.live()
        if pid is None:
            self.clear()
            return None
        terminate(pid, timeout)
        self.clear()
        return pid


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _same_process(pid: int, recorded_start: object) -> bool:
    """`pid` runs and is the process recorded (a pid alone may have been reused since)."""
    now = start_time(pid)
    if now is None or not alive(pid):
        return False
    return recorded_start in (None, "?") or now in ("?", recorded_start)


def terminate(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds; returns when the process is gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    while alive(pid):
        time.sleep(0.02)


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (a dead child not yet reaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return state != "Z"
