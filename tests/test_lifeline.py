"""Children that die with their parent, pid files that know whose process they name, and a chat
input the event loop reads itself — the pieces behind Ctrl-C and kill -9 (tests/test_terminal.py runs
the real command)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from workers.chat import stdin_lines
from workers.lifeline import PidFile, alive, start_time, terminate, with_lifeline

PARENT = """
import subprocess, sys, time
sys.path.insert(0, {root!r})
from workers.lifeline import with_lifeline
child = subprocess.Popen(with_lifeline(["/bin/sleep", "300"]))
print(child.pid, flush=True)
time.sleep(300)
"""


def wait(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_a_child_dies_when_its_parent_is_killed_with_sigkill() -> None:
    code = PARENT.format(root=str(Path(__file__).resolve().parents[1]))
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert wait(lambda: "sleep" in Path(f"/proc/{child}/cmdline").read_text(errors="replace"))
    parent.kill()
    parent.wait()
    assert wait(lambda: not alive(child)), "the child outlived its parent"


def test_pid_file_tells_our_live_process_from_a_reused_pid_and_stops_an_orphan(tmp_path: Path) -> None:
    proc = subprocess.Popen(with_lifeline(["/bin/sleep", "300"]))
    try:
        assert wait(lambda: "sleep" in Path(f"/proc/{proc.pid}/cmdline").read_text(errors="replace"))
        pidfile = PidFile(tmp_path / "x.pid", marker="sleep")
        pidfile.write(proc.pid)
        assert pidfile.live() == proc.pid
        assert pidfile.owner() == os.getpid()  # we started it and still run: not an orphan
        assert PidFile(tmp_path / "x.pid", marker="temporal").live() is None  # another program's pid
        rec = json.loads(pidfile.path.read_text())
        rec["start"] = "1"  # the same pid, started at another time: reused, not ours
        pidfile.path.write_text(json.dumps(rec))
        assert pidfile.live() is None
        rec["start"], rec["owner"], rec["owner_start"] = start_time(proc.pid), 2**22 + 3, "1"
        pidfile.path.write_text(json.dumps(rec))
        assert pidfile.owner() is None  # its owner is gone: an orphan
        assert pidfile.stop_orphan() == proc.pid
        proc.wait(5)
        assert not pidfile.path.exists() and pidfile.stop_orphan() is None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_pid_file_survives_garbage_and_terminate_escalates_to_sigkill(tmp_path: Path) -> None:
    pidfile = PidFile(tmp_path / "g.pid", marker="x")
    pidfile.path.write_text("not json")
    assert pidfile.live() is None and pidfile.owner() is None
    stubborn = subprocess.Popen([sys.executable, "-c", "import signal, time\nsignal.signal(signal.SIGTERM, "
                                 "signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(300)"],
                                stdout=subprocess.PIPE, text=True)
    assert stubborn.stdout is not None and stubborn.stdout.readline().strip() == "ready"
    started = time.monotonic()
    terminate(stubborn.pid, timeout=0.3)
    assert stubborn.wait(5) == -signal.SIGKILL and time.monotonic() - started < 5
    terminate(stubborn.pid)  # already gone: nothing to do
    assert start_time(2**22 + 5) is None


async def test_chat_input_is_read_by_the_loop_and_ends_at_end_of_input() -> None:
    read_fd, write_fd = os.pipe()
    lines = stdin_lines(fd=read_fd)
    os.write(write_fd, "привет\nвторая стр".encode())
    assert await anext(lines) == "привет"
    pending = asyncio.ensure_future(anext(lines))
    await asyncio.sleep(0.05)
    assert not pending.done()  # waits for the rest of the line without blocking the loop
    os.write(write_fd, "ока\r\nхвост без конца".encode())
    assert await pending == "вторая строка"
    os.close(write_fd)
    assert await anext(lines) == "хвост без конца"  # the last line without a newline still counts
    assert [x async for x in lines] == []
    os.close(read_fd)


async def test_chat_input_from_a_regular_file(tmp_path: Path) -> None:
    script = tmp_path / "dialogue.txt"
    script.write_text("a\nb\n", encoding="utf-8")
    fd = os.open(script, os.O_RDONLY)
    try:
        assert [x async for x in stdin_lines(fd=fd)] == ["a", "b"]
    finally:
        os.close(fd)
