"""`neuroseller up` the way a person meets it: the real command in a pseudo-terminal.

Ctrl-C at the prompt, end of input, SIGTERM and a closed terminal give the shell back within seconds
with every child stopped; a kill -9 leaves no orphan, and the next start continues the same lead.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from workers.devserver import free_port
from workers.lifeline import alive

ROOT = Path(__file__).resolve().parent.parent
NEUROSELLER = str(Path(sys.executable).parent / "neuroseller")
# A hang detector, not a speed test (speed is measured, not asserted: ~1.8 s from Ctrl-C to the shell on
# 2 idle cores, README "Running in production"); a loaded CI machine may take several times that.
STOP_WITHIN = 60.0


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_", "TEMPORAL_"))}
    return dict(out, VAR_DIR=str(tmp_path / "var"), TEMPORAL_PORT=str(free_port()),
                TEMPORAL_UI_PORT=str(free_port()), LLM_PROVIDER="rules")


PARENTS = {  # what a parent may pass down to `up` about SIGINT
    "default": None,
    "ignored": lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    "blocked": lambda: signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}),
}


def spawn_up(env: dict[str, str], *, parent: str = "default") -> pexpect.spawn:
    preexec = PARENTS[parent]
    child = pexpect.spawn(NEUROSELLER, ["up", "--chat-id", "pty"], env=env, cwd=str(ROOT), encoding="utf-8",
                          timeout=90, dimensions=(40, 200), preexec_fn=preexec)
    child.expect("you> ")
    return child


def children(env: dict[str, str]) -> list[int]:
    """Pids of the Temporal server and the PostgreSQL postmaster this `up` started."""
    var = Path(env["VAR_DIR"])
    pids = []
    for pidfile in (var / "temporal.pid", var / "pg" / "postmaster.owner"):
        pids.append(json.loads(pidfile.read_text())["pid"])
    return pids


def wait_gone(pids: list[int], timeout: float = STOP_WITHIN) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


def finished(child: pexpect.spawn) -> float:
    """Seconds until the process ended (EOF on the terminal)."""
    started = time.monotonic()
    child.expect(pexpect.EOF, timeout=STOP_WITHIN)
    child.close()
    return time.monotonic() - started


@pytest.fixture
def reaper() -> Iterator[list[pexpect.spawn]]:
    spawned: list[pexpect.spawn] = []
    yield spawned
    for child in spawned:
        if child.isalive():
            child.kill(signal.SIGKILL)


@pytest.fixture
def reaper_pids() -> Iterator[list]:
    procs: list = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@pytest.mark.parametrize("parent", list(PARENTS))
def test_ctrl_c_at_the_prompt_returns_the_shell_and_stops_everything(env, reaper, parent) -> None:
    """Also when the parent passed SIGINT down ignored or blocked (a script's background job, a launcher)."""
    child = spawn_up(env, parent=parent)
    reaper.append(child)
    started = children(env)
    child.sendintr()
    finished(child)
    assert "stopped" in child.before
    assert child.exitstatus == 130
    assert wait_gone(started) == []


def test_end_of_input_and_sigterm_and_hangup_stop_cleanly(env, reaper) -> None:
    child = spawn_up(env)
    reaper.append(child)
    child.sendline("Сколько стоит палатка на двоих?")
    child.expect("bot> ")
    child.expect("you> ")
    started = children(env)
    child.sendeof()
    finished(child)
    assert child.exitstatus == 0
    assert wait_gone(started) == []
    for sig in (signal.SIGTERM, signal.SIGHUP):
        child = spawn_up(env)
        reaper.append(child)
        started = children(env)
        child.kill(sig)
        finished(child)
        assert child.exitstatus == 0, sig
        assert wait_gone(started) == [], sig


def test_kill_9_mid_dialogue_leaves_no_orphan_and_the_lead_continues(env, reaper) -> None:
    child = spawn_up(env)
    reaper.append(child)
    child.sendline("Беру палатку на двоих")
    child.expect(r"cart TENT-2P×1")
    child.expect("you> ")
    started = children(env)
    child.kill(signal.SIGKILL)
    child.expect(pexpect.EOF)
    assert wait_gone(started) == [], "the servers outlived `up` killed with SIGKILL"
    again = spawn_up(env)  # same ports, same var/
    reaper.append(again)
    again.sendline("/state")
    again.expect(r"cart TENT-2P×1")
    again.sendline("/quit")
    finished(again)
    assert again.exitstatus == 0


def test_an_orphan_of_our_var_is_taken_over_and_a_stranger_is_named(env, reaper, reaper_pids) -> None:
    """A server left running by an earlier `up` of the same var/ (its owner gone) is stopped and
    replaced; a port held by another program stays a clear error naming that port."""
    import socket
    import subprocess

    from workers.devserver import DevServer
    from workers.lifeline import PidFile

    var = Path(env["VAR_DIR"])
    var.mkdir(parents=True)
    dev = DevServer(port=int(env["TEMPORAL_PORT"]), ui_port=int(env["TEMPORAL_UI_PORT"]), var_dir=var)
    # started as an older version did: no lifeline, so it outlives its owner
    orphan = subprocess.Popen(dev.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    reaper_pids.append(orphan)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", dev.port)) == 0:
                break
        time.sleep(0.05)
    PidFile(var / "temporal.pid", dev.pidfile.marker).write(orphan.pid)
    rec = json.loads((var / "temporal.pid").read_text())
    rec["owner"], rec["owner_start"] = 2**22 + 11, "1"  # its owner is gone
    (var / "temporal.pid").write_text(json.dumps(rec))
    server = orphan.pid
    child = spawn_up(env)
    reaper.append(child)
    assert "stopped the Temporal server" in child.before
    assert not alive(server)
    child.sendline("/quit")
    finished(child)

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", int(env["TEMPORAL_PORT"])))
        busy.listen()
        stranger = pexpect.spawn(NEUROSELLER, ["up"], env=env, cwd=str(ROOT), encoding="utf-8", timeout=30)
        stranger.expect(pexpect.EOF)
        stranger.close()
    assert f"port {env['TEMPORAL_PORT']} for the Temporal is in use" in stranger.before
    assert stranger.exitstatus == 2
